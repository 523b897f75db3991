import Logging
import ShoalCore

/// The dispatcher's rules: the registry, the jobs in flight and how every input changes
/// them. Pure: no database, no broker, no clock of its own. Inputs are decoded messages
/// (`ingest`), the passing of time (`tick`) and API decisions (`plan`, `accept`, `forget`);
/// what they change waits in `pending` (rows to commit) and `outbox` (messages to publish),
/// and `committed(_:)` turns a commit into the announcements it makes true.
///
/// Not thread-safe by design: one owner (the dispatcher's `EngineShell`, on its loop)
/// hands it one input at a time; tests drive it directly with a clock of their own.
package final class DispatchEngine {
    package let topics: TopicTree
    package let missedHeartbeats: Double
    /// The time, as UNIX seconds.
    package let clock: @Sendable () -> Double
    let logger: Logger
    let planner = FanOutPlanner()
    package let resyncRule: ResyncRule
    /// Extra time past a job's timeout before a started execution on an offline node is
    /// given up as lost.
    package let lostGrace: Double = 30
    /// How long a node must have been silent before its started executions are given up.
    package let lostAway: Double = 300

    /// The registry: every node seen and not forgotten.
    package var nodes: [String: NodeRecord] = [:]
    /// The registry as the planner takes it, kept between jobs; nil after a node is added,
    /// relabelled or forgotten.
    var plannerRegistry: FanOutPlanner.Registry?
    /// Jobs not yet finished, with the current state of each expected node.
    package var active: [String: ActiveJob] = [:]
    /// Output of executions finished in the current batch, for their events.
    var finishedOutput: [ExecutionKey: (stdout: String, stderr: String)] = [:]
    /// What the current batch changed, for the owner to commit (`takePending`).
    package var pending = PendingWrites()
    /// Messages to publish, in order (`takeOutbox`).
    package var outbox: [Publication] = []
    /// No online node can go silent before this time (see `tick()`); 0 checks at once.
    var silenceCheckDue: Double = 0
    /// Final executions of jobs finished in memory whose finish is not yet committed.
    var finishing: [String: [String: ExecutionRecord]] = [:]
    /// Enrollment requests and decisions, by node id (nodes given credentials by an operator
    /// have none).
    package var enrollments: [String: EnrollmentRecord] = [:]
    package let enrollmentPolicy: EnrollmentPolicy
    /// Broker credentials to add or remove, in order (`takeCredentialChanges`); the owner
    /// applies them before it publishes the outbox, so an approval's answer never arrives
    /// before the broker knows the node's password.
    package var credentialChanges: [CredentialChange] = []
    /// When each open execution was last re-sent to its node (`ResyncRule`).
    var lastResync: [ExecutionKey: Double] = [:]
    /// The next time `tick` looks for executions to resync (every few seconds, not every tick).
    var resyncCheckDue: Double = 0
    /// Mitigation rules and their cooldowns (`DispatchEngine+Rules`).
    package var ruleBook: RuleBook
    /// Rules that fired in this batch, for the owner (`takeFirings`).
    package var firings: [RuleFiring] = []
    /// Each rule's jobs that may still be open: its concurrency cap counts them.
    var ruleJobs: [String: Set<String>] = [:]
    /// The last quarantine or release each node was sent, sent again as it was (with the
    /// operator's signature) when a birth disagrees (`convergeIsolation`).
    var isolationOrders: [String: ControlMessage] = [:]
    /// Nodes whose last birth said they obey only signed operations.
    var signedOnly: Set<String> = []
    /// Random bits of rule jobs' ids; seeded from the clock, so tests that fix the clock get fixed ids.
    var ruleJobIDs: SplitMix64
    /// Each node's latest metrics, the rollups being folded, the ingest counters.
    package var metrics = MetricsState()
    /// How long raw samples and rollups are kept.
    package var metricRetention = MetricRetention()
    /// The highest log line number stored per node and source (`DispatchEngine+Logs`).
    var logSeqs: [String: [String: UInt64]] = [:]

    /// A class, not a struct: a job of 10,000 executions is changed in place by every
    /// report; a struct taken out of `active` and put back would copy its dictionaries each
    /// time (quadratic in the fleet size). Owned by the engine like everything else here.
    package final class ActiveJob {
        package let record: JobRecord
        package var executions: [String: ExecutionRecord]
        var unfinished: Int
        /// Output received so far per node (chunk numbers seen, to drop replays), kept so
        /// that a terminal event carries it without a database read.
        var output: [String: CollectedOutput]
        /// Nodes an operator asked to stop this job: they are sent `cancel`, never the job.
        package var cancelRequested: Set<String>
        /// How the job is rolled out, when it is (`DispatchEngine+Rollout`).
        package var rollout: Rollout?
        /// Expected nodes the rollout has not released yet: never sent the job (not by a
        /// resync, a birth or a restart either) until their batch is.
        package var held: Set<String>
        /// When the rollout's wait between batches ends (checked by `tick`).
        var rolloutDue: Double?
        /// Nodes of the last released batch still open: only the end of the last of them,
        /// or a failure, can change what the rollout decides, so other reports of a
        /// 10,000-node rollout do not ask it (each asking counts over the released nodes).
        var openInBatch: Set<String> = []
        /// The `cancel` each node was sent, sent again as it was (with the operator's
        /// signature). In memory: after a restart the re-sent cancel is unsigned.
        var cancelOrders: [String: ControlMessage] = [:]

        init(record: JobRecord, executions: [String: ExecutionRecord], unfinished: Int,
             output: [String: CollectedOutput] = [:], cancelRequested: Set<String> = [], rollout: Rollout? = nil) {
            self.record = record
            self.executions = executions
            self.unfinished = unfinished
            self.output = output
            self.cancelRequested = cancelRequested
            self.rollout = rollout
            self.held = rollout.map { Set($0.batches.dropFirst($0.released).joined()) } ?? []
            if let rollout, rollout.released > 0, rollout.released <= rollout.batches.count {
                openInBatch = Set(rollout.batches[rollout.released - 1].filter { executions[$0]?.state.isTerminal == false })
            }
        }

        /// Whether a node's terminal state may change the rollout's decision.
        func mayAdvanceRollout(after node: String, ended state: ExecutionState) -> Bool {
            let wasOpen = openInBatch.remove(node) != nil
            return Rollout.isFailure(state) || (wasOpen && openInBatch.isEmpty)
        }
    }

    struct CollectedOutput {
        var stdout = ""
        var stderr = ""
        var seen: Set<UInt32> = []
        /// UTF-8 bytes kept so far, both streams.
        var bytes = 0
        /// The stored limit was reached: nothing more is kept.
        var truncated = false
    }

    /// What the store held at start: the registry, and the unfinished jobs with their
    /// executions and the output stored so far.
    package struct Recovered {
        package var nodes: [NodeRecord]
        package var unfinished: [(job: JobRecord, executions: [ExecutionRecord], output: [String: (stdout: String, stderr: String)])]
        package var enrollments: [EnrollmentRecord]
        /// Cancel requests of unfinished jobs: job id → nodes.
        package var cancellations: [String: Set<String>]
        /// Rollouts of unfinished jobs, as last committed: job id → rollout.
        package var rollouts: [String: Rollout]

        package init(nodes: [NodeRecord] = [],
                     unfinished: [(job: JobRecord, executions: [ExecutionRecord], output: [String: (stdout: String, stderr: String)])] = [],
                     enrollments: [EnrollmentRecord] = [], cancellations: [String: Set<String>] = [:],
                     rollouts: [String: Rollout] = [:]) {
            self.nodes = nodes
            self.unfinished = unfinished
            self.enrollments = enrollments
            self.cancellations = cancellations
            self.rollouts = rollouts
        }
    }

    package init(topics: TopicTree, missedHeartbeats: Double, resyncRule: ResyncRule = ResyncRule(),
                 recovered: Recovered = Recovered(), ruleBook: RuleBook = RuleBook(),
                 enrollmentPolicy: EnrollmentPolicy = EnrollmentPolicy(),
                 logger: Logger, clock: @escaping @Sendable () -> Double) {
        self.topics = topics
        self.ruleBook = ruleBook
        self.enrollmentPolicy = enrollmentPolicy
        let startMilliseconds = clock() * 1000
        self.ruleJobIDs = SplitMix64(seed: (0..<1e18).contains(startMilliseconds) ? UInt64(startMilliseconds) : 0)
        self.missedHeartbeats = missedHeartbeats
        self.resyncRule = resyncRule
        self.logger = logger
        self.clock = clock
        for enrollment in recovered.enrollments { enrollments[enrollment.node] = enrollment }
        // Heartbeats are kept in memory only, so stored `lastSeen` values are old: give
        // nodes that were online a fresh window instead of declaring them all offline.
        let loadedAt = clock()
        for var node in recovered.nodes {
            if node.online { node.lastSeen = max(node.lastSeen, loadedAt) }
            nodes[node.id] = node
        }
        for (job, executions, stored) in recovered.unfinished {
            let output = stored.mapValues {
                CollectedOutput(stdout: $0.stdout, stderr: $0.stderr, bytes: $0.stdout.utf8.count + $0.stderr.utf8.count)
            }
            active[job.id] = ActiveJob(
                record: job, executions: Dictionary(uniqueKeysWithValues: executions.map { ($0.node, $0) }),
                unfinished: executions.filter { !$0.state.isTerminal }.count, output: output,
                cancelRequested: recovered.cancellations[job.id] ?? [], rollout: recovered.rollouts[job.id])
        }
    }

    func now() -> Double { clock() }

    /// No job is in flight: the time for work that would hold up reports (checkpoints, pruning).
    package var isIdle: Bool { active.isEmpty }

    /// Applies one message an agent published (anything but the API, which the owner answers).
    package func ingest(_ route: TopicTree.Route, payload: [UInt8]) {
        switch route {
        case .birth(let node): ingestBirth(node: node, payload: payload)
        case .death(let node): ingestDeath(node: node, payload: payload)
        case .heartbeat(let node): ingestHeartbeat(node: node, payload: payload)
        case .metrics(let node): ingestMetrics(node: node, payload: payload)
        case .logs(let node): ingestLogs(node: node, payload: payload)
        case .logAck: logger.debug("Ignored a log acknowledgement (the dispatcher's own)")
        case .execStatus(let node, let job): ingestStatus(node: node, job: job, payload: payload)
        case .execOutput(let node, let job): ingestOutput(node: node, job: job, payload: payload)
        case .nodeJob, .nodeControl, .cellJob, .api, .unknownAPI, .enrollmentRequest, .enrollmentAnswer:
            logger.debug("Ignored a message on a topic agents do not report on")
        }
    }

    /// The messages to publish since the last call, in order.
    package func takeOutbox() -> [Publication] {
        defer { outbox = [] }
        return outbox
    }

    func publish(_ topic: String, _ payload: [UInt8], qos: Int32 = 1) {
        outbox.append(Publication(topic: topic, payload: payload, qos: qos))
    }

    /// Logs and drops input that cannot be used; never fatal.
    func reject(_ what: String, _ error: any Error, topic: String) {
        logger.warning("Dropped \(what)", metadata: ["topic": "\(topic)", "error": "\(error)"])
    }

    /// An execution as its event shows it: terminal states carry the output.
    func eventView(_ execution: ExecutionRecord) -> ExecutionView {
        var view = executionView(execution)
        if execution.state.isTerminal {
            let key = ExecutionKey(job: execution.job, node: execution.node)
            if let output = finishedOutput[key] ?? active[execution.job]?.output[execution.node].map({ ($0.stdout, $0.stderr) }) {
                view.stdout = output.stdout
                view.stderr = output.stderr
            }
        }
        return view
    }

    package func executionView(_ execution: ExecutionRecord) -> ExecutionView {
        var reason = execution.reason
        // A node a rollout has not reached yet says so, rather than look stuck.
        if execution.state == .queued, active[execution.job]?.held.contains(execution.node) == true {
            reason = Self.heldReason
        }
        return ExecutionView(job: execution.job, node: execution.node, state: execution.state, exitCode: execution.exitCode,
                             reason: reason, startedAt: execution.startedAt, finishedAt: execution.finishedAt,
                             nodeOnline: nodes[execution.node]?.online)
    }

    package static let heldReason = "not sent yet: waits for its batch of the rollout"
}

/// A message the engine wants published.
package struct Publication: Sendable, Equatable {
    package var topic: String
    package var payload: [UInt8]
    package var qos: Int32

    package init(topic: String, payload: [UInt8], qos: Int32 = 1) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
    }
}

/// Something a commit made true, for `events/...`.
package enum Announcement: Sendable {
    case job(JobEvent)
    case node(NodeView)
    case logs(NodeLogEvent)
    /// To the node: its log lines up to these numbers are stored.
    case logAck(LogAckMessage)
}
