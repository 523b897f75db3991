/// An automated mitigation: when `trigger` holds for a node that `scope` selects, run `task`
/// on that node (or on the nodes `target` selects), at most once per `cooldown` per node and
/// with at most `maxConcurrent` of the rule's jobs open at once. A `dryRun` rule only records
/// that it would have fired.
///
/// Rules come from a YAML file the dispatcher loads (`--rules`) and from the API
/// (`rules.add`); either way they are checked here, once, where they enter.
public struct MitigationRule: Sendable, Codable, Equatable {
    public enum Trigger: String, Sendable, Codable, CaseIterable {
        /// The node stopped: its death, or the silence rule.
        case nodeOffline = "node-offline"
        /// A job ended `failed` or `timed_out` on the node (jobs started by rules excepted,
        /// so a failing mitigation cannot trigger itself).
        case jobFailed = "job-failed"
    }

    public var name: String
    public var on: Trigger
    /// Which nodes the rule watches, a selector; empty: every node.
    public var scope: String
    public var task: JobTask
    /// Where the mitigation runs: nil, the node where the trigger held; else a selector
    /// (e.g. the load balancers, to take the node out of rotation).
    public var target: String?
    /// The mitigation job's time limit per node, in seconds.
    public var timeout: Double
    /// Seconds after a firing for a node during which the rule does not fire for it again.
    public var cooldown: Double
    /// The most jobs of this rule that may be unfinished at once; a firing past it is
    /// recorded as held back and runs nothing.
    public var maxConcurrent: Int
    public var dryRun: Bool

    public init(name: String, on: Trigger, scope: String = "", task: JobTask, target: String? = nil,
                timeout: Double = 60, cooldown: Double = 300, maxConcurrent: Int = 1, dryRun: Bool = false) {
        self.name = name
        self.on = on
        self.scope = scope
        self.task = task
        self.target = target
        self.timeout = timeout
        self.cooldown = cooldown
        self.maxConcurrent = maxConcurrent
        self.dryRun = dryRun
    }

    /// Most rules a dispatcher keeps; each one is looked at for every node event.
    public static let maximumCount = 1_000
    public static let cooldownRange: ClosedRange<Double> = 0...(30 * 86_400)
    public static let maxConcurrentRange: ClosedRange<Int> = 1...1_000

    /// Names are ids in the CLI and the API: the job-id alphabet, at most 64 bytes.
    public func validate() throws(BoundsError) {
        if !JobID.isValid(name) {
            throw BoundsError(field: "name", "'\(Bounds.prefix(name, maxBytes: 80).text)' is not a rule name: 1-64 letters, digits, '-', '_' or '.'")
        }
        try Self.checkSelector(scope, "scope")
        if let target { try Self.checkSelector(target, "target") }
        try task.validate()
        try Bounds.check(timeout, "timeout", in: Limits.timeout, unit: " seconds")
        try Bounds.check(cooldown, "cooldown", in: Self.cooldownRange, unit: " seconds")
        try Bounds.check(maxConcurrent, "maxConcurrent", in: Self.maxConcurrentRange)
    }

    private static func checkSelector(_ text: String, _ field: String) throws(BoundsError) {
        try Bounds.check(text, field, maxBytes: Limits.selectorBytes)
        do {
            _ = try Selector(parsing: text)
        } catch {
            throw BoundsError(field: field, "not a selector: \(error.description)")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case name, on, scope, task, target, timeout, cooldown, maxConcurrent, dryRun
    }

    /// Every field but `name`, `on` and `task` may be left out (the defaults of `init`).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        on = try container.decode(Trigger.self, forKey: .on)
        scope = try container.decodeIfPresent(String.self, forKey: .scope) ?? ""
        task = try container.decode(JobTask.self, forKey: .task)
        target = try container.decodeIfPresent(String.self, forKey: .target)
        timeout = try container.decodeIfPresent(Double.self, forKey: .timeout) ?? 60
        cooldown = try container.decodeIfPresent(Double.self, forKey: .cooldown) ?? 300
        maxConcurrent = try container.decodeIfPresent(Int.self, forKey: .maxConcurrent) ?? 1
        dryRun = try container.decodeIfPresent(Bool.self, forKey: .dryRun) ?? false
    }
}

/// One time a rule held for a node, with what came of it.
public struct RuleFiring: Sendable, Codable, Equatable {
    public enum Outcome: String, Sendable, Codable {
        /// A job was submitted (`job`).
        case submitted
        /// The rule is a dry run: nothing ran.
        case dryRun = "dry-run"
        /// The rule's concurrency cap was reached: nothing ran.
        case heldBack = "held-back"
    }

    public var rule: String
    public var node: String
    /// What happened, for a person: "node-01 went offline (death)", "job … failed on node-01".
    public var cause: String
    public var at: Double
    public var outcome: Outcome
    public var job: String?

    public init(rule: String, node: String, cause: String, at: Double, outcome: Outcome, job: String? = nil) {
        self.rule = rule
        self.node = node
        self.cause = cause
        self.at = at
        self.outcome = outcome
        self.job = job
    }
}
