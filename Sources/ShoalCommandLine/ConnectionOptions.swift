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

    @Option(name: .long, help: "Topic prefix shared by the whole fleet.")
    public var prefix: String = "shoal/v1"

    public init() {}

    public func validate() throws {
        if let broker, BrokerAddress(broker) == nil {
            throw ValidationError("'\(broker)' is not a broker address; write mqtt://HOST:PORT, e.g. --broker mqtt://127.0.0.1:1883")
        }
    }

    public var password: String? { ProcessInfo.processInfo.environment["SHOAL_PASSWORD"] }
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
