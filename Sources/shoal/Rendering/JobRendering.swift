import Foundation
import ShoalCore

/// How jobs and executions look in a terminal.
enum JobRendering {
    static func time(_ unix: Double) -> String {
        // Stored values were checked on the way in; an older database may still hold anything.
        guard Limits.timestamp.contains(unix) else { return "-" }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: unix)) + "Z"
    }

    static func tally(_ job: JobView) -> String {
        let order = ExecutionState.allCases.map(\.rawValue)
        let parts = job.counts.sorted { (order.firstIndex(of: $0.key) ?? 99) < (order.firstIndex(of: $1.key) ?? 99) }
            .map { "\($0.value) \($0.key)" }
        return parts.isEmpty ? "no nodes" : parts.joined(separator: ", ")
    }

    /// What a job is: in progress, finished, or aborted (with why), for `jobs show`.
    static func status(_ job: JobView) -> String {
        if let reason = job.abortReason { return (job.isFinished ? "aborted" : "aborting") + " (\(why(reason)))" }
        if job.rollout?.paused == true && !job.isFinished { return "paused" }
        return job.isFinished ? "finished" : "in progress"
    }

    /// An abort's reason without the `rollout aborted: ` it starts with, for lines that
    /// already say `aborted`.
    static func why(_ reason: String) -> String {
        let prefix = "rollout aborted: "
        return reason.hasPrefix(prefix) ? String(reason.dropFirst(prefix.count)) : reason
    }

    /// `batch 2 of 4 released, wait 30s, max failures 1`, for `jobs show`.
    static func rolloutLine(_ rollout: RolloutView) -> String {
        let progress = rollout.abortReason == nil ? "released" : "released before it aborted"
        var parts = ["rollout: \(rollout.released) of \(rollout.batchSizes.count) batches \(progress) (sizes \(rollout.batchSizes.map(String.init).joined(separator: ",")))"]
        if rollout.plan.canary > 0 { parts.append("canary \(rollout.plan.canary)") }
        parts.append("batch \(rollout.plan.batch)")
        if rollout.plan.wait > 0 { parts.append("wait \(DurationText.format(rollout.plan.wait))") }
        parts.append("max failures \(rollout.plan.maxFailures)")
        if rollout.paused { parts.append("paused") }
        return parts.joined(separator: ", ")
    }

    /// `shoal run --dry-run`: the expected nodes and the batches, nothing else.
    static func printPlan(_ plan: JobPlanView, format: OutputFormat) {
        switch format {
        case .json: print(StructuredOutput.json(plan))
        case .yaml: print(StructuredOutput.yaml(plan))
        case .csv:
            var table = Table(headers: ["BATCH", "NODE"])
            for (index, batch) in plan.batches.enumerated() { table.rows += batch.map { [String(index + 1), $0] } }
            print(table.csv())
        case .table:
            let offline = plan.offline.isEmpty ? "" : ", \(plan.offline.count) offline now (\(compact(plan.offline)))"
            print("dry run: \(plan.expected) node\(plan.expected == 1 ? "" : "s") expected\(offline); nothing was run or stored")
            print("task: \(plan.task)")
            let canary = plan.rollout?.canary ?? 0
            for (index, batch) in plan.batches.enumerated() {
                let title = index == 0 && canary > 0 ? "canary" : "batch \(index + (canary > 0 ? 0 : 1))"
                print("\(title) (\(batch.count)): \(compact(batch))")
            }
            if let rollout = plan.rollout {
                let wait = rollout.wait > 0 ? "wait \(DurationText.format(rollout.wait)) between batches; " : ""
                print("\(wait)aborts at \(rollout.abortsAt(total: plan.expected)) failed node(s)")
            }
        }
    }

    static func executionTable(_ executions: [ExecutionView]) -> Table {
        var table = Table(headers: ["NODE", "STATE", "EXIT", "DURATION", "NOTE"])
        table.rows = executions.map { execution in
            [execution.node, execution.state.rawValue, execution.exitCode.map(String.init) ?? "-",
             execution.duration.map(DurationText.format) ?? "-", note(execution)]
        }
        return table
    }

    static func note(_ execution: ExecutionView) -> String {
        if let reason = execution.reason, execution.state != .failed || execution.exitCode == nil { return reason }
        if execution.state == .queued { return execution.nodeOnline == false ? "node offline; waits for it" : "waiting" }
        return ""
    }

    /// Identical outputs shown once with the nodes that printed them, as `clush -b` does.
    static func outputBlocks(_ executions: [ExecutionView]) -> String {
        var groups: [String: [String]] = [:]
        var order: [String] = []
        for execution in executions where execution.state.isTerminal {
            var text = (execution.stdout ?? "") + (execution.stderr ?? "")
            if execution.outputTruncated == true {
                text += "\n[shoal: output cut here; all of it: shoal jobs output \(execution.job) --node \(execution.node)]"
            }
            guard !text.isEmpty else { continue }
            if groups[text] == nil { order.append(text) }
            groups[text, default: []].append(execution.node)
        }
        return order.map { text in
            let nodes = groups[text]!
            let title = "\(compact(nodes)) (\(nodes.count))"
            let rule = String(repeating: "-", count: min(72, max(15, title.count)))
            let body = text.hasSuffix("\n") ? String(text.dropLast()) : text
            return "\(rule)\n\(title)\n\(rule)\n\(body)"
        }.joined(separator: "\n")
    }

    /// Node lists stay readable when long: the first few, then a count.
    static func compact(_ nodes: [String]) -> String {
        nodes.count <= 8 ? nodes.joined(separator: ",") : nodes.prefix(6).joined(separator: ",") + ",… +\(nodes.count - 6) more"
    }
}
