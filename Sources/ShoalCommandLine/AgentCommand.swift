import ArgumentParser
// Not Foundation: `shoal-agent` links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ShoalAgent
import ShoalCore

/// `shoal agent`, the subcommand of the all-in-one `shoal` binary.
public struct AgentCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: AgentOptions.abstract,
        discussion: "Example: shoal agent --broker mqtt://broker:1883 --label region=eu --label role=web")

    @OptionGroup public var options: AgentOptions

    public init() {}

    public func run() async throws { try await options.run() }
}

/// The agent's options and what running it means, shared by `shoal agent` and the
/// standalone `shoal-agent` binary (which only differ in their name).
public struct AgentOptions: ParsableArguments {
    public static let abstract = "Run the agent on this machine: report in, heartbeat, run the jobs meant for it."

    @Option(name: .long, help: "Node id, unique in the fleet (default: the hostname).")
    var id: String?

    @Option(name: .long, parsing: .singleValue, help: "A label k=v for this node (repeatable); overrides automatic labels.")
    var label: [String] = []

    @Option(name: .long, help: "Where the agent keeps its ledger and outbox (default: $SHOAL_HOME/agent-ID).")
    var dataDir: String?

    @Option(name: .long, help: "Heartbeat interval, 100ms to 1h (e.g. 5s).",
            transform: DurationArgument.parser("--heartbeat", in: Limits.heartbeatInterval))
    var heartbeat = DurationArgument("5s", seconds: 5)

    @Option(name: .long, help: "How often to read and send this machine's metrics, 1s to 1h, or 0 or off for none (e.g. 30s).",
            transform: MetricsInterval.parse)
    var metricsInterval = MetricsInterval(text: "10s", seconds: 10)

    @Option(name: .long, help: ArgumentHelp(
        "File holding the bootstrap token: the agent enrolls with it, then logs in as its node id once approved.",
        discussion: "Default: SHOAL_BOOTSTRAP_TOKEN_FILE. The password the agent enrolls with is kept in its data directory (mode 0600).",
        valueName: "path"))
    var bootstrapTokenFile: String?

    @Option(name: .long, help: "Broker user name of the bootstrap token.")
    var bootstrapUser = "shoal-bootstrap"

    @Option(name: .long, help: ArgumentHelp(
        "Shell script that isolates this node when it is quarantined (default: nftables rules that keep only the broker reachable).",
        discussion: "Run with /bin/sh -c, with SHOAL_BROKER_HOST, SHOAL_BROKER_PORT and SHOAL_NODE_ID set; it must succeed when run twice."))
    var isolateCommand: String?

    @Option(name: .long, help: "Shell script that undoes --isolate-command when the node is released (default: deletes the nftables table).")
    var releaseCommand: String?

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp(
        "Operator public keys to trust: a file of 'ed25519 BASE64 [NAME]' lines or a directory of .pub files (repeatable).",
        discussion: "With any trusted key, the agent runs only jobs (and control operations) signed by one of them, and refuses unsigned, forged, expired and replayed ones."))
    var trustedKeys: [String] = []

    @Flag(name: .long, help: "Refuse unsigned jobs even when no key is trusted yet.")
    var requireSignatures = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions

    public init() {}

    private var resolvedBootstrapTokenFile: String? {
        bootstrapTokenFile ?? ProcessInfo.processInfo.environment["SHOAL_BOOTSTRAP_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    public func validate() throws {
        for entry in label {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ValidationError("label '\(entry)' is not k=v; write e.g. --label region=eu")
            }
        }
        if let id, !TopicTree.isValidLevel(id) { throw ValidationError("node id '\(id)' may not contain '/', '+' or '#'") }
        if let path = resolvedBootstrapTokenFile, !FileManager.default.isReadableFile(atPath: path) {
            throw ValidationError("--bootstrap-token-file: cannot read '\(path)'; give the path of the file holding the token")
        }
        if resolvedBootstrapTokenFile != nil && connection.tls == nil {
            throw ValidationError("enrolling sends the node's password to the broker: give --tls-ca (the CA of the broker's certificate)")
        }
        for (flag, script) in [("--isolate-command", isolateCommand), ("--release-command", releaseCommand)] {
            guard let script else { continue }
            if script.isEmpty { throw ValidationError("\(flag) is empty; leave it out for the built-in action, or give e.g. \(flag) 'true'") }
            do {
                try Bounds.check(script, flag, maxBytes: Limits.argumentBytes)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        for path in trustedKeys {
            do {
                _ = try OperatorKeyStore.loadTrusted(path)
            } catch {
                throw ValidationError("\(error) (--trusted-keys); give a file of 'ed25519 BASE64 [NAME]' lines or a directory of .pub files")
            }
        }
    }

    /// Runs the agent until SIGTERM or SIGINT.
    public func run() async throws {
        let logger = ServiceRuntime.bootstrap(label: "shoal.agent", level: logging.logLevel)
        let nodeID = id ?? ProcessInfo.processInfo.hostName
        let labels = Dictionary(label.map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), String(parts[1]))
        }) { _, last in last }
        let configuration = AgentConfiguration(
            broker: try connection.address, nodeID: nodeID, labels: labels,
            dataDirectory: dataDir ?? ShoalHome.path + "/agent-\(nodeID)",
            heartbeatInterval: heartbeat.seconds, metricsInterval: metricsInterval.seconds, topics: connection.topics,
            username: connection.resolvedUsername ?? nodeID, password: try connection.password, tls: connection.tls,
            bootstrap: try resolvedBootstrapTokenFile.map {
                BootstrapCredentials(username: bootstrapUser, token: try SecretFile.readPassword($0))
            },
            isolateAction: isolateCommand.map(IsolationAction.init(script:)) ?? .defaultIsolate,
            releaseAction: releaseCommand.map(IsolationAction.init(script:)) ?? .defaultRelease,
            trustedKeys: TrustedKeys(try trustedKeys.flatMap(OperatorKeyStore.loadTrusted)),
            requireSignatures: requireSignatures)
        try await ServiceRuntime.run(Agent(configuration: configuration, logger: logger), logger: logger)
    }
}

/// `--metrics-interval`: a duration in `Limits.metricsInterval`, or `0` / `off` for no metrics.
public struct MetricsInterval: Sendable, CustomStringConvertible {
    public let text: String
    /// nil: metrics are off.
    public let seconds: Double?

    public var description: String { text }

    public static let off = MetricsInterval(text: "off", seconds: nil)

    @Sendable public static func parse(_ text: String) throws -> MetricsInterval {
        if text == "off" || text == "0" { return MetricsInterval(text: text, seconds: nil) }
        return MetricsInterval(text: text, seconds: try DurationArgument.parser("--metrics-interval", in: Limits.metricsInterval)(text).seconds)
    }
}
