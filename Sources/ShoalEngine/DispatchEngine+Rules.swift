import ShoalCore

/// Automated mitigation: node and execution events go to the `RuleBook`; what fires waits
/// in `firings` for the owner, which submits each firing's job through the same path as the
/// API (recorded before published) and commits the firing with its batch.
extension DispatchEngine {
    /// Jobs started by rules carry this prefix, so that their own failures fire nothing.
    package static let ruleJobPrefix = "rule-"

    /// The firings since the last call, in order.
    package func takeFirings() -> [RuleFiring] {
        defer { firings = [] }
        return firings
    }

    /// A rule was added or removed through the API: in the audit record with its commit.
    package func recordRuleChange(added: Bool, _ rule: MitigationRule, actor: String?) {
        record(added ? .addRule : .removeRule, rule.name, actor: actor,
               detail: "on \(rule.on.rawValue)\(rule.scope.isEmpty ? "" : " " + rule.scope)\(rule.dryRun ? " (dry run)" : "")")
    }

    /// At start: the jobs earlier firings started, so that the caps count those still open.
    package func rememberRuleJobs(_ history: [RuleFiring]) {
        for firing in history {
            if let job = firing.job, active[job] != nil { ruleJobs[firing.rule, default: []].insert(job) }
        }
    }

    func nodeWentOffline(_ node: String, cause: String) {
        fireRules(.nodeOffline, node: node, cause: "\(node) went offline (\(cause))")
    }

    /// An execution ended; a failure (`failed`, `timed_out`) of a job not started by a rule fires.
    func executionEnded(_ execution: ExecutionRecord) {
        guard execution.state == .failed || execution.state == .timedOut,
              !execution.job.hasPrefix(Self.ruleJobPrefix) else { return }
        let detail = execution.exitCode.map { ", exit code \($0)" } ?? ""
        fireRules(.jobFailed, node: execution.node,
                  cause: "job \(execution.job) ended \(execution.state.rawValue) on \(execution.node)\(detail)")
    }

    private func fireRules(_ trigger: MitigationRule.Trigger, node: String, cause: String) {
        guard !ruleBook.rules.isEmpty, let labels = nodes[node]?.labels else { return }
        let time = now()
        let fired = ruleBook.fire(
            trigger, node: node, labels: labels, cause: cause, at: time,
            openJobs: { rule in openRuleJobs(rule) },
            makeJobID: { Self.ruleJobPrefix + JobID.make(milliseconds: UInt64(time * 1000), using: &ruleJobIDs) })
        for firing in fired {
            if let job = firing.job { ruleJobs[firing.rule, default: []].insert(job) }
        }
        firings += fired
    }

    /// A rule's jobs not finished yet (submitted or about to be).
    private func openRuleJobs(_ rule: String) -> Int {
        guard let jobs = ruleJobs[rule] else { return 0 }
        let submitting = Set(firings.compactMap { $0.rule == rule ? $0.job : nil })
        let open = jobs.filter { active[$0] != nil || submitting.contains($0) }
        ruleJobs[rule] = open
        return open.count
    }
}
