import ArgumentParser
// Not Foundation: `shoal-agent` links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Mosquitto
import ShoalCore

/// How a command reaches the broker. Shared by every command.
public struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Broker address, mqtt://HOST:PORT.",
        discussion: "Defaults to SHOAL_BROKER, then (client commands) the fleet of `shoal up`, then mqtt://127.0.0.1:1883.",
        valueName: "url"))
    public var broker: String?

    @Option(name: .long, help: "Broker user name (default: SHOAL_USERNAME; an agent uses its node id).")
    public var username: String?

    @Option(name: .long, help: ArgumentHelp(
        "File holding the broker password (its first line).",
        discussion: "Default: SHOAL_PASSWORD_FILE, then SHOAL_PASSWORD. Never pass a password on the command line.",
        valueName: "path"))
    public var passwordFile: String?

    @Option(name: .long, help: ArgumentHelp(
        "CA certificate (PEM) that signed the broker's certificate; connects with TLS.",
        discussion: "Default: SHOAL_TLS_CA. Without it the connection is plain TCP.", valueName: "path"))
    public var tlsCa: String?

    @Option(name: .long, help: ArgumentHelp("Client certificate (PEM) for TLS, with --tls-key.", valueName: "path"))
    public var tlsCert: String?

    @Option(name: .long, help: ArgumentHelp("Private key (PEM) of --tls-cert.", valueName: "path"))
    public var tlsKey: String?

    @Option(name: .long, help: "Topic prefix shared by the whole fleet.")
    public var prefix: String = "shoal/v1"

    public init() {}

    public func validate() throws {
        if let broker, BrokerAddress(broker) == nil {
            throw ValidationError("'\(broker)' is not a broker address; write mqtt://HOST:PORT, e.g. --broker mqtt://127.0.0.1:1883")
        }
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together; give both, e.g. --tls-cert node.crt --tls-key node.key")
        }
        if tlsCert != nil && resolvedTLSCA == nil {
            throw ValidationError("--tls-cert needs --tls-ca (the CA that signed the broker's certificate)")
        }
        for (flag, path) in [("--password-file", passwordFile), ("--tls-ca", tlsCa), ("--tls-cert", tlsCert), ("--tls-key", tlsKey)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                throw ValidationError("\(flag): cannot read '\(path)'; give the path of an existing, readable file")
            }
        }
    }

    /// `--password-file`, else SHOAL_PASSWORD_FILE, else SHOAL_PASSWORD, else none.
    /// The password itself is never printed; errors name only the file.
    public var password: String? {
        get throws {
            let environment = ProcessInfo.processInfo.environment
            if let path = passwordFile ?? environment["SHOAL_PASSWORD_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) {
                return try SecretFile.readPassword(path)
            }
            return environment["SHOAL_PASSWORD"]
        }
    }

    private var resolvedTLSCA: String? {
        tlsCa ?? ProcessInfo.processInfo.environment["SHOAL_TLS_CA"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// TLS when a CA is given (`--tls-ca` or SHOAL_TLS_CA); nil: plain TCP.
    public var tls: MQTTTLS? {
        resolvedTLSCA.map { MQTTTLS(caFile: $0, certificateFile: tlsCert, keyFile: tlsKey) }
    }

    /// Whether any credential or TLS setting was given by flag or environment (then a
    /// command uses those, not the local fleet's).
    public var namesSecurity: Bool {
        let environment = ProcessInfo.processInfo.environment
        return username != nil || passwordFile != nil || tlsCa != nil
            || ["SHOAL_USERNAME", "SHOAL_PASSWORD", "SHOAL_PASSWORD_FILE", "SHOAL_TLS_CA"].contains { environment[$0] != nil }
    }
    public var resolvedUsername: String? { username ?? ProcessInfo.processInfo.environment["SHOAL_USERNAME"] }
    public var topics: TopicTree { TopicTree(prefix: prefix) }

    /// `--broker`, else SHOAL_BROKER, else mqtt://127.0.0.1:1883.
    public var address: BrokerAddress {
        get throws { try address(orElse: nil) }
    }

    /// The same, with `fallback` tried before the default (the `shoal` binary's client
    /// commands give the local fleet's broker).
    public func address(orElse fallback: String?) throws -> BrokerAddress {
        let environment = ProcessInfo.processInfo.environment
        let candidates = [broker, environment["SHOAL_BROKER"], fallback]
        for case let text? in candidates where !text.isEmpty {
            guard let address = BrokerAddress(text) else {
                throw ValidationError("'\(text)' is not a broker address; write mqtt://HOST:PORT")
            }
            return address
        }
        return BrokerAddress(host: "127.0.0.1", port: 1883)
    }
}
