import ShoalCore

// The engine's records: plain values. The store (ShoalDispatcher) gives them their rows
// (`Records+GRDB.swift`); the engine never sees the database.

/// A node of the registry (a row of `node`).
package struct NodeRecord: Codable, Sendable, Equatable {
    package var id: String
    package var labels: [String: String]
    package var online: Bool
    package var version: String
    package var bdSeq: Int64
    package var heartbeatInterval: Double
    package var firstSeen: Double
    package var lastSeen: Double
    package var clockOffset: Double?
    /// When `clockOffset` was last measured; memory only (not a column).
    package var clockCheckedAt: Double?

    enum CodingKeys: String, CodingKey {
        case id, labels, online, version, bdSeq, heartbeatInterval, firstSeen, lastSeen, clockOffset
    }

    package init(id: String, labels: [String: String], online: Bool, version: String, bdSeq: Int64,
                 heartbeatInterval: Double, firstSeen: Double, lastSeen: Double, clockOffset: Double? = nil) {
        self.id = id
        self.labels = labels
        self.online = online
        self.version = version
        self.bdSeq = bdSeq
        self.heartbeatInterval = heartbeatInterval
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.clockOffset = clockOffset
    }

    package var view: NodeView {
        NodeView(id: id, labels: labels, online: online, version: version, firstSeen: firstSeen,
                 lastSeen: lastSeen, clockOffset: clockOffset)
    }
}

/// A job (a row of `job`).
package struct JobRecord: Codable, Sendable, Equatable {
    package var id: String
    package var selector: String
    package var task: JobTask
    package var timeout: Double
    package var deadline: Double
    package var createdAt: Double
    package var expected: Int
    package var finishedAt: Double?
    /// The operator's signature, published with every sending of the job (a re-send too).
    package var signature: OperatorSignature?

    package init(id: String, selector: String, task: JobTask, timeout: Double, deadline: Double, createdAt: Double,
                 expected: Int, finishedAt: Double?, signature: OperatorSignature? = nil) {
        self.signature = signature
        self.id = id
        self.selector = selector
        self.task = task
        self.timeout = timeout
        self.deadline = deadline
        self.createdAt = createdAt
        self.expected = expected
        self.finishedAt = finishedAt
    }
}

/// One expected node of one job (a row of `execution`).
package struct ExecutionRecord: Codable, Sendable, Equatable {
    package var job: String
    package var node: String
    package var state: ExecutionState
    package var exitCode: Int32?
    package var reason: String?
    package var startedAt: Double?
    package var finishedAt: Double?
    package var updatedAt: Double

    package init(job: String, node: String, state: ExecutionState, exitCode: Int32? = nil, reason: String? = nil,
                 startedAt: Double? = nil, finishedAt: Double? = nil, updatedAt: Double) {
        self.job = job
        self.node = node
        self.state = state
        self.exitCode = exitCode
        self.reason = reason
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.updatedAt = updatedAt
    }
}

/// Numbered output, unique per (job, node, seq) (a row of `output_chunk`).
package struct OutputChunkRecord: Codable, Sendable, Equatable {
    package var job: String
    package var node: String
    package var seq: Int64
    package var stream: String
    package var data: String

    package init(job: String, node: String, seq: Int64, stream: String, data: String) {
        self.job = job
        self.node = node
        self.seq = seq
        self.stream = stream
        self.data = data
    }
}
