/// Requests of the incident-response operations: cancel a job, change a node's state or
/// labels, read the audit record. Every request that changes something may name its
/// `actor` (who asks), which the audit record keeps. The actor is self-declared until
/// requests are signed: it says who a client claims to be, not who it is.

/// What operators decided for a node. Only `active` nodes are planned for ordinary jobs.
public enum NodeAdminState: String, Sendable, Codable, CaseIterable {
    /// Takes new work.
    case active
    /// Takes no new work; what runs finishes.
    case cordoned
    /// Isolated by its agent's isolation action and left out of every selector; only
    /// incident jobs reach it.
    case quarantined
}

/// `jobs.cancel`: stop a job on every node (or one), and never start it where it has not started.
public struct CancelJobRequest: Sendable, Codable, Equatable {
    public var id: String
    /// Only this node's execution; every node's when absent.
    public var node: String?
    public var actor: String?
    /// An operator's signature over the cancel (`signingContent`), passed to the nodes.
    public var signature: OperatorSignature?

    public init(id: String, node: String? = nil, actor: String? = nil, signature: OperatorSignature? = nil) {
        self.id = id
        self.node = node
        self.actor = actor
        self.signature = signature
    }
}

/// What `jobs.cancel` did, by number of executions.
public struct CancelJobResult: Sendable, Codable, Equatable {
    public var job: String
    /// The job had finished before the request: nothing changed.
    public var alreadyFinished: Bool
    /// Executions that had started (or whose node is online and may have started): their
    /// nodes are told to stop; each ends `canceled` when its node confirms.
    public var stopping: Int
    /// Executions ended `canceled` at once: their node is offline and never acknowledged
    /// the job; it is told not to start it when it returns.
    public var canceled: Int
    /// Executions already in a terminal state, left as they were.
    public var unchanged: Int

    public init(job: String, alreadyFinished: Bool, stopping: Int, canceled: Int, unchanged: Int) {
        self.job = job
        self.alreadyFinished = alreadyFinished
        self.stopping = stopping
        self.canceled = canceled
        self.unchanged = unchanged
    }
}

/// `nodes.cordon`, `nodes.uncordon`, `nodes.quarantine`, `nodes.release`.
public struct NodeStateRequest: Sendable, Codable, Equatable {
    public var node: String
    public var actor: String?
    /// `quarantine` and `release`: an operator's signature over the operation
    /// (`signingContent(of:)`), passed to the node. Cordons stay in the dispatcher.
    public var signature: OperatorSignature?

    public init(node: String, actor: String? = nil, signature: OperatorSignature? = nil) {
        self.node = node
        self.actor = actor
        self.signature = signature
    }
}

/// `nodes.label`: labels to set and label keys to remove, applied by the node's agent.
public struct LabelNodeRequest: Sendable, Codable, Equatable {
    public var node: String
    public var set: [String: String]
    public var remove: [String]
    public var actor: String?
    /// An operator's signature over the change (`signingContent`), passed to the node.
    public var signature: OperatorSignature?

    public init(node: String, set: [String: String] = [:], remove: [String] = [], actor: String? = nil,
                signature: OperatorSignature? = nil) {
        self.node = node
        self.set = set
        self.remove = remove
        self.actor = actor
        self.signature = signature
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(node: try container.decode(String.self, forKey: .node),
                  set: try container.decodeIfPresent([String: String].self, forKey: .set) ?? [:],
                  remove: try container.decodeIfPresent([String].self, forKey: .remove) ?? [],
                  actor: try container.decodeIfPresent(String.self, forKey: .actor),
                  signature: try container.decodeIfPresent(OperatorSignature.self, forKey: .signature))
    }
}

/// `audit.list`: the most recent entries at or after `since`, oldest first.
public struct ListAuditRequest: Sendable, Codable, Equatable {
    /// UNIX seconds; from the beginning when absent.
    public var since: Double?
    public var limit: Int

    public init(since: Double? = nil, limit: Int = 100) {
        self.since = since
        self.limit = limit
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(since: try container.decodeIfPresent(Double.self, forKey: .since),
                  limit: try container.decodeIfPresent(Int.self, forKey: .limit) ?? 100)
    }
}

/// What the audit record keeps of one action. Adding an action is one case here.
public enum AuditAction: String, Sendable, Codable, CaseIterable {
    case submit, cancel, cordon, uncordon, quarantine, release, label, forget
    case addRule = "rule-add", removeRule = "rule-remove"
    case approve, reject
    case pause, resume
}

/// One entry of the append-only audit record.
public struct AuditEntry: Sendable, Codable, Equatable {
    /// Order of recording, from 1.
    public var seq: Int64
    public var at: Double
    /// Who asked, as the request said (absent when it did not).
    public var actor: String?
    /// An `AuditAction` (a string, so that entries of newer actions still read).
    public var action: String
    /// The job id or node id acted on.
    public var target: String
    /// What was asked, briefly (a task, a node, labels); at most `Limits.auditDetailBytes`.
    public var detail: String?

    public init(seq: Int64, at: Double, actor: String?, action: String, target: String, detail: String?) {
        self.seq = seq
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.detail = detail
    }
}

extension Bounds {
    /// A request's `actor`: printable text (no control characters, which would forge
    /// lines in a terminal or a CSV), at most `Limits.actorBytes`.
    public static func checkActor(_ actor: String?) throws(BoundsError) {
        guard let actor else { return }
        try check(actor, "actor", maxBytes: Limits.actorBytes)
        if actor.isEmpty { throw BoundsError(field: "actor", "is empty; leave it out instead") }
        if actor.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw BoundsError(field: "actor", "contains a control character")
        }
    }
}

extension CancelJobRequest {
    public func validate() throws(BoundsError) {
        if !JobID.isValid(id) { throw BoundsError(field: "id", "'\(Bounds.prefix(id, maxBytes: 80).text)' is not a job id") }
        if let node, !TopicTree.isValidLevel(node) || node.utf8.count > Limits.labelBytes {
            throw BoundsError(field: "node", "'\(Bounds.prefix(node, maxBytes: 80).text)' is not a node id")
        }
        try Bounds.checkActor(actor)
        try signature?.validate()
    }
}

extension NodeStateRequest {
    public func validate() throws(BoundsError) {
        if !TopicTree.isValidLevel(node) || node.utf8.count > Limits.labelBytes {
            throw BoundsError(field: "node", "'\(Bounds.prefix(node, maxBytes: 80).text)' is not a node id")
        }
        try Bounds.checkActor(actor)
        try signature?.validate()
    }
}

extension LabelNodeRequest {
    public func validate() throws(BoundsError) {
        try NodeStateRequest(node: node, actor: actor, signature: signature).validate()
        if set.isEmpty && remove.isEmpty { throw BoundsError(field: "set", "nothing to change: give set or remove") }
        try Bounds.checkLabels(set, "set")
        try Bounds.check(remove.count, "remove count", in: 0...Limits.labelCount)
        for (index, key) in remove.enumerated() {
            try Bounds.check(key, "remove[\(index)]", maxBytes: Limits.labelBytes)
        }
        for key in set.keys where key.isEmpty { throw BoundsError(field: "set", "a label key is empty") }
        for key in remove where set[key] != nil { throw BoundsError(field: "remove", "'\(key)' is also in set") }
    }
}

extension ListAuditRequest {
    public func validate() throws(BoundsError) {
        if let since { try Bounds.check(since, "since", in: 0...Limits.timestamp.upperBound, unit: " (UNIX seconds)") }
        try Bounds.check(limit, "limit", in: Limits.listLimit)
    }
}
