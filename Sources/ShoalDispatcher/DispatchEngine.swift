import Foundation
import Logging
import Mosquitto
import ShoalCore

/// The dispatcher's state and the logic that changes it.
///
/// Not thread-safe by design: it is owned by `Dispatcher.run()`'s loop, which hands it one
/// batch of inputs at a time and then calls `flush()`: the batch's changes are committed in
/// one transaction before any of them is announced.
final class DispatchEngine {
    let store: DispatcherStore
    let client: MQTTClient
    let events: EventPublisher
    let topics: TopicTree
    let missedHeartbeats: Double
    let retention: RetentionPolicy
    /// The time, as UNIX seconds: injected so that rules can be tested at any instant.
    let clock: @Sendable () -> Double
    /// When finished jobs are next checked against `retention` (at start, then every 10 minutes).
    var retentionDue: Double = 0
    let logger: Logger
    let planner = FanOutPlanner()
    /// Extra time past a job's timeout before a started execution on an offline node is
    /// given up as lost.
    let lostGrace: Double = 30

    /// The registry: every node ever seen.
    var nodes: [String: NodeRecord] = [:]
    /// The registry as the planner takes it, kept between jobs; nil after a node is added
    /// or relabelled.
    var plannerRegistry: FanOutPlanner.Registry?
    /// Jobs not yet finished, with the current state of each expected node.
    var active: [String: ActiveJob] = [:]
    /// Output of executions finished in the current batch, for their events.
    var finishedOutput: [ExecutionKey: (stdout: String, stderr: String)] = [:]
    /// What the current batch changed; committed by `flush()`.
    var pending = PendingWrites()
    /// No online node can go silent before this time (see `tick()`); 0 checks at once.
    var silenceCheckDue: Double = 0
    /// Something was committed since the write-ahead log was last checkpointed.
    var uncheckpointed = false
    /// Final executions of jobs finished in memory whose finish is not yet committed.
    var finishing: [String: [String: ExecutionRecord]] = [:]
    /// When each open execution was last re-sent to its node (`ResyncRule`).
    var lastResync: [ExecutionKey: Double] = [:]
    let resyncRule = ResyncRule()
    /// The next time `tick` looks for executions to resync (every few seconds, not every tick).
    var resyncCheckDue: Double = 0
    /// Jobs whose finish is committed, with their final executions, still to be folded
    /// from the log into the execution table (`tick`).
    var unfolded: [(job: String, executions: [ExecutionRecord])] = []

    /// A class, not a struct: a job of 10,000 executions is changed in place by every
    /// report; a struct taken out of `active` and put back would copy its dictionaries each
    /// time (quadratic in the fleet size). Owned by the engine like everything else here.
    final class ActiveJob {
        let record: JobRecord
        var executions: [String: ExecutionRecord]
        var unfinished: Int
        /// Output received so far per node (chunk numbers seen, to drop replays), kept so
        /// that a terminal event carries it without a database read.
        var output: [String: CollectedOutput]

        init(record: JobRecord, executions: [String: ExecutionRecord], unfinished: Int,
             output: [String: CollectedOutput] = [:]) {
            self.record = record
            self.executions = executions
            self.unfinished = unfinished
            self.output = output
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

    init(store: DispatcherStore, client: MQTTClient, events: EventPublisher, topics: TopicTree,
         missedHeartbeats: Double, retention: RetentionPolicy = RetentionPolicy(), logger: Logger,
         clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        self.retention = retention
        self.clock = clock
        self.store = store
        self.events = events
        self.client = client
        self.topics = topics
        self.missedHeartbeats = missedHeartbeats
        self.logger = logger
        // Heartbeats are kept in memory only, so stored `lastSeen` values are old: give
        // nodes that were online a fresh window instead of declaring them all offline.
        let loadedAt = clock()
        for var node in try store.allNodes() {
            if node.online { node.lastSeen = max(node.lastSeen, loadedAt) }
            nodes[node.id] = node
        }
        // Jobs that finished just before a stop may not have been folded yet.
        try store.foldFinishedJobs()
        for (job, executions) in try store.unfinishedJobs() {
            let output = try store.output(of: job.id).mapValues { CollectedOutput(stdout: $0.stdout, stderr: $0.stderr, bytes: $0.stdout.utf8.count + $0.stderr.utf8.count) }
            active[job.id] = ActiveJob(
                record: job, executions: Dictionary(uniqueKeysWithValues: executions.map { ($0.node, $0) }),
                unfinished: executions.filter { !$0.state.isTerminal }.count, output: output)
        }
    }

    func now() -> Double { clock() }

    func handle(_ message: MQTTMessage) {
        switch topics.route(message.topic) {
        case .birth(let node): ingestBirth(node: node, payload: message.payload)
        case .death(let node): ingestDeath(node: node, payload: message.payload)
        case .heartbeat(let node): ingestHeartbeat(node: node, payload: message.payload)
        case .execStatus(let node, let job): ingestStatus(node: node, job: job, payload: message.payload)
        case .execOutput(let node, let job): ingestOutput(node: node, job: job, payload: message.payload)
        case .api(let operation): answer(operation, message)
        case .unknownAPI(let name): answerUnknown(name, message)
        default:
            logger.debug("Ignored a message on an unexpected topic", metadata: ["topic": "\(message.topic)"])
        }
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

    func executionView(_ execution: ExecutionRecord) -> ExecutionView {
        ExecutionView(job: execution.job, node: execution.node, state: execution.state, exitCode: execution.exitCode,
                      reason: execution.reason, startedAt: execution.startedAt, finishedAt: execution.finishedAt,
                      nodeOnline: nodes[execution.node]?.online)
    }
}
