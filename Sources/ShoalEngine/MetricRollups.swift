import ShoalCore

/// One metric of one node over one minute: what is kept once raw samples have expired.
package struct MetricRollupRecord: Sendable, Equatable {
    package var node: String
    package var name: String
    /// The minute's start, UNIX seconds (a multiple of 60).
    package var minute: Double
    package var count: Int
    package var min: Double
    package var max: Double
    package var sum: Double

    package init(node: String, name: String, minute: Double, count: Int, min: Double, max: Double, sum: Double) {
        self.node = node
        self.name = name
        self.minute = minute
        self.count = count
        self.min = min
        self.max = max
        self.sum = sum
    }

    package var average: Double { sum / Double(Swift.max(1, count)) }

    /// Two partial rollups of the same minute (a late sample after its minute was written).
    package func merged(with other: MetricRollupRecord) -> MetricRollupRecord {
        MetricRollupRecord(node: node, name: name, minute: minute, count: count + other.count,
                           min: Swift.min(min, other.min), max: Swift.max(max, other.max), sum: sum + other.sum)
    }
}

/// Folds samples into 1-minute rollups as they arrive, so no raw sample has to be read
/// back to make them. One open minute per node and metric: a sample of a later minute
/// closes the open one, and `close(before:)` closes the minutes of nodes that went quiet.
/// A sample of a minute already closed opens a partial rollup of that minute, which the
/// store adds to the one it has (`merged`), so late samples are counted, not lost.
///
/// Pure: time comes in with each sample and each `close(before:)`.
package struct MetricRollups: Sendable {
    private var open: [String: [String: MetricRollupRecord]] = [:]
    /// Closed rollups waiting to be written, in the order they closed.
    package private(set) var closed: [MetricRollupRecord] = []

    package init() {}

    package static func minute(of time: Double) -> Double { (time / 60).rounded(.down) * 60 }

    package mutating func add(node: String, at time: Double, values: [String: Double]) {
        let minute = Self.minute(of: time)
        var metrics = open.removeValue(forKey: node) ?? [:]
        for (name, value) in values {
            if var rollup = metrics[name] {
                if rollup.minute == minute {
                    rollup.count += 1
                    rollup.min = Swift.min(rollup.min, value)
                    rollup.max = Swift.max(rollup.max, value)
                    rollup.sum += value
                    metrics[name] = rollup
                    continue
                }
                if rollup.minute < minute {
                    closed.append(rollup)
                } else {
                    // Older than the open minute: a partial rollup of its own minute.
                    closed.append(MetricRollupRecord(node: node, name: name, minute: minute, count: 1, min: value, max: value, sum: value))
                    continue
                }
            }
            metrics[name] = MetricRollupRecord(node: node, name: name, minute: minute, count: 1, min: value, max: value, sum: value)
        }
        open[node] = metrics
    }

    /// Closes every open minute that ended before `time`.
    package mutating func close(before time: Double) {
        for (node, metrics) in open {
            var kept: [String: MetricRollupRecord] = [:]
            for (name, rollup) in metrics {
                if rollup.minute + 60 <= time { closed.append(rollup) } else { kept[name] = rollup }
            }
            open[node] = kept.isEmpty ? nil : kept
        }
    }

    /// Closes everything (a node forgotten, or the dispatcher stopping).
    package mutating func close(node: String) {
        guard let metrics = open.removeValue(forKey: node) else { return }
        closed.append(contentsOf: metrics.values)
    }

    package mutating func takeClosed() -> [MetricRollupRecord] {
        defer { closed = [] }
        return closed
    }

    package var openCount: Int { open.values.reduce(0) { $0 + $1.count } }
}

/// How long metrics are kept: raw samples for `rawWindow`, 1-minute rollups for
/// `rollupWindow`; and which of the two answers a query reaching back `since` seconds.
package struct MetricRetention: Sendable, Equatable {
    package var rawWindow: Double
    package var rollupWindow: Double

    package init(rawWindow: Double = 6 * 3600, rollupWindow: Double = 30 * 86_400) {
        self.rawWindow = rawWindow
        self.rollupWindow = rollupWindow
    }

    /// Raw samples before `raw`, and rollups of minutes before `rollup`, are deleted.
    package func cutoffs(now: Double) -> (raw: Double, rollup: Double) {
        (now - rawWindow, MetricRollups.minute(of: now - rollupWindow))
    }

    package enum Source: String, Sendable, Equatable {
        case raw, rollup
    }

    /// Raw samples while they cover the whole span asked for; rollups beyond.
    package func source(since: Double) -> Source {
        since <= rawWindow ? .raw : .rollup
    }
}
