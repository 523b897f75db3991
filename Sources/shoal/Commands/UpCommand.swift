import ArgumentParser
import BrokerLauncher
import FleetSupervision
import Foundation
import Logging
import Mosquitto
import ShoalCommandLine
import ShoalClient
import ShoalCore
import UnixSignals

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start a local fleet: a mosquitto broker, a dispatcher and N agents with varied labels.",
        discussion: """
            The fleet runs until Ctrl-C or SIGTERM, then stops everything it started. While it \
            runs, other shoal commands find it by themselves. State and logs: $SHOAL_HOME/up \
            (default ~/.shoal/up), wiped at each start.
            Jobs are signed end to end: the agents trust this user's `default` operator key \
            (made here if there is none; see `shoal keys`), and `shoal run` signs with it.
            """)

    @Option(name: .long, help: "How many agents to start.")
    var agents = 6

    @Option(name: .long, help: "Broker port (default: a free one).")
    var port: Int32?

    @Option(name: .long, help: "Agents' heartbeat interval, 100ms to 1h.",
            transform: DurationArgument.parser("--heartbeat", in: Limits.heartbeatInterval))
    var heartbeat = DurationArgument("5s", seconds: 5)

    @Flag(name: .long, help: ArgumentHelp(
        "Run the broker with the secure profile: TLS, a password per member, ACLs, enrollment.",
        discussion: "Certificates and credentials are made in $SHOAL_HOME/up/secure; the CLI uses the operator's by itself."))
    var secure = false

    @Flag(name: .long, help: "Let the agents run unsigned jobs (no operator key is made or trusted).")
    var unsignedJobs = false

    func validate() throws {
        guard (0...500).contains(agents) else { throw ValidationError("--agents must be between 0 and 500 (0: broker and dispatcher only, e.g. for `shoal simulate`)") }
        if let port, !(1...65535).contains(port) { throw ValidationError("--port must be between 1 and 65535") }
    }

    func run() async throws {
        let logger = CLIRuntime.quietLogger()
        let directory = LocalFleetState.directory
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory + "/logs", withIntermediateDirectories: true)
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let trustedKeys = unsignedJobs ? nil : try Self.trustOperatorKey(in: directory)

        let fleet: LocalFleet
        do {
            fleet = try await LocalFleet.start(directory: directory, port: try port ?? LocalPort.free(), secure: secure,
                                               agents: agents, logger: logger)
        } catch {
            CLIRuntime.printError("error: \(error)\n(is mosquitto installed? scripts/demo installs it)")
            throw ExitCode(CLIRuntime.unavailableExitCode)
        }
        let address = fleet.broker.address
        CLIRuntime.printError("broker     \(address)  (pid \(fleet.broker.process.pid))" + (secure ? ", TLS, secure profile" : ""))
        if let profile = fleet.profile {
            CLIRuntime.printError("secure     CA \(profile.caFile); bootstrap token \(profile.secretFile(for: SecureBrokerProfile.bootstrapUser))")
        }
        let security = fleet.profile.map { profile in
            ClientSecurity(username: SecureBrokerProfile.operatorUser,
                           password: try? SecretFile.readPassword(profile.operatorPasswordFile), tls: MQTTTLS(caFile: profile.caFile))
        } ?? ClientSecurity()
        let expected = agents, agentHeartbeat = heartbeat.text
        // One task brings the fleet up and then waits; the other waits for Ctrl-C or
        // SIGTERM. Whichever ends first ends the other, so a signal stops the fleet at any
        // stage, start-up included.
        let outcome: Outcome = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                do {
                    // The agents trust the user's default key: the local dispatcher signs its
                    // rules' jobs with it, or the agents would refuse them.
                    try fleet.startDispatcher(ruleSigningKey: trustedKeys == nil ? nil : OperatorKeyStore().keysDirectory
                        + "/\(OperatorKeyStore.defaultName).key")
                    try await Self.waitForFleet(fleet, agents: expected, heartbeat: agentHeartbeat,
                                                trustedKeys: trustedKeys, address: address, security: security, logger: logger)
                    try address.description.write(toFile: LocalFleetState.brokerFile, atomically: false, encoding: .utf8)
                } catch is CancellationError {
                    return .interrupted
                } catch {
                    return .failed("\(error)")
                }
                let ready = "Local fleet ready: \(expected) agents, broker \(address). Try `shoal nodes`. Ctrl-C stops it.\n"
                FileHandle.standardOutput.write(Data(ready.utf8))
                // Runs until the signal task ends this one.
                while (try? await Task.sleep(for: .seconds(3600))) != nil {}
                return .interrupted
            }
            group.addTask {
                for await _ in signals { return .interrupted }
                return .interrupted
            }
            let first = await group.next() ?? .interrupted
            group.cancelAll()
            return first
        }
        try? FileManager.default.removeItem(atPath: LocalFleetState.brokerFile)
        switch outcome {
        case .interrupted:
            CLIRuntime.printError("stopping the local fleet…")
            await fleet.stop()
        case .failed(let reason):
            CLIRuntime.printError("error: the local fleet did not come up: \(reason)\nlogs: \(directory)/logs")
            await fleet.stop()
            throw ExitCode(1)
        }
    }

    /// The user's `default` operator key, made if missing, written as the fleet's trust
    /// file: the local fleet runs signed end to end. Returns the file's path.
    private static func trustOperatorKey(in directory: String) throws -> String {
        let store = OperatorKeyStore()
        let key = try KeysFailure.wrap {
            if let existing = try store.defaultKey() { return existing.publicKey }
            let made = try store.create(name: OperatorKeyStore.defaultName)
            CLIRuntime.printError("keys       made operator key '\(OperatorKeyStore.defaultName)' (id \(made.id)) in \(store.keysDirectory)")
            return made
        }
        let path = directory + "/trusted-keys.pub"
        try (key.line + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        CLIRuntime.printError("keys       agents run jobs signed by key \(key.id) only")
        return path
    }

    private enum Outcome: Sendable {
        case interrupted
        case failed(String)
    }

    /// Starts the agents once the dispatcher answers, then waits until every one is online.
    private static func waitForFleet(
        _ fleet: LocalFleet, agents expected: Int, heartbeat: String, trustedKeys: String?, address: BrokerAddress,
        security: ClientSecurity,
        logger: Logger
    ) async throws {
        let answered = try await DispatcherClient.with(
            broker: address, username: security.username, password: security.password, tls: security.tls,
            requestTimeout: .seconds(1), logger: logger
        ) { client in
            for _ in 0..<30 {
                try Task.checkCancellation()
                // The dispatcher subscribes shortly after it starts; ask until it answers.
                if (try? await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self)) != nil { return true }
            }
            return false
        }
        guard answered else { throw DispatcherClient.Failure("the dispatcher did not answer within 30 s") }
        CLIRuntime.printError("dispatcher ready")
        try fleet.startAgents(expected, heartbeat: heartbeat, trustedKeys: trustedKeys)
        try await DispatcherClient.with(broker: address, username: security.username, password: security.password,
                                        tls: security.tls, logger: logger) { client in
            try await client.followNodes()
            let current = try await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self)
            var up = Set(current.filter(\.online).map(\.id))
            if up.count < expected {
                for await node in client.nodeEvents {
                    if node.online { up.insert(node.id) } else { up.remove(node.id) }
                    if up.count >= expected { break }
                }
            }
            CLIRuntime.printError("agents     \(up.count) online")
        }
    }
}
