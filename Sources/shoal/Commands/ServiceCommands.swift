import ArgumentParser
import ShoalAgentCLI
import ShoalDispatcher

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
