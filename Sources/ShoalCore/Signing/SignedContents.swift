/// What an operator's signature on a job covers: what runs (`task`, `timeout`), where
/// (`selector`, and whether it is an incident job, which reaches quarantined nodes), and
/// under which id. Not covered, because the dispatcher computes them: `nodes`, `deadline`,
/// `createdAt`.
///
/// Canonical fields, in order (`CanonicalForm`): `id`, `selector` (its text exactly as
/// published), `task` (`exec` then `argc` and one `arg` per argument, or `shell` then
/// `script`), `timeout`, `incident` (`true`, or `-`).
public struct JobSigningContent: SignableContent, Sendable, Equatable {
    public static let signedKind = "job"
    public var id: String
    public var selector: String
    public var task: JobTask
    public var timeout: Double
    /// An incident job reaches quarantined nodes: signed, so that no relay can turn an
    /// ordinary job into one.
    public var incident: Bool

    public init(id: String, selector: String, task: JobTask, timeout: Double, incident: Bool = false) {
        self.id = id
        self.selector = selector
        self.task = task
        self.timeout = timeout
        self.incident = incident
    }

    public func writeSignedFields(into form: inout CanonicalForm) {
        form.field("id", id)
        form.field("selector", selector)
        switch task {
        case .exec(let argv):
            form.field("task", "exec")
            form.field("argc", count: argv.count)
            for argument in argv { form.field("arg", argument) }
        case .shell(let script):
            form.field("task", "shell")
            form.field("script", script)
        }
        form.field("timeout", timeout)
        form.field("incident", incident ? "true" : nil)
    }

    /// A job's id: a redelivery of it is the ledger's business; another id under the same
    /// nonce is a replay.
    public var replaySubject: String { "job " + id }
}

extension JobMessage {
    public var signingContent: JobSigningContent {
        JobSigningContent(id: id, selector: selector.text, task: task, timeout: timeout, incident: incident == true)
    }
}

extension SubmitJobRequest {
    /// What `shoal run` signs; the dispatcher publishes exactly these values, so an agent
    /// rebuilds the same content from the job message. Nil without an id (a signed job
    /// names itself: the dispatcher could not choose one).
    public var signingContent: JobSigningContent? {
        id.map { JobSigningContent(id: $0, selector: selector, task: task, timeout: timeout, incident: incident) }
    }
}

/// What a signature on a control message covers: the operation, the job it is about, the
/// node it is for (absent: any node; so a `quarantine` for one node cannot be replayed on
/// another's topic) and the operation's own arguments, in a fixed order.
///
/// Canonical fields: `op`, `job` (or `-`), `node` (or `-`), `argc`, then `arg` each.
public struct ControlSigningContent: SignableContent, Sendable, Equatable {
    public static let signedKind = "control"
    public var op: String
    public var job: String?
    public var node: String?
    /// Operation-specific values (labels to set, ...), in the order the operation defines.
    public var arguments: [String]

    public init(op: String, job: String? = nil, node: String? = nil, arguments: [String] = []) {
        self.op = op
        self.job = job
        self.node = node
        self.arguments = arguments
    }

    public func writeSignedFields(into form: inout CanonicalForm) {
        form.field("op", op)
        form.field("job", job)
        form.field("node", node)
        form.field("argc", count: arguments.count)
        for argument in arguments { form.field("arg", argument) }
    }

    public var replaySubject: String {
        var form = CanonicalForm(kind: Self.signedKind)
        writeSignedFields(into: &form)
        return String(decoding: form.bytes, as: UTF8.self)
    }
}

extension ControlMessage {
    public var signingContent: ControlSigningContent {
        ControlSigningContent(op: op.rawValue, job: job, node: node,
                              arguments: Self.labelArguments(set: set, remove: remove))
    }

    /// A `labels` operation's changes in their signed order: `key=value` for each label set,
    /// by key, then `key-` for each removed, by key.
    public static func labelArguments(set: [String: String]?, remove: [String]?) -> [String] {
        (set ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + (remove ?? []).sorted().map { $0 + "-" }
    }
}

extension CancelJobRequest {
    /// What the nodes are sent: `cancel` of this job, for `node` or for any node.
    public var signingContent: ControlSigningContent { ControlSigningContent(op: "cancel", job: id, node: node) }
}

extension NodeStateRequest {
    /// What the node is sent for `quarantine` or `release`.
    public func signingContent(of operation: ControlMessage.Operation) -> ControlSigningContent {
        ControlSigningContent(op: operation.rawValue, node: node)
    }
}

extension LabelNodeRequest {
    public var signingContent: ControlSigningContent {
        ControlSigningContent(op: ControlMessage.Operation.labels.rawValue, node: node,
                              arguments: ControlMessage.labelArguments(set: set, remove: remove))
    }
}
