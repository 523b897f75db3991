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
