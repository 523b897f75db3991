import MQTTSwarm
import Mosquitto
import ShoalCore

/// What a `FleetSimulator` runs: which nodes, with which labels, against which broker.
/// Plain values, built by `shoal simulate` or by tests.
public struct SimulatorConfiguration: Sendable {
    public var broker: BrokerAddress
    public var topics: TopicTree
    /// Node ids are `{idPrefix}-{number}`, the number zero-padded to the width of `fleetSize`
    /// (at least 5 digits): `sim-00001`.
    public var idPrefix: String
    /// Number of the first node this simulator runs (1-based) and how many it runs; several
    /// simulators (one per worker process) split a fleet this way.
    public var first: Int
    public var count: Int
    /// The whole fleet's size, across every simulator: fixes the width of node ids.
    public var fleetSize: Int
    public var labels: LabelSpec
    /// Seconds between heartbeats (jittered, see `FleetSimulator`).
    public var heartbeatInterval: Double
    /// Fraction of executions, 0…1, that fail with exit 1 (a fixed hash of job and node picks them).
    public var failRate: Double
    /// Seconds a task the simulator does not recognise takes (see `SyntheticTask`).
    public var taskTime: Double
    /// Reported in births and in the `agent` label.
    public var version: String
    /// Broker user name; nil: each node uses its own id, as the real agent does.
    public var username: String?
    /// Never logged.
    public var password: String?
    /// TLS to the broker (the secure profile's listener).
    public var tls: MQTTTLS?
    /// Allowance for the node's clock being behind when checking deadlines (the agent's 5 s).
    public var clockSkewAllowance: Double
    /// Connections awaiting CONNACK at once (see `MQTTSwarm.Configuration.maxConnecting`).
    public var maxConnecting: Int
    /// For bench/fanout's raw baseline: each agent also subscribes to
    /// `{prefix}/bench/raw/job/{region}/{arch}/{role}` and answers every message there once,
    /// on `{prefix}/bench/raw/reply`, with the payload followed by a space and its node id.
    /// Under the prefix, so that the secure profile's ACL lets the dispatcher's user use them.
    public var rawEcho: Bool
    /// Seconds between metric batches (jittered like heartbeats); nil: none (bench/ingest sets it).
    public var metricsInterval: Double?
    /// Values in each simulated sample (see `SyntheticMetrics`).
    public var metricValues: Int

    public init(
        broker: BrokerAddress, topics: TopicTree = TopicTree(), idPrefix: String = "sim", first: Int = 1, count: Int,
        fleetSize: Int? = nil, labels: LabelSpec = .default, heartbeatInterval: Double = 5, failRate: Double = 0,
        taskTime: Double = 0, version: String, username: String? = nil, password: String? = nil,
        clockSkewAllowance: Double = 5, maxConnecting: Int = 64, rawEcho: Bool = false, tls: MQTTTLS? = nil,
        metricsInterval: Double? = nil, metricValues: Int = 25
    ) {
        self.tls = tls
        self.metricsInterval = metricsInterval
        self.metricValues = metricValues
        self.broker = broker
        self.topics = topics
        self.idPrefix = idPrefix
        self.first = first
        self.count = count
        self.fleetSize = fleetSize ?? (first - 1 + count)
        self.labels = labels
        self.heartbeatInterval = heartbeatInterval
        self.failRate = failRate
        self.taskTime = taskTime
        self.version = version
        self.username = username
        self.password = password
        self.clockSkewAllowance = clockSkewAllowance
        self.maxConnecting = maxConnecting
        self.rawEcho = rawEcho
    }

    /// The raw baseline's topics (see `rawEcho`).
    public var rawJobPrefix: String { topics.prefix + "/bench/raw/job/" }
    public var rawReplyTopic: String { topics.prefix + "/bench/raw/reply" }

    /// The id of node number `number` (1-based).
    public func nodeID(_ number: Int) -> String {
        let digits = String(number)
        let width = max(5, String(fleetSize).count)
        return "\(idPrefix)-" + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// The ids of the nodes this simulator runs, in order.
    public var nodeIDs: [String] { (first..<(first + count)).map(nodeID) }
}

/// How many of a simulator's agents are connected right now.
public struct FleetProgress: Sendable, Equatable {
    public var connected: Int
    public var total: Int

    public init(connected: Int, total: Int) {
        self.connected = connected
        self.total = total
    }
}

extension FleetProgress {
    /// How a `shoal simulate` worker reports its progress to its supervisor, one line on
    /// stdout per change: `shoal-simulate connected=4999 total=5000`.
    public var reportLine: String { "shoal-simulate connected=\(connected) total=\(total)\n" }

    /// Parses a `reportLine` (without its newline); nil for any other line.
    public init?(reportLine line: String) {
        let fields = line.split(separator: " ")
        guard fields.count == 3, fields[0] == "shoal-simulate",
              fields[1].hasPrefix("connected="), let connected = Int(fields[1].dropFirst("connected=".count)),
              fields[2].hasPrefix("total="), let total = Int(fields[2].dropFirst("total=".count)) else { return nil }
        self.init(connected: connected, total: total)
    }
}
