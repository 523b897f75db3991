/// A job as delivered to agents on `cell/.../job` or `node/{id}/job`.
///
/// `nodes` lists the expected nodes this publication is for: a node not listed ignores
/// the job silently (it was not expected), a listed node whose labels no longer match the
/// selector reports `rejected`. Shaped to carry a signature later (`signature` covers every
/// other field).
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
    public var signature: String?

    public init(id: String, selector: Selector, task: JobTask, timeout: Double, deadline: Double,
                nodes: [String], createdAt: Double, signature: String? = nil) {
        self.id = id
        self.selector = selector
        self.task = task
        self.timeout = timeout
        self.deadline = deadline
        self.nodes = nodes
        self.createdAt = createdAt
        self.signature = signature
    }
}

/// `node/{id}/ctl`: a control message for one agent.
public struct ControlMessage: Sendable, Codable, Equatable {
    public enum Operation: String, Sendable, Codable { case cancel, rebirth }
    public var v: Int = Wire.version
    public var op: Operation
    public var job: String?

    public init(op: Operation, job: String? = nil) {
        self.op = op
        self.job = job
    }
}
