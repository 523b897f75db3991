public struct SubmitJobRequest: Sendable, Codable, Equatable {
    /// Client-chosen id (lets a client subscribe to the job's events before submitting,
    /// and makes a retried submit idempotent). The dispatcher makes one when absent.
    public var id: String?
    public var selector: String
    /// Required, and must be true, when `selector` is empty: running on every node is
    /// never an accident.
    public var all: Bool
    public var task: JobTask
    public var timeout: Double
    /// Seconds from submission until nodes that have not acknowledged become `unreachable`.
    public var deadlineIn: Double
    /// Reply with the job and only the executions of nodes that are offline now, instead
    /// of every execution (10,000 rows for a 10,000-node job); follow the job's events for
    /// the rest.
    public var summary: Bool
    /// An incident-response job: quarantined (and cordoned) nodes that match are expected
    /// too, and a quarantined node runs nothing else.
    public var incident: Bool
    /// Who submits it, for the audit record (self-declared; the signer, when signed).
    public var actor: String?
    /// An operator's signature over `signingContent` (id, selector, task, timeout,
    /// incident); the dispatcher publishes it with the job unchanged, and agents that trust
    /// keys verify it. A signed job must carry its `id`.
    public var signature: OperatorSignature?
    /// Roll the job out in batches (canary, wait, failure threshold; see docs/rollouts.md)
    /// instead of sending it to every node at once.
    public var rollout: RolloutPlan?
    /// A command run on each node after the task (`/bin/sh -c`): the node fails when it
    /// fails, and its output is kept with the task's. Unsigned jobs only: a signed job's
    /// check is part of its signed task (`shoal run --health` joins them before signing).
    public var health: String?

    public init(id: String? = nil, selector: String, all: Bool = false, task: JobTask,
                timeout: Double = 60, deadlineIn: Double = 600, summary: Bool = false,
                incident: Bool = false, actor: String? = nil, signature: OperatorSignature? = nil,
                rollout: RolloutPlan? = nil, health: String? = nil) {
        self.signature = signature
        self.id = id
        self.selector = selector
        self.all = all
        self.task = task
        self.timeout = timeout
        self.deadlineIn = deadlineIn
        self.summary = summary
        self.incident = incident
        self.actor = actor
        self.rollout = rollout
        self.health = health
    }

    /// Integrations may leave out what has a default: `all` (false), `timeout` (60 s),
    /// `deadlineIn` (600 s), `summary` (false), `incident` (false), `actor`, `signature`,
    /// `rollout` and `health` (none).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try container.decodeIfPresent(String.self, forKey: .id),
            selector: try container.decodeIfPresent(String.self, forKey: .selector) ?? "",
            all: try container.decodeIfPresent(Bool.self, forKey: .all) ?? false,
            task: try container.decode(JobTask.self, forKey: .task),
            timeout: try container.decodeIfPresent(Double.self, forKey: .timeout) ?? 60,
            deadlineIn: try container.decodeIfPresent(Double.self, forKey: .deadlineIn) ?? 600,
            summary: try container.decodeIfPresent(Bool.self, forKey: .summary) ?? false,
            incident: try container.decodeIfPresent(Bool.self, forKey: .incident) ?? false,
            actor: try container.decodeIfPresent(String.self, forKey: .actor),
            signature: try container.decodeIfPresent(OperatorSignature.self, forKey: .signature),
            rollout: try container.decodeIfPresent(RolloutPlan.self, forKey: .rollout),
            health: try container.decodeIfPresent(String.self, forKey: .health))
    }

    /// What each node runs: the task, followed by the health check when there is one.
    public var taskToRun: JobTask {
        health.map { task.followed(byHealthCheck: $0) } ?? task
    }
}

public struct GetJobRequest: Sendable, Codable, Equatable {
    public var id: String
    public var withOutput: Bool
    public init(id: String, withOutput: Bool = true) {
        self.id = id
        self.withOutput = withOutput
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try container.decode(String.self, forKey: .id),
                  withOutput: try container.decodeIfPresent(Bool.self, forKey: .withOutput) ?? true)
    }
}

public struct ListJobsRequest: Sendable, Codable, Equatable {
    public var limit: Int
    public init(limit: Int = 50) { self.limit = limit }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(limit: try container.decodeIfPresent(Int.self, forKey: .limit) ?? 50)
    }
}

public struct JobOutputRequest: Sendable, Codable, Equatable {
    public var id: String
    /// Only this node's output; all nodes' when absent.
    public var node: String?
    /// The `next` of the previous page; from the start when absent.
    public var after: OutputCursor?
    /// Bytes of output per page (as JSON), `1...Limits.outputPageBytes`; default the maximum.
    public var maxBytes: Int

    public init(id: String, node: String? = nil, after: OutputCursor? = nil, maxBytes: Int = Limits.outputPageBytes) {
        self.id = id
        self.node = node
        self.after = after
        self.maxBytes = maxBytes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(id: try container.decode(String.self, forKey: .id),
                  node: try container.decodeIfPresent(String.self, forKey: .node),
                  after: try container.decodeIfPresent(OutputCursor.self, forKey: .after),
                  maxBytes: try container.decodeIfPresent(Int.self, forKey: .maxBytes) ?? Limits.outputPageBytes)
    }
}

/// Removes an offline node from the registry for good: its open executions end `skipped`
/// and later jobs no longer expect it.
public struct ForgetNodeRequest: Sendable, Codable, Equatable {
    public var node: String
    public var actor: String?
    public init(node: String, actor: String? = nil) {
        self.node = node
        self.actor = actor
    }
}

/// Decides a pending enrollment: `nodes.approve` gives the node the credentials it asked
/// for, `nodes.reject` refuses it for good (and removes its credentials if it had any).
public struct EnrollmentDecisionRequest: Sendable, Codable, Equatable {
    public var node: String
    /// Who decides, for the audit record (self-declared).
    public var actor: String?
    public init(node: String, actor: String? = nil) {
        self.node = node
        self.actor = actor
    }
}

public struct ListNodesRequest: Sendable, Codable, Equatable {
    public var selector: String
    public init(selector: String = "") { self.selector = selector }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(selector: try container.decodeIfPresent(String.self, forKey: .selector) ?? "")
    }
}
