import Mosquitto
import ShoalCore

public struct DispatcherConfiguration: Sendable {
    public var broker: BrokerAddress
    public var databasePath: String
    public var topics: TopicTree
    public var username: String?
    public var password: String?
    /// nil: plain TCP.
    public var tls: MQTTTLS?
    /// nil: no enrollment (requests are answered `rejected`).
    public var enrollment: EnrollmentSettings?
    /// Fixed, so the broker keeps this dispatcher's persistent session (and queues what
    /// agents report while it is down) across restarts.
    public var clientID: String
    /// How often deadlines and missed heartbeats are checked.
    public var tickInterval: Duration
    /// A node is offline after this many heartbeat intervals without a word.
    public var missedHeartbeats: Double
    /// How long applied reports may wait to be committed (and announced) together. A job's
    /// end, an API request and a large batch commit at once. Zero commits every batch.
    public var commitWindow: Duration
    /// Which finished jobs are deleted, with their executions and output.
    public var retention: RetentionPolicy
    /// Mitigation rules from a file (`--rules`): added at start, replacing stored rules of
    /// the same names; rules added through the API stay.
    public var rules: [MitigationRule]
    /// Signs the jobs mitigation rules start, for nodes that run only signed jobs. Held
    /// only by a dispatcher its operators chose to trust with a key (`shoal up`'s does).
    public var ruleSigningKey: OperatorPrivateKey?
    /// Where to serve Prometheus text (`--metrics-listen`); nil: nowhere.
    public var metricsListen: (host: String, port: UInt16)?
    /// How long raw metric samples and their 1-minute rollups are kept.
    public var metricsRawWindow: Double
    public var metricsRollupWindow: Double

    public init(broker: BrokerAddress, databasePath: String, topics: TopicTree = TopicTree(),
                username: String? = nil, password: String? = nil, tls: MQTTTLS? = nil, clientID: String = "shoal-dispatcher",
                tickInterval: Duration = .milliseconds(500), missedHeartbeats: Double = 3,
                commitWindow: Duration = .milliseconds(10), retention: RetentionPolicy = RetentionPolicy(),
                rules: [MitigationRule] = [], enrollment: EnrollmentSettings? = nil, ruleSigningKey: OperatorPrivateKey? = nil,
                metricsListen: (host: String, port: UInt16)? = nil, metricsRawWindow: Double = 6 * 3600,
                metricsRollupWindow: Double = 30 * 86_400) {
        self.ruleSigningKey = ruleSigningKey
        self.metricsListen = metricsListen
        self.metricsRawWindow = metricsRawWindow
        self.metricsRollupWindow = metricsRollupWindow
        self.broker = broker
        self.databasePath = databasePath
        self.topics = topics
        self.username = username
        self.password = password
        self.tls = tls
        self.clientID = clientID
        self.tickInterval = tickInterval
        self.missedHeartbeats = missedHeartbeats
        self.commitWindow = commitWindow
        self.retention = retention
        self.rules = rules
        self.enrollment = enrollment
    }
}
