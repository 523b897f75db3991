/// `metrics.query`: the series of some nodes' metrics over a past span.
public struct MetricsQueryRequest: Sendable, Codable, Equatable {
    /// Nodes matching this selector (metric values are keys too: `disk_used_pct>90`).
    /// Empty with no `node`: every node.
    public var selector: String
    /// One node by id, instead of a selector.
    public var node: String?
    /// Metric names, qualified or not (`cpu_pct`, `disk_used_pct@/data`); empty: `cpu_pct`,
    /// `mem_used_pct` and `disk_used_pct`.
    public var metrics: [String]
    /// How far back, in seconds.
    public var since: Double
    /// Points per series at most: longer series are averaged into this many buckets.
    public var maxPoints: Int

    public static let defaultMetrics = ["cpu_pct", "mem_used_pct", "disk_used_pct"]

    public init(selector: String = "", node: String? = nil, metrics: [String] = [], since: Double = 3600, maxPoints: Int = 120) {
        self.selector = selector
        self.node = node
        self.metrics = metrics
        self.since = since
        self.maxPoints = maxPoints
    }

    /// Every field is optional on the wire (see docs/api.md for the defaults).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(selector: try container.decodeIfPresent(String.self, forKey: .selector) ?? "",
                  node: try container.decodeIfPresent(String.self, forKey: .node),
                  metrics: try container.decodeIfPresent([String].self, forKey: .metrics) ?? [],
                  since: try container.decodeIfPresent(Double.self, forKey: .since) ?? 3600,
                  maxPoints: try container.decodeIfPresent(Int.self, forKey: .maxPoints) ?? 120)
    }

    public func validate() throws(BoundsError) {
        try Bounds.check(selector, "selector", maxBytes: Limits.selectorBytes)
        if let node, !TopicTree.isValidLevel(node) || node.utf8.count > Limits.labelBytes {
            throw BoundsError(field: "node", "'\(Bounds.prefix(node, maxBytes: 80).text)' is not a node id")
        }
        try Bounds.check(metrics.count, "metrics count", in: 0...64)
        for name in metrics { try MetricName.check(name, 0, field: "metrics") }
        try Bounds.check(since, "since", in: Limits.metricsSince, unit: " seconds")
        try Bounds.check(maxPoints, "maxPoints", in: Limits.metricPoints)
    }
}

/// One metric of one node: `points` are `[time, value]` pairs, oldest first.
public struct MetricSeries: Sendable, Codable, Equatable {
    public var node: String
    public var metric: String
    public var points: [[Double]]

    public init(node: String, metric: String, points: [[Double]]) {
        self.node = node
        self.metric = metric
        self.points = points
    }

    /// At most `maxPoints` points: when there are more, the span from the first to the last
    /// is cut into `maxPoints` equal buckets, each shown as the average of its points at
    /// the average of their times (empty buckets are left out).
    public static func downsample(_ points: [(at: Double, value: Double)], to maxPoints: Int) -> [[Double]] {
        guard points.count > maxPoints, maxPoints > 0, let first = points.first?.at, let last = points.last?.at, last > first else {
            return points.map { [$0.at, $0.value] }
        }
        let width = (last - first) / Double(maxPoints)
        var sums = [(at: Double, value: Double, count: Int)](repeating: (0, 0, 0), count: maxPoints)
        for point in points {
            let bucket = min(maxPoints - 1, max(0, Int((point.at - first) / width)))
            sums[bucket].at += point.at
            sums[bucket].value += point.value
            sums[bucket].count += 1
        }
        return sums.compactMap { $0.count == 0 ? nil : [$0.at / Double($0.count), $0.value / Double($0.count)] }
    }
}

public struct MetricsQueryResult: Sendable, Codable, Equatable {
    /// `raw` samples, or `rollup`: 1-minute averages, once the span reaches past the raw window.
    public var source: String
    public var series: [MetricSeries]

    public init(source: String, series: [MetricSeries]) {
        self.source = source
        self.series = series
    }
}
