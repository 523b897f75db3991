import ArgumentParser
import ShoalCommandLine
import ShoalCore
import ShoalDispatcher

struct Dispatcher: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the dispatcher: record the fleet in SQLite, plan and track jobs, answer the API.")

    @Option(name: .long, help: "SQLite database file (created if missing).")
    var db: String = "shoal.db"

    @Option(name: .long, help: ArgumentHelp(
        "How long applied reports may wait to be committed and announced together, 0 to 1s (e.g. 10ms, 0 for every batch).",
        discussion: "A job's last result, an API request and a large batch are committed at once whatever this says."),
        transform: DurationArgument.parser("--commit-window", in: 0...1))
    var commitWindow = DurationArgument("10ms", seconds: 0.01)

    @Option(name: .long, help: "How long finished jobs (with their executions and output) are kept, 1m to 3650d.",
            transform: DurationArgument.parser("--keep-jobs", in: RetentionPolicy.maxAgeRange))
    var keepJobs = DurationArgument("30d", seconds: RetentionPolicy.defaultMaxAge)

    @Option(name: .long, help: "Output kept over all finished jobs, in MiB (1 to 1048576); the oldest jobs go first.")
    var keepOutputMib = RetentionPolicy.defaultMaxBytes >> 20

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (1...(1 << 20)).contains(keepOutputMib) else {
            throw ValidationError("--keep-output-mib must be between 1 and 1048576 (1 TiB), e.g. --keep-output-mib 1024")
        }
    }
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = ServiceRuntime.bootstrap(label: "shoal.dispatcher", level: logging.logLevel)
        let configuration = DispatcherConfiguration(
            broker: try connection.addressOrLocalFleet, databasePath: db, topics: connection.topics,
            username: connection.resolvedUsername, password: try connection.password, tls: connection.tls,
            commitWindow: commitWindow.duration,
            retention: RetentionPolicy(maxAge: keepJobs.seconds, maxBytes: keepOutputMib << 20))
        try await ServiceRuntime.run(ShoalDispatcher.Dispatcher(configuration: configuration, logger: logger), logger: logger)
    }
}
