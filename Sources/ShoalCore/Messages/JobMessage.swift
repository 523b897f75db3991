/// A job as delivered to agents on `cell/.../job` or `node/{id}/job`.
///
/// `nodes` lists the expected nodes this publication is for: a node not listed ignores
/// the job silently (it was not expected), a listed node whose labels no longer match the
/// selector reports `rejected`. On the wire it is a JSON array of ids.
///
/// `signature`, when present, is an operator's over `signingContent` (id, selector, task,
/// timeout, incident): the dispatcher passes it through untouched, agents that trust keys
/// verify it (docs/security.md, "Signed jobs").
public struct JobMessage: Sendable, Codable, Equatable {
    public var v: Int = Wire.version
    public var id: String
    public var selector: Selector
    public var task: JobTask
    /// Per-node run time limit in seconds; the whole process group is killed past it.
    public var timeout: Double
    /// Absolute UNIX time after which a node that has not started must not start.
    public var deadline: Double
    public var nodes: [String]
    public var createdAt: Double
    /// An incident-response job: the only kind a quarantined node runs. Absent means false.
    public var incident: Bool?
    public var signature: OperatorSignature?

    public init(id: String, selector: Selector, task: JobTask, timeout: Double, deadline: Double,
                nodes: [String], createdAt: Double, incident: Bool? = nil, signature: OperatorSignature? = nil) {
        self.id = id
        self.selector = selector
        self.task = task
        self.timeout = timeout
        self.deadline = deadline
        self.nodes = nodes
        self.createdAt = createdAt
        self.incident = incident
        self.signature = signature
    }

    private enum CodingKeys: String, CodingKey {
        case v, id, selector, task, timeout, deadline, nodes, createdAt, incident, signature
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        v = try container.decode(Int.self, forKey: .v)
        id = try container.decode(String.self, forKey: .id)
        selector = try container.decode(Selector.self, forKey: .selector)
        task = try container.decode(JobTask.self, forKey: .task)
        timeout = try container.decode(Double.self, forKey: .timeout)
        deadline = try container.decode(Double.self, forKey: .deadline)
        nodes = try container.decode([String].self, forKey: .nodes)
        createdAt = try container.decode(Double.self, forKey: .createdAt)
        incident = try container.decodeIfPresent(Bool.self, forKey: .incident)
        signature = try container.decodeIfPresent(OperatorSignature.self, forKey: .signature)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(v, forKey: .v)
        try container.encode(id, forKey: .id)
        try container.encode(selector, forKey: .selector)
        try container.encode(task, forKey: .task)
        try container.encode(timeout, forKey: .timeout)
        try container.encode(deadline, forKey: .deadline)
        try container.encode(nodes, forKey: .nodes)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encodeIfPresent(incident, forKey: .incident)
        try container.encodeIfPresent(signature, forKey: .signature)
    }
}

/// `node/{id}/ctl`: a control message for one agent.
///
/// - `cancel` (`job`): stop the job if it runs; never start it if it has not.
/// - `rebirth`: publish the birth again.
/// - `quarantine` / `release`: run the node's isolation (or release) action; while
///   quarantined the node runs only `incident` jobs.
/// - `labels` (`set`, `remove`): change the node's labels, then publish the birth again.
///
/// Signed like a job (`signature` over `signingContent`: op, job, node, label changes), and
/// an agent that enforces signatures refuses an unsigned one, except the operations that
/// need no operator (`Operation.requiresSignature`).
public struct ControlMessage: Sendable, Codable, Equatable {
    public enum Operation: String, Sendable, Codable {
        case cancel, rebirth, quarantine, release, labels

        /// `rebirth` is the dispatcher asking an agent to announce itself again: it changes
        /// nothing on the node and its replay does no harm, and the dispatcher holds no
        /// operator key. Every other operation acts on the node for an operator.
        public var requiresSignature: Bool { self != .rebirth }
    }
    public var v: Int = Wire.version
    public var op: Operation
    public var job: String?
    /// `labels`: labels to add or change.
    public var set: [String: String]?
    /// `labels`: label keys to remove.
    public var remove: [String]?
    /// The node it is for, when signed for one node (absent: any node).
    public var node: String?
    public var signature: OperatorSignature?

    public init(op: Operation, job: String? = nil, set: [String: String]? = nil, remove: [String]? = nil,
                node: String? = nil, signature: OperatorSignature? = nil) {
        self.op = op
        self.job = job
        self.set = set
        self.remove = remove
        self.node = node
        self.signature = signature
    }
}
