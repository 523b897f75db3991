/// The rollout operations: `jobs.pause` / `jobs.resume` hold and release a rollout's next
/// batch; `jobs.plan` shows what a submission would do (`shoal run --dry-run`).

/// `jobs.pause`, `jobs.resume`: the job's rollout stops releasing batches (what runs
/// finishes), or goes on.
public struct RolloutControlRequest: Sendable, Codable, Equatable {
    public var id: String
    /// Who asks, for the audit record (self-declared).
    public var actor: String?

    public init(id: String, actor: String? = nil) {
        self.id = id
        self.actor = actor
    }

    public func validate() throws(BoundsError) {
        guard JobID.isValid(id) else {
            throw BoundsError(field: "id", "'\(Bounds.prefix(id, maxBytes: 80).text)' is not a job id: 1-64 letters, digits, '-', '_' or '.'")
        }
        try Bounds.checkActor(actor)
    }
}

/// A job's rollout as `jobs.get`, `jobs.list`, `jobs.pause` and `jobs.resume` show it.
public struct RolloutView: Sendable, Codable, Equatable {
    public var plan: RolloutPlan
    /// Nodes in each batch, in order (the canary first when there is one).
    public var batchSizes: [Int]
    /// Batches sent out so far.
    public var released: Int
    public var paused: Bool
    /// Set when the rollout stopped early: nodes not reached ended `skipped`; the job is aborted.
    public var abortReason: String?

    public init(plan: RolloutPlan, batchSizes: [Int], released: Int, paused: Bool, abortReason: String?) {
        self.plan = plan
        self.batchSizes = batchSizes
        self.released = released
        self.paused = paused
        self.abortReason = abortReason
    }

    public init(_ rollout: Rollout) {
        self.init(plan: rollout.plan, batchSizes: rollout.batches.map(\.count), released: rollout.released,
                  paused: rollout.paused, abortReason: rollout.abortReason)
    }
}

/// `jobs.plan`'s reply: the nodes a submission would expect now, and the batches it would
/// release them in (one batch, every node, without a rollout). Nothing is run or stored.
public struct JobPlanView: Sendable, Codable, Equatable {
    public var selector: String
    public var task: JobTask
    public var expected: Int
    /// Node ids per batch, in release order; nodes are ordered by id.
    public var batches: [[String]]
    public var rollout: RolloutPlan?
    /// Expected nodes that are offline now (they run their batch when they come back, until the deadline).
    public var offline: [String]

    public init(selector: String, task: JobTask, expected: Int, batches: [[String]], rollout: RolloutPlan?, offline: [String]) {
        self.selector = selector
        self.task = task
        self.expected = expected
        self.batches = batches
        self.rollout = rollout
        self.offline = offline
    }
}
