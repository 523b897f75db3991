import Mosquitto
import ShoalCore

/// Everything an agent needs to start. Plain values, built by the CLI or by tests.
public struct AgentConfiguration: Sendable {
    public var broker: BrokerAddress
    public var nodeID: String
    /// Configured labels; they override automatic ones of the same name.
    public var labels: [String: String]
    public var dataDirectory: String
    public var heartbeatInterval: Double
    /// How often metrics are read and sent (seconds); nil: not at all.
    public var metricsInterval: Double?
    public var topics: TopicTree
    public var username: String?
    public var password: String?
    /// nil: plain TCP.
    public var tls: MQTTTLS?
    /// Set: the agent has no credentials of its own yet and enrolls with these first
    /// (`username`/`password` are then ignored: it logs in as its node id).
    public var bootstrap: BootstrapCredentials?
    /// Allowance for this node's clock being behind when checking deadlines.
    public var clockSkewAllowance: Double
    /// Output kept per execution; the rest is dropped with a note.
    public var outputLimit: Int
    /// Run on `ctl` `quarantine` (and again at start while quarantined) and on `release`.
    public var isolateAction: IsolationAction
    public var releaseAction: IsolationAction
    /// Operator keys whose signed jobs and control messages this node accepts.
    public var trustedKeys: TrustedKeys
    /// Refuse unsigned jobs even with no trusted key (then every job is refused: a node
    /// that must not run anything until it is given a key).
    public var requireSignatures: Bool

    public init(
        broker: BrokerAddress, nodeID: String, labels: [String: String] = [:], dataDirectory: String,
        heartbeatInterval: Double = 5, metricsInterval: Double? = 10, topics: TopicTree = TopicTree(), username: String? = nil,
        password: String? = nil, tls: MQTTTLS? = nil, bootstrap: BootstrapCredentials? = nil, clockSkewAllowance: Double = 5,
        outputLimit: Int = 1 << 20, isolateAction: IsolationAction = .defaultIsolate, releaseAction: IsolationAction = .defaultRelease,
        trustedKeys: TrustedKeys = TrustedKeys(), requireSignatures: Bool = false
    ) {
        self.trustedKeys = trustedKeys
        self.requireSignatures = requireSignatures
        self.broker = broker
        self.nodeID = nodeID
        self.labels = labels
        self.dataDirectory = dataDirectory
        self.heartbeatInterval = heartbeatInterval
        self.metricsInterval = metricsInterval
        self.topics = topics
        self.username = username
        self.password = password
        self.tls = tls
        self.bootstrap = bootstrap
        self.clockSkewAllowance = clockSkewAllowance
        self.outputLimit = outputLimit
        self.isolateAction = isolateAction
        self.releaseAction = releaseAction
    }

    var signatureVerifier: SignatureVerifier {
        SignatureVerifier(trusted: trustedKeys, required: requireSignatures, skewAllowance: clockSkewAllowance)
    }
}

public let shoalVersion = "0.1.0"
