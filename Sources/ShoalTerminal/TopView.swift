import ShoalCore

/// One frame of `shoal top`: a title line, a header and a line per node, cut to the
/// terminal's size. Pure: the nodes, the time and the size come in; text comes out.
package struct TopView {
    package enum SortKey: String, CaseIterable, Sendable {
        case cpu, mem, disk, load, name, seen

        /// The column header the key sorts on.
        package var column: String {
            switch self {
            case .cpu: "CPU"
            case .mem: "MEM"
            case .disk: "DISK"
            case .load: "LOAD"
            case .name: "NODE"
            case .seen: "SEEN"
            }
        }

        /// The key a single keypress selects in the live view (`c`, `m`, `d`, `l`, `n`, `s`).
        package static func forKey(_ key: Character) -> SortKey? {
            switch key {
            case "c": .cpu
            case "m": .mem
            case "d": .disk
            case "l": .load
            case "n": .name
            case "s": .seen
            default: nil
            }
        }
    }

    package var nodes: [NodeView]
    package var now: Double
    package var sort: SortKey
    package var selector: String
    package var width: Int
    package var height: Int

    package init(nodes: [NodeView], now: Double, sort: SortKey, selector: String, width: Int = 120, height: Int = 40) {
        self.nodes = nodes
        self.now = now
        self.sort = sort
        self.selector = selector
        self.width = width
        self.height = height
    }

    package static let headers = ["NODE", "STATUS", "CPU", "MEM", "DISK", "LOAD", "SWAP", "SEEN"]

    /// Heaviest first (names for `name`); nodes without metrics last; ties by name.
    package func sorted() -> [NodeView] {
        func key(_ node: NodeView) -> Double? {
            switch sort {
            case .cpu: node.metrics?["cpu_pct"]
            case .mem: node.metrics?["mem_used_pct"]
            case .disk: node.metrics?["disk_used_pct"]
            case .load: node.metrics?["load1"]
            case .seen: now - node.lastSeen
            case .name: nil
            }
        }
        return nodes.sorted { left, right in
            if sort == .name { return left.id < right.id }
            switch (key(left), key(right)) {
            case let (l?, r?) where l != r: return l > r
            case (_?, nil): return true
            case (nil, _?): return false
            default: return left.id < right.id
            }
        }
    }

    package func rows() -> [[String]] {
        sorted().map { node in
            let metrics = node.metrics ?? [:]
            return [node.id, node.online ? "online" : "offline",
                    MetricsRendering.percent(metrics["cpu_pct"]), MetricsRendering.percent(metrics["mem_used_pct"]),
                    MetricsRendering.percent(metrics["disk_used_pct"]), MetricsRendering.number(metrics["load1"]),
                    MetricsRendering.percent(metrics["swap_used_pct"]), DurationText.format(max(0, now - node.lastSeen))]
        }
    }

    package func render() -> String {
        let online = nodes.filter(\.online).count
        let title = "shoal top — \(nodes.count) nodes, \(online) online" + (selector.isEmpty ? "" : " (\(selector))")
            + " — sorted by \(sort.column); keys: c m d l n s sort, q quit"
        var table = Table(headers: Self.headers.map { $0 == sort.column ? $0 + "▼" : $0 })
        let all = rows()
        // Title, blank line and header take three lines; one more says what was cut.
        let room = max(1, height - 4)
        table.rows = Array(all.prefix(room))
        var lines = [title, ""] + table.render().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if all.count > room { lines.append("… \(all.count - room) more nodes (narrow with -s)") }
        return lines.map { String($0.prefix(width)) }.joined(separator: "\n")
    }
}
