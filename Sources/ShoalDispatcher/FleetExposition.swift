import Prometheus
import ShoalCore
import ShoalEngine

/// The Prometheus text a scrape of `--metrics-listen` returns: every node's latest values
/// as `shoal_node_<metric>{node="…"}` (a qualified metric adds a label: `mount`, `sensor`
/// or `device`), and the dispatcher's own (`shoal_nodes`, `shoal_jobs_active`,
/// `shoal_executions`, ingest counters, rate and lag).
///
/// Formatted by swift-prometheus (escaping, `# TYPE` lines, grouping of series); a
/// registry is built per scrape, so nodes that left the registry leave the output too.
/// Pure: everything comes in as a `Snapshot`.
struct FleetExposition {
    struct Snapshot {
        var nodes: [(id: String, online: Bool, latest: LatestMetrics?)]
        var activeJobs: Int
        var executionsByState: [String: Int]
        var ingest: MetricsState
        /// Metric values stored per second, over the last few seconds.
        var ingestRate: Double
        /// Inputs (messages, ticks) the dispatcher's loop took in its last batch, and how
        /// long it spent on them: a backlog shows as a batch that grows.
        var lastBatchInputs: Int
        var lastBatchSeconds: Double
    }

    static func render(_ snapshot: Snapshot) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        for node in snapshot.nodes {
            guard let latest = node.latest else { continue }
            for (name, value) in latest.values {
                let (base, qualifier) = MetricName.split(name)
                var labels = [("node", node.id)]
                if let qualifier { labels.append((qualifierLabel(base), String(qualifier))) }
                registry.makeGauge(descriptor: Self.metric("shoal_node_" + base), labels: labels).set(value)
            }
            registry.makeGauge(descriptor: Self.metric("shoal_node_metrics_timestamp_seconds"), labels: [("node", node.id)]).set(latest.at)
        }
        let online = snapshot.nodes.filter(\.online).count
        registry.makeGauge(descriptor: Self.metric("shoal_nodes"), labels: [("state", "online")]).set(Double(online))
        registry.makeGauge(descriptor: Self.metric("shoal_nodes"), labels: [("state", "offline")]).set(Double(snapshot.nodes.count - online))
        registry.makeGauge(descriptor: Self.metric("shoal_jobs_active", help: "Jobs not yet finished")).set(Double(snapshot.activeJobs))
        for state in ExecutionState.allCases {
            registry.makeGauge(descriptor: Self.metric("shoal_executions"), labels: [("state", state.rawValue)])
                .set(Double(snapshot.executionsByState[state.rawValue] ?? 0))
        }
        registry.makeCounter(descriptor: Self.metric("shoal_metric_samples_ingested_total", help: "Metric values accepted (one node, one metric, one time)"))
            .increment(by: Int64(snapshot.ingest.ingestedValues))
        registry.makeCounter(descriptor: Self.metric("shoal_metric_messages_ingested_total")).increment(by: Int64(snapshot.ingest.ingestedMessages))
        registry.makeCounter(descriptor: Self.metric("shoal_metric_messages_refused_total")).increment(by: Int64(snapshot.ingest.refusedMessages))
        registry.makeGauge(descriptor: Self.metric("shoal_metric_ingest_rate", help: "Metric values stored per second, recent")).set(snapshot.ingestRate)
        registry.makeGauge(descriptor: Self.metric("shoal_metric_lag_seconds", help: "Receipt time minus the newest sample's time, last message"))
            .set(snapshot.ingest.lastLag ?? 0)
        registry.makeGauge(descriptor: Self.metric("shoal_dispatcher_batch_inputs", help: "Inputs in the loop's last batch")).set(Double(snapshot.lastBatchInputs))
        registry.makeGauge(descriptor: Self.metric("shoal_dispatcher_batch_seconds", help: "Time the loop spent on its last batch")).set(snapshot.lastBatchSeconds)
        return registry.emitToBuffer()
    }

    /// A whole name: the library's namespace and unit parts are left empty (names here
    /// carry their units already).
    static func metric(_ name: String, help: String = "") -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// What a qualifier names, by the metric's family.
    static func qualifierLabel<S: StringProtocol>(_ base: S) -> String {
        if base.hasPrefix("disk_") { return "mount" }
        if base.hasPrefix("temp_") { return "sensor" }
        return "device"
    }
}
