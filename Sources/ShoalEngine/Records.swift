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
    /// What operators decided (cordon, quarantine); kept across births.
    package var admin: NodeAdminState = .active
    /// The agent said in its last birth that its isolation action is in force.
    package var isolated: Bool = false
    /// When `clockOffset` was last measured; memory only (not a column).
    package var clockCheckedAt: Double?

    enum CodingKeys: String, CodingKey {
        case id, labels, online, version, bdSeq, heartbeatInterval, firstSeen, lastSeen, clockOffset, admin, isolated
    }

    package init(id: String, labels: [String: String], online: Bool, version: String, bdSeq: Int64,
                 heartbeatInterval: Double, firstSeen: Double, lastSeen: Double, clockOffset: Double? = nil,
                 admin: NodeAdminState = .active, isolated: Bool = false) {
        self.id = id
        self.labels = labels
        self.online = online
        self.version = version
        self.bdSeq = bdSeq
        self.heartbeatInterval = heartbeatInterval
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.clockOffset = clockOffset
        self.admin = admin
        self.isolated = isolated
    }

    package var view: NodeView {
        NodeView(id: id, labels: labels, online: online, version: version, firstSeen: firstSeen,
                 lastSeen: lastSeen, clockOffset: clockOffset, state: admin == .active ? nil : admin,
                 isolated: isolated ? true : nil)
    }
}

/// A node's enrollment (a row of `enrollment`): what it asked with and what was decided.
/// `credentialHash` is the broker's hash of the password the agent chose (never the
/// password itself).
package struct EnrollmentRecord: Codable, Sendable, Equatable {
    package var node: String
    package var state: EnrollmentState
    package var labels: [String: String]
    package var credentialHash: String
    package var requestedAt: Double
    package var decidedAt: Double?

    package init(node: String, state: EnrollmentState, labels: [String: String], credentialHash: String,
                 requestedAt: Double, decidedAt: Double? = nil) {
        self.node = node
        self.state = state
        self.labels = labels
        self.credentialHash = credentialHash
        self.requestedAt = requestedAt
        self.decidedAt = decidedAt
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
    /// An incident-response job (see `SubmitJobRequest.incident`).
    package var incident: Bool = false
    /// The operator's signature, published with every sending of the job (a re-send too).
    package var signature: OperatorSignature?

    package init(id: String, selector: String, task: JobTask, timeout: Double, deadline: Double, createdAt: Double,
                 expected: Int, finishedAt: Double?, incident: Bool = false, signature: OperatorSignature? = nil) {
        self.signature = signature
        self.id = id
        self.selector = selector
        self.task = task
        self.timeout = timeout
        self.deadline = deadline
        self.createdAt = createdAt
        self.expected = expected
        self.finishedAt = finishedAt
        self.incident = incident
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

/// One action for the audit record (a row of `audit`, which numbers it).
package struct AuditRecord: Sendable, Equatable {
    package var at: Double
    package var actor: String?
    package var action: AuditAction
    package var target: String
    package var detail: String?

    package init(at: Double, actor: String?, action: AuditAction, target: String, detail: String? = nil) {
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.detail = detail.map { Bounds.prefix($0, maxBytes: Limits.auditDetailBytes).text }
    }
}

/// An operator asked for a job to stop on a node (a row of `cancellation`): the node is
/// told again (instead of being sent the job) until it answers.
package struct CancellationRecord: Sendable, Equatable {
    package var job: String
    package var node: String
    package var at: Double

    package init(job: String, node: String, at: Double) {
        self.job = job
        self.node = node
        self.at = at
    }
}
