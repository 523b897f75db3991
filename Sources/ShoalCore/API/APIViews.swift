/// A node as the registry sees it.
public struct NodeView: Sendable, Codable, Equatable {
    public var id: String
    public var labels: [String: String]
    public var online: Bool
    public var version: String
    public var firstSeen: Double
    public var lastSeen: Double
    /// Heartbeat clock minus dispatcher clock at receipt, seconds (positive: node ahead).
    public var clockOffset: Double?
    /// Where the node stands in enrollment; absent for a node given its credentials by an
    /// operator (or on a broker without the secure profile).
    public var enrollment: EnrollmentState?
    /// What operators decided for this node; absent means `active` (takes new work).
    public var state: NodeAdminState?
    /// The node's agent says its isolation action is in force (from its last birth).
    public var isolated: Bool?
    /// The latest of the node's `summaryMetrics` (percentages to 0.1, load to 0.01);
    /// absent for a node that has sent no metrics.
    public var metrics: [String: Double]?

    /// The metrics a node listing carries; every other one: `metrics.query`.
    public static let summaryMetrics = ["cpu_pct", "mem_used_pct", "disk_used_pct", "load1", "swap_used_pct"]

    public init(id: String, labels: [String: String], online: Bool, version: String,
                firstSeen: Double, lastSeen: Double, clockOffset: Double? = nil, enrollment: EnrollmentState? = nil,
                state: NodeAdminState? = nil, isolated: Bool? = nil, metrics: [String: Double]? = nil) {
        self.metrics = metrics
        self.id = id
        self.labels = labels
        self.online = online
        self.version = version
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.clockOffset = clockOffset
        self.enrollment = enrollment
        self.state = state
        self.isolated = isolated
    }

    /// `state`, with its default.
    public var adminState: NodeAdminState { state ?? .active }
}

/// One job with its per-state tallies.
public struct JobView: Sendable, Codable, Equatable {
    public var id: String
    public var selector: String
    public var task: JobTask
    public var timeout: Double
    public var deadline: Double
    public var createdAt: Double
    public var expected: Int
    public var counts: [String: Int]
    public var finishedAt: Double?
    /// An incident-response job (reaches quarantined nodes); absent means false.
    public var incident: Bool?
    /// The key id that signed the job (as the submitter claimed it: agents verify), if signed.
    public var signer: String?
    /// How the job is rolled out; absent for a job sent to every node at once.
    public var rollout: RolloutView?

    public init(id: String, selector: String, task: JobTask, timeout: Double, deadline: Double,
                createdAt: Double, expected: Int, counts: [String: Int], finishedAt: Double?, incident: Bool? = nil,
                signer: String? = nil, rollout: RolloutView? = nil) {
        self.signer = signer
        self.id = id
        self.selector = selector
        self.task = task
        self.timeout = timeout
        self.deadline = deadline
        self.createdAt = createdAt
        self.expected = expected
        self.counts = counts
        self.finishedAt = finishedAt
        self.incident = incident
        self.rollout = rollout
    }

    public var isFinished: Bool { finishedAt != nil }

    /// Why the job's rollout stopped early, when it did: the job is aborted.
    public var abortReason: String? { rollout?.abortReason }
}

/// One expected node of one job: always present, whatever happened.
public struct ExecutionView: Sendable, Codable, Equatable {
    public var job: String
    public var node: String
    public var state: ExecutionState
    public var exitCode: Int32?
    public var reason: String?
    public var startedAt: Double?
    public var finishedAt: Double?
    /// Whether the node was online when this view was made: tells "offline" from "no answer".
    public var nodeOnline: Bool?
    public var stdout: String?
    public var stderr: String?
    /// Set when `stdout`/`stderr` hold only the start of the output (or none of it): the
    /// rest is read with `jobs.output` (`shoal jobs output JOB --node NODE`).
    public var outputTruncated: Bool?

    public init(job: String, node: String, state: ExecutionState, exitCode: Int32? = nil, reason: String? = nil,
                startedAt: Double? = nil, finishedAt: Double? = nil, nodeOnline: Bool? = nil,
                stdout: String? = nil, stderr: String? = nil, outputTruncated: Bool? = nil) {
        self.job = job
        self.node = node
        self.state = state
        self.exitCode = exitCode
        self.reason = reason
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.nodeOnline = nodeOnline
        self.stdout = stdout
        self.stderr = stderr
        self.outputTruncated = outputTruncated
    }

    public var duration: Double? {
        guard let startedAt, let finishedAt else { return nil }
        return max(0, finishedAt - startedAt)
    }
}

public struct JobDetail: Sendable, Codable, Equatable {
    public var job: JobView
    public var executions: [ExecutionView]
    public init(job: JobView, executions: [ExecutionView]) {
        self.job = job
        self.executions = executions
    }
}

/// `events/job/{job}`: the executions of one job that changed in one commit of the
/// dispatcher, in order of change. One message per job per commit keeps a 10,000-node
/// job from costing 30,000 event publishes.
public struct JobEvent: Sendable, Codable, Equatable {
    public var v: Int = Wire.version
    public var job: String
    public var executions: [ExecutionView]
    /// Set when this commit finished the job.
    public var finishedAt: Double?
    /// Output chunks this commit stored, in order of arrival (each node's in `seq` order),
    /// so that a follower sees output while it is produced (`shoal run -f`). Absent when
    /// none; a chunk too large for its share is cut (see `JobEventPacker`).
    public var output: [OutputChunkView]?

    public init(job: String, executions: [ExecutionView], finishedAt: Double? = nil, output: [OutputChunkView]? = nil) {
        self.job = job
        self.executions = executions
        self.finishedAt = finishedAt
        self.output = output
    }
}

/// One stored piece of an execution's output, as `jobs.output` pages them.
public struct OutputChunkView: Sendable, Codable, Equatable {
    public var node: String
    public var seq: Int64
    public var stream: OutputChannel
    public var data: String

    public init(node: String, seq: Int64, stream: OutputChannel, data: String) {
        self.node = node
        self.seq = seq
        self.stream = stream
        self.data = data
    }
}

/// Where a page of `jobs.output` ended: pass it back as `after` for the next page.
public struct OutputCursor: Sendable, Codable, Equatable {
    public var node: String
    public var seq: Int64

    public init(node: String, seq: Int64) {
        self.node = node
        self.seq = seq
    }
}

/// `jobs.output`'s reply: chunks in (node, seq) order, and `next` when more remain.
public struct OutputPage: Sendable, Codable, Equatable {
    public var job: String
    public var chunks: [OutputChunkView]
    public var next: OutputCursor?

    public init(job: String, chunks: [OutputChunkView], next: OutputCursor?) {
        self.job = job
        self.chunks = chunks
        self.next = next
    }
}
