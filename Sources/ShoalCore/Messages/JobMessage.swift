/// A job as delivered to agents on `cell/.../job` or `node/{id}/job`.
///
/// `nodes` lists the expected nodes this publication is for: a node not listed ignores
/// the job silently (it was not expected), a listed node whose labels no longer match the
/// selector reports `rejected`. On the wire it is one `PackedNodeList` string; a plain
/// JSON array of ids is accepted too (for integrations that write jobs by hand).
///
/// `signature`, when present, is an operator's over `signingContent` (id, selector, task,
/// timeout): the dispatcher passes it through untouched, agents that trust keys verify it
/// (docs/security.md, "Signed jobs").
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
    public var signature: OperatorSignature?

    public init(id: String, selector: Selector, task: JobTask, timeout: Double, deadline: Double,
                nodes: [String], createdAt: Double, signature: OperatorSignature? = nil) {
        self.id = id
        self.selector = selector
        self.task = task
        self.timeout = timeout
        self.deadline = deadline
        self.nodes = nodes
        self.createdAt = createdAt
        self.signature = signature
    }

    private enum CodingKeys: String, CodingKey {
        case v, id, selector, task, timeout, deadline, nodes, createdAt, signature
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        v = try container.decode(Int.self, forKey: .v)
        id = try container.decode(String.self, forKey: .id)
        selector = try container.decode(Selector.self, forKey: .selector)
        task = try container.decode(JobTask.self, forKey: .task)
        timeout = try container.decode(Double.self, forKey: .timeout)
        deadline = try container.decode(Double.self, forKey: .deadline)
        if let packed = try? container.decode(String.self, forKey: .nodes) {
            do {
                nodes = try PackedNodeList.unpack(packed)
            } catch {
                throw DecodingError.dataCorruptedError(forKey: .nodes, in: container, debugDescription: error.description)
            }
        } else {
            nodes = try container.decode([String].self, forKey: .nodes)
        }
        createdAt = try container.decode(Double.self, forKey: .createdAt)
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
        try container.encode(PackedNodeList.pack(nodes), forKey: .nodes)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encodeIfPresent(signature, forKey: .signature)
    }
}

/// `node/{id}/ctl`: a control message for one agent.
///
/// Signed like a job (`signature` over `signingContent`: op, job, node), and an agent that
/// enforces signatures refuses an unsigned one, except the operations that need no operator
/// (`Operation.requiresSignature`).
public struct ControlMessage: Sendable, Codable, Equatable {
    public enum Operation: String, Sendable, Codable {
        case cancel, rebirth

        /// `rebirth` is the dispatcher asking an agent to announce itself again: it changes
        /// nothing on the node and its replay does no harm, and the dispatcher holds no
        /// operator key. Every other operation acts on the node for an operator.
        public var requiresSignature: Bool { self != .rebirth }
    }
    public var v: Int = Wire.version
    public var op: Operation
    public var job: String?
    /// The node it is for, when signed for one node (absent: any node).
    public var node: String?
    public var signature: OperatorSignature?

    public init(op: Operation, job: String? = nil, node: String? = nil, signature: OperatorSignature? = nil) {
        self.op = op
        self.job = job
        self.node = node
        self.signature = signature
    }
}
