import ArgumentParser
import Foundation
import ShoalCommandLine
import ShoalCore

/// The rollout options every job command takes (`run` now; `deploy` and `config push` are
/// meant to pull in the same group). Any of --batch, --canary, --wait or --max-failures
/// makes the job a rollout; without --batch, what follows the canary goes in one batch.
struct RolloutOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Nodes per batch: a count (3) or a share of the expected nodes (25%, rounded up).",
        discussion: "Batches take the expected nodes in the order of their ids; see docs/rollouts.md."))
    var batch: String?

    @Option(name: .long, help: "Nodes in a first batch that must all succeed before any other node runs (default 0).")
    var canary: String?

    @Option(name: .long, help: "Pause between the end of one batch and the start of the next, 0s to 7d (e.g. 30s, 5m).",
            transform: DurationArgument.parser("--wait", in: RolloutPlan.waitRange))
    var wait: DurationArgument?

    @Option(name: .long, help: ArgumentHelp(
        "Failed nodes tolerated, a count (1) or a share (10%); one more aborts the rollout (default 0).",
        discussion: "On abort, nodes not yet started end `skipped`, running ones finish, and the job is aborted."))
    var maxFailures: String?

    @Option(name: .long, help: "A command (run with /bin/sh -c) each node runs after the job's command; the node fails when it fails.")
    var health: String?

    /// The plan these options give, checked; nil when they ask for no rollout.
    func plan() throws -> RolloutPlan? {
        guard batch != nil || canary != nil || wait != nil || maxFailures != nil else { return nil }
        let plan = RolloutPlan(
            batch: try batch.map { try Self.share($0, option: "--batch", example: "--batch 5 or --batch 20%") } ?? .percent(100),
            canary: try canary.map(Self.count) ?? 0,
            wait: wait?.seconds ?? 0,
            maxFailures: try maxFailures.map { try Self.share($0, option: "--max-failures", example: "--max-failures 2 or --max-failures 10%") }
                ?? .count(0))
        do {
            try plan.validate()
        } catch {
            throw ValidationError(Self.optionName(error) + ": " + error.problem)
        }
        return plan
    }

    func validate() throws {
        _ = try plan()
        if let health {
            guard !health.isEmpty else { throw ValidationError("--health is empty: give a command such as --health 'systemctl is-active nginx'") }
            guard health.utf8.count <= Limits.argumentBytes / 2 else {
                throw ValidationError("--health is \(health.utf8.count) bytes; at most \(Limits.argumentBytes / 2)")
            }
        }
    }

    private static func share(_ text: String, option: String, example: String) throws -> RolloutPlan.Share {
        guard let share = RolloutPlan.Share(text) else {
            throw ValidationError("\(option) '\(Bounds.prefix(text, maxBytes: 40).text)' is neither a number of nodes nor a percentage: e.g. \(example)")
        }
        return share
    }

    private static func count(_ text: String) throws -> Int {
        guard case .count(let count)? = RolloutPlan.Share(text) else {
            throw ValidationError("--canary '\(Bounds.prefix(text, maxBytes: 40).text)' is not a number of nodes: e.g. --canary 1")
        }
        return count
    }

    /// `rollout.maxFailures (%)` → `--max-failures (%)`.
    private static func optionName(_ error: BoundsError) -> String {
        error.field.replacingOccurrences(of: "rollout.maxFailures", with: "--max-failures")
            .replacingOccurrences(of: "rollout.batch", with: "--batch")
            .replacingOccurrences(of: "rollout.canary", with: "--canary")
            .replacingOccurrences(of: "rollout.wait", with: "--wait")
    }
}
