import ArgumentParser
import BrokerLauncher
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

    @Option(name: .long, help: "A YAML file of mitigation rules to add at start (see docs/rules.md).")
    var rules: String?

    @Option(name: .long, help: ArgumentHelp(
        "Enroll nodes: the broker's password file, where approved nodes are added (needs --broker-pid-file).",
        discussion: "Without it, enrollment requests are answered `rejected` and every node with credentials gets work.",
        valueName: "path"))
    var enrollPasswordFile: String?

    @Option(name: .long, help: ArgumentHelp("The broker's pid_file: it is sent SIGHUP to reload its password file.", valueName: "path"))
    var brokerPidFile: String?

    @Option(name: .long, help: ArgumentHelp(
        "Approve enrollment requests whose labels match this selector at once (labs), e.g. 'env=lab'.", valueName: "selector"))
    var autoApprove: String?

    @Option(name: .long, help: ArgumentHelp(
        "Sign the jobs that mitigation rules start with this operator key file, for nodes that run only signed jobs.",
        discussion: "A `shoal keys create` private key (e.g. a key made for the dispatcher and trusted by the agents).",
        valueName: "path"))
    var ruleSigningKey: String?

    @Option(name: .long, help: ArgumentHelp(
        "Serve fleet and dispatcher metrics to Prometheus at http://ADDR/metrics, e.g. :9464 or 127.0.0.1:9464.",
        valueName: "addr"), transform: ListenAddress.parse)
    var metricsListen: ListenAddress?

    @Option(name: .long, help: "How long raw metric samples are kept, 1m to 30d; 1-minute averages are kept beyond.",
            transform: DurationArgument.parser("--keep-metrics", in: 60...(30 * 86_400)))
    var keepMetrics = DurationArgument("6h", seconds: 6 * 3600)

    @Option(name: .long, help: "How long 1-minute metric averages are kept, 1h to 3650d (at least --keep-metrics).",
            transform: DurationArgument.parser("--keep-metric-rollups", in: 3600...(3650 * 86_400)))
    var keepMetricRollups = DurationArgument("30d", seconds: 30 * 86_400)

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if keepMetricRollups.seconds < keepMetrics.seconds {
            throw ValidationError("--keep-metric-rollups (\(keepMetricRollups)) is shorter than --keep-metrics (\(keepMetrics)); make it at least as long")
        }
        guard (1...(1 << 20)).contains(keepOutputMib) else {
            throw ValidationError("--keep-output-mib must be between 1 and 1048576 (1 TiB), e.g. --keep-output-mib 1024")
        }
        if (enrollPasswordFile == nil) != (brokerPidFile == nil) {
            throw ValidationError("--enroll-password-file and --broker-pid-file go together (the broker must reload what the dispatcher writes)")
        }
        if autoApprove != nil && enrollPasswordFile == nil {
            throw ValidationError("--auto-approve needs enrollment: add --enroll-password-file and --broker-pid-file")
        }
        if let autoApprove {
            let selector: Selector
            do {
                selector = try Selector(parsing: autoApprove)
            } catch {
                throw ValidationError("--auto-approve: invalid selector: \(error.description)")
            }
            if selector.isEmpty { throw ValidationError("--auto-approve needs a non-empty selector, e.g. --auto-approve 'env=lab'") }
        }
    }

    private var enrollment: EnrollmentSettings? {
        get throws {
            guard let enrollPasswordFile, let brokerPidFile else { return nil }
            return EnrollmentSettings(passwordFile: BrokerPasswordFile(path: enrollPasswordFile, pidFile: brokerPidFile),
                                      autoApprove: try autoApprove.map { try Selector(parsing: $0) })
        }
    }
    @OptionGroup var logging: LoggingOptions

    /// The key file named by --rule-signing-key; an unreadable or malformed one ends the
    /// command before anything starts.
    private static func readKey(_ path: String) throws -> OperatorPrivateKey {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("--rule-signing-key: cannot read '\(path)'; give the path of a `shoal keys create` .key file")
        }
        do {
            return try OperatorPrivateKey(fileContents: text)
        } catch {
            throw ValidationError("--rule-signing-key '\(path)': \(error)")
        }
    }

    func run() async throws {
        let logger = ServiceRuntime.bootstrap(label: "shoal.dispatcher", level: logging.logLevel)
        let fileRules: [MitigationRule]
        do {
            fileRules = try rules.map { try RuleFile(path: $0).rules } ?? []
        } catch {
            CLIRuntime.printError("error: \(error)")
            throw ExitCode(65)
        }
        let configuration = DispatcherConfiguration(
            broker: try connection.addressOrLocalFleet, databasePath: db, topics: connection.topics,
            username: connection.resolvedUsername, password: try connection.password, tls: connection.tls,
            commitWindow: commitWindow.duration,
            retention: RetentionPolicy(maxAge: keepJobs.seconds, maxBytes: keepOutputMib << 20), rules: fileRules,
            enrollment: try enrollment, ruleSigningKey: try ruleSigningKey.map(Self.readKey),
            metricsListen: metricsListen.map { ($0.host, $0.port) },
            metricsRawWindow: keepMetrics.seconds, metricsRollupWindow: keepMetricRollups.seconds)
        try await ServiceRuntime.run(ShoalDispatcher.Dispatcher(configuration: configuration, logger: logger), logger: logger)
    }
}

/// `--metrics-listen`: `HOST:PORT`, `:PORT` (every address), `[V6]:PORT`.
struct ListenAddress: Sendable, Equatable {
    var host: String
    var port: UInt16

    @Sendable static func parse(_ text: String) throws -> ListenAddress {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw ValidationError("--metrics-listen '\(text)': give HOST:PORT or :PORT, e.g. :9464 or 127.0.0.1:9464")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard host.utf8.count <= 255, !host.contains(where: { $0 == " " || $0 == "/" }) else {
            throw ValidationError("--metrics-listen '\(text)': '\(host)' is not a host name or address")
        }
        return ListenAddress(host: host, port: port)
    }
}
