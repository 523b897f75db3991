import ShoalCore

/// The mitigation rules and when each last fired for each node: decides which rules fire
/// for an event, honouring cooldowns and concurrency caps. Pure; the engine owns it and
/// the time comes from the engine's clock.
package struct RuleBook: Sendable {
    /// By name.
    package private(set) var rules: [String: MitigationRule] = [:]
    /// Parsed once per rule, not per event.
    private var scopes: [String: Selector] = [:]
    /// When each rule last fired (or was held back) for each node: the cooldown's start.
    private var lastFired: [RuleNode: Double] = [:]

    private struct RuleNode: Hashable, Sendable {
        var rule: String
        var node: String
    }

    package init(rules: [MitigationRule] = [], history: [RuleFiring] = []) {
        for rule in rules { try? add(rule) }
        for firing in history { remember(firing) }
    }

    /// Adds or replaces a rule (checked first).
    package mutating func add(_ rule: MitigationRule) throws {
        try rule.validate()
        if rules[rule.name] == nil && rules.count >= MitigationRule.maximumCount {
            throw EngineError("at most \(MitigationRule.maximumCount) rules; remove one first")
        }
        rules[rule.name] = rule
        scopes[rule.name] = try Selector(parsing: rule.scope)
    }

    /// Removes a rule; false when there was none of that name.
    package mutating func remove(_ name: String) -> Bool {
        scopes[name] = nil
        return rules.removeValue(forKey: name) != nil
    }

    /// A firing from the store, at start: its cooldown still holds.
    package mutating func remember(_ firing: RuleFiring) {
        let key = RuleNode(rule: firing.rule, node: firing.node)
        lastFired[key] = max(lastFired[key] ?? -.infinity, firing.at)
    }

    /// The rules that fire for `trigger` on `node` now. `openJobs(rule)` says how many of a
    /// rule's jobs are unfinished (the engine knows). Each firing is remembered for the
    /// cooldown; the caller submits the jobs of `.submitted` firings under their `job` ids.
    package mutating func fire(
        _ trigger: MitigationRule.Trigger, node: String, labels: [String: String], cause: String, at time: Double,
        openJobs: (String) -> Int, makeJobID: () -> String
    ) -> [RuleFiring] {
        var firings: [RuleFiring] = []
        for rule in rules.values.sorted(by: { $0.name < $1.name }) where rule.on == trigger {
            guard scopes[rule.name]?.matches(labels) ?? false else { continue }
            let key = RuleNode(rule: rule.name, node: node)
            if let last = lastFired[key], time - last < rule.cooldown { continue }
            lastFired[key] = time
            let outcome: RuleFiring.Outcome
            if rule.dryRun {
                outcome = .dryRun
            } else if openJobs(rule.name) >= rule.maxConcurrent {
                outcome = .heldBack
            } else {
                outcome = .submitted
            }
            firings.append(RuleFiring(rule: rule.name, node: node, cause: cause, at: time, outcome: outcome,
                                      job: outcome == .submitted ? makeJobID() : nil))
        }
        return firings
    }

    /// The job a firing runs: on the node itself, or on the rule's target.
    package func request(for firing: RuleFiring) -> SubmitJobRequest? {
        guard let rule = rules[firing.rule], let job = firing.job else { return nil }
        return SubmitJobRequest(id: job, selector: rule.target ?? Self.selecting(node: firing.node), task: rule.task,
                                timeout: rule.timeout, deadlineIn: max(rule.timeout, 3_600))
    }

    /// A selector for exactly one node, by the `name` label every agent reports: quoted,
    /// because a node id may hold characters the selector grammar gives a meaning.
    static func selecting(node: String) -> String {
        var quoted = "name=\""
        for character in node {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }
}
