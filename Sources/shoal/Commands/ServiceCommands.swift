import ArgumentParser
import Foundation
import Logging
import Mosquitto
import ServiceLifecycle
import ShoalAgent
import ShoalCore
import ShoalDispatcher

struct Agent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the agent on this machine: report in, heartbeat, run the jobs meant for it.",
        discussion: "Example: shoal agent --broker mqtt://broker:1883 --label region=eu --label role=web")

    @Option(name: .long, help: "Node id, unique in the fleet (default: the hostname).")
    var id: String?

    @Option(name: .long, parsing: .singleValue, help: "A label k=v for this node (repeatable); overrides automatic labels.")
    var label: [String] = []

    @Option(name: .long, help: "Where the agent keeps its ledger and outbox (default: $SHOAL_HOME/agent-ID).")
    var dataDir: String?

    @Option(name: .long, help: "Heartbeat interval (e.g. 5s).")
    var heartbeat: String = "5s"

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        for entry in label {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ValidationError("label '\(entry)' is not k=v; write e.g. --label region=eu")
            }
        }
        if let id, !TopicTree.isValidLevel(id) { throw ValidationError("node id '\(id)' may not contain '/', '+' or '#'") }
        guard let seconds = DurationText.seconds(heartbeat), seconds >= 0.1 else {
            throw ValidationError("--heartbeat '\(heartbeat)' is not a duration of at least 100ms; write e.g. 5s")
        }
    }

    func run() async throws {
        let logger = ServiceRuntime.bootstrap(label: "shoal.agent", level: logging.logLevel)
        let nodeID = id ?? ProcessInfo.processInfo.hostName
        let labels = Dictionary(label.map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), String(parts[1]))
        }) { _, last in last }
        let configuration = AgentConfiguration(
            broker: try connection.address, nodeID: nodeID, labels: labels,
            dataDirectory: dataDir ?? LocalFleetState.home + "/agent-\(nodeID)",
            heartbeatInterval: DurationText.seconds(heartbeat)!, topics: connection.topics,
            username: connection.resolvedUsername ?? nodeID, password: connection.password)
        try await ServiceRuntime.run(ShoalAgent.Agent(configuration: configuration, logger: logger), logger: logger)
    }
}

struct Dispatcher: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the dispatcher: record the fleet in SQLite, plan and track jobs, answer the API.")

    @Option(name: .long, help: "SQLite database file (created if missing).")
    var db: String = "shoal.db"

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = ServiceRuntime.bootstrap(label: "shoal.dispatcher", level: logging.logLevel)
        let configuration = DispatcherConfiguration(
            broker: try connection.address, databasePath: db, topics: connection.topics,
            username: connection.resolvedUsername, password: connection.password)
        try await ServiceRuntime.run(ShoalDispatcher.Dispatcher(configuration: configuration, logger: logger), logger: logger)
    }
}

/// Long-running commands: logging to stderr, one service group, graceful shutdown on
/// SIGTERM and SIGINT.
enum ServiceRuntime {
    static func bootstrap(label: String, level: String) -> Logger {
        let level = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }

    static func run(_ service: any Service, logger: Logger) async throws {
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            logger.critical("Stopped on error", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
