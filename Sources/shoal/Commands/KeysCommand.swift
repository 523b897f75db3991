import ArgumentParser
import Foundation
import ShoalCommandLine
import ShoalCore

/// `shoal keys`: the operator keys that sign jobs, and the keys this machine trusts.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create operator keys that sign jobs, and choose which keys this machine's agents trust.",
        discussion: """
            Keys live under $SHOAL_HOME (default ~/.shoal): keys/NAME.key (private, mode 0600), \
            keys/NAME.pub, and trusted-keys/ID.pub for `shoal agent --trusted-keys`.
            Example, on the operator's machine:  shoal keys create
            and on each node:                    shoal keys trust 'ed25519 BASE64 alice'
            """,
        subcommands: [Create.self, List.self, Trust.self, Untrust.self], defaultSubcommand: List.self)

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new Ed25519 operator key; `default` is the one `shoal run` signs with.",
            discussion: "Prints the public key line to give to `shoal keys trust` on the nodes; the private key is never printed.")

        @Argument(help: "The key's name (letters, digits, '-', '_', '.').")
        var name: String = OperatorKeyStore.defaultName

        @Flag(name: .long, help: "Also trust the new key on this machine (for agents started here).")
        var trust = false

        func validate() throws {
            guard OperatorKeyStore.isValidName(name) else {
                throw ValidationError("key name '\(name)' is not valid: 1-64 letters, digits, '-', '_' or '.', e.g. `shoal keys create alice`")
            }
        }

        func run() throws {
            let store = OperatorKeyStore()
            let key = try KeysFailure.wrap { try store.create(name: name) }
            if trust { try KeysFailure.wrap { try store.trust(key) } }
            CLIRuntime.printError("created key \(name) (id \(key.id)) in \(store.keysDirectory)" + (trust ? "; trusted here" : ""))
            print(key.line)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List this user's keys and the keys trusted on this machine.",
            discussion: "Example: shoal keys list -o json")

        @OptionGroup var output: OutputOptions

        struct Row: Encodable {
            var kind: String
            var name: String
            var id: String
            var publicKey: String
        }

        func run() throws {
            let store = OperatorKeyStore()
            let own = try KeysFailure.wrap { try store.ownKeys() }
            let trusted = try KeysFailure.wrap { try store.trustedKeys() }
            let rows = own.map { Row(kind: "own", name: $0.name, id: $0.id, publicKey: $0.line) }
                + trusted.map { Row(kind: "trusted", name: $0.name, id: $0.id, publicKey: $0.line) }
            switch output.output {
            case .json: print(StructuredOutput.json(rows))
            case .yaml: print(StructuredOutput.yaml(rows))
            case .table, .csv:
                var table = Table(headers: ["KIND", "NAME", "ID", "PUBLIC KEY"])
                table.rows = rows.map { [$0.kind, $0.name.isEmpty ? "-" : $0.name, $0.id, $0.publicKey] }
                print(output.output == .csv ? table.csv() : table.render())
                if output.output == .table && rows.isEmpty {
                    print("\nno keys; create one with `shoal keys create`")
                }
            }
        }
    }

    struct Trust: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Trust an operator's public key on this machine (agents started with --trusted-keys $SHOAL_HOME/trusted-keys).",
            discussion: """
                Examples:
                  shoal keys trust 'ed25519 MCowBQYDK2VwAyEA... alice'
                  shoal keys trust alice.pub --name alice
                """)

        @Argument(help: "A public key line ('ed25519 BASE64 [NAME]'), a bare base64 key, or a file holding such lines.")
        var key: String

        @Option(name: .long, help: "A name to show for the key (default: the name in the key line).")
        var name: String?

        func run() throws {
            let keys: [OperatorPublicKey]
            if FileManager.default.fileExists(atPath: key) {
                keys = try KeysFailure.wrap { try OperatorKeyStore.loadTrusted(key) }
            } else {
                do {
                    keys = [try OperatorPublicKey(line: key)]
                } catch {
                    throw ValidationError("\(error.description); give a key line such as `ed25519 BASE64 alice`, or a .pub file")
                }
            }
            guard !keys.isEmpty else { throw ValidationError("\(key) holds no key") }
            let store = OperatorKeyStore()
            for var trusted in keys {
                if let name { trusted.name = name }
                try KeysFailure.wrap { try store.trust(trusted) }
                print("trusted \(trusted.id)" + (trusted.name.isEmpty ? "" : " (\(trusted.name))"))
            }
        }
    }

    struct Untrust: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop trusting a key on this machine (agents read their trusted keys when they start).",
            discussion: "Example: shoal keys untrust 3f9a0c12d4e5b6a7")

        @Argument(help: "The key's id or name, as `shoal keys list` shows it.")
        var key: String

        func run() throws {
            let removed = try KeysFailure.wrap { try OperatorKeyStore().untrust(key) }
            guard !removed.isEmpty else {
                CLIRuntime.printError("no trusted key has id or name '\(key)'; see `shoal keys list`")
                throw ExitCode(1)
            }
            for key in removed { print("untrusted \(key.id)" + (key.name.isEmpty ? "" : " (\(key.name))")) }
        }
    }
}

/// A key store failure as the CLI reports it: the message, exit 1.
enum KeysFailure {
    static func wrap<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as KeyStoreError {
            CLIRuntime.printError("error: \(error.description)")
            throw ExitCode.failure
        }
    }
}
