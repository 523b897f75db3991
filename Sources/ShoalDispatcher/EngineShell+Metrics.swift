import ShoalCore
import ShoalEngine

/// `metrics.query`: series from raw samples while the span fits the raw window, from
/// 1-minute rollups beyond it.
extension EngineShell {
    func queryMetrics(_ request: MetricsQueryRequest) throws -> MetricsQueryResult {
        try request.validate()
        let nodes: [String]
        if let node = request.node {
            guard engine.nodes[node] != nil else { throw APIError("no node '\(node)'; see `shoal nodes`") }
            nodes = [node]
        } else {
            nodes = try engine.nodeViews(matching: request.selector).map(\.id)
        }
        let names = request.metrics.isEmpty ? MetricsQueryRequest.defaultMetrics : request.metrics
        guard nodes.count * names.count <= Limits.metricSeries else {
            throw APIError("\(nodes.count) nodes × \(names.count) metrics is over \(Limits.metricSeries) series; narrow the selector or ask for fewer metrics")
        }
        let now = engine.clock()
        let since = now - request.since
        let source = engine.metricRetention.source(since: request.since)
        var series: [MetricSeries] = []
        switch source {
        case .raw:
            let samples = try store.rawMetrics(nodes: nodes, names: Set(names), since: since)
            for node in nodes {
                guard let points = samples[node] else { continue }
                for name in names {
                    let values = points.compactMap { point in point.values[name].map { (at: point.at, value: $0) } }
                    if !values.isEmpty { series.append(MetricSeries(node: node, metric: name, points: MetricSeries.downsample(values, to: request.maxPoints))) }
                }
            }
        case .rollup:
            var byKey: [String: [String: [(at: Double, value: Double)]]] = [:]
            for rollup in try store.rollupMetrics(nodes: nodes, names: names, since: since) {
                byKey[rollup.node, default: [:]][rollup.name, default: []].append((rollup.minute + 30, rollup.average))
            }
            for node in nodes {
                for name in names {
                    guard let values = byKey[node]?[name], !values.isEmpty else { continue }
                    series.append(MetricSeries(node: node, metric: name, points: MetricSeries.downsample(values, to: request.maxPoints)))
                }
            }
        }
        return MetricsQueryResult(source: source.rawValue, series: series)
    }
}

/// Metric values stored per second over the last ten seconds or so, sampled at each tick.
struct IngestRate {
    private var marks: [(time: Double, count: Int)] = []

    mutating func mark(time: Double, count: Int) {
        marks.append((time, count))
        while let first = marks.first, time - first.time > 10, marks.count > 2 { marks.removeFirst() }
    }

    var perSecond: Double {
        guard let first = marks.first, let last = marks.last, last.time > first.time else { return 0 }
        return Double(last.count - first.count) / (last.time - first.time)
    }
}

extension EngineShell {
    /// The Prometheus text of a scrape (`--metrics-listen`), from memory only.
    func exposition(lastBatchInputs: Int, lastBatchSeconds: Double) -> [UInt8] {
        var executions: [String: Int] = [:]
        for job in engine.active.values {
            for execution in job.executions.values { executions[execution.state.rawValue, default: 0] += 1 }
        }
        let nodes = engine.nodes.values.sorted { $0.id < $1.id }.map { node in
            (id: node.id, online: node.online, latest: engine.metrics.latest[node.id])
        }
        return FleetExposition.render(FleetExposition.Snapshot(
            nodes: nodes, activeJobs: engine.active.count, executionsByState: executions, ingest: engine.metrics,
            ingestRate: ingestRate.perSecond, lastBatchInputs: lastBatchInputs, lastBatchSeconds: lastBatchSeconds))
    }
}
