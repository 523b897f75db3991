import ShoalCore

/// The dispatcher's view of the fleet's metrics: each node's latest values (for `nodes`,
/// selectors, `top` and Prometheus), the rollups being folded, and the ingest counters.
package struct MetricsState: Sendable {
    /// Each node's values from its newest sample, all names (qualified ones included).
    package var latest: [String: LatestMetrics] = [:]
    package var rollups = MetricRollups()
    /// Samples (one value of one metric at one time) accepted since start, and messages refused.
    package var ingestedValues = 0
    package var ingestedMessages = 0
    package var refusedMessages = 0
    /// Receipt time minus the newest sample's time, of the last message (seconds; includes
    /// the node's clock offset and its interval's wait, not just transit).
    package var lastLag: Double?
    /// When rollups are next closed and old metrics deleted (`DispatchEngine.metricsHousekeeping`).
    package var housekeepingDue: Double = 0

    package init() {}
}

package struct LatestMetrics: Sendable, Equatable {
    package var at: Double
    package var values: [String: Double]

    package init(at: Double, values: [String: Double]) {
        self.at = at
        self.values = values
    }

    /// The few values a node listing carries (the rest: `metrics.query`), rounded to what
    /// a table shows: a 10,000-node listing must stay under the 4 MiB a reply may have
    /// (about 60 bytes a node this way; full precision and the time took twice that).
    package var summary: [String: Double] {
        var summary: [String: Double] = [:]
        for name in NodeView.summaryMetrics {
            guard let value = values[name] else { continue }
            let scale = name.hasSuffix("_pct") ? 10.0 : 100.0
            summary[name] = (value * scale).rounded() / scale
        }
        return summary
    }

    /// Unqualified names only, as selector keys: `disk_used_pct>90` compares the fullest mount.
    package func selectorValues() -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in values where !name.contains("@") { result[name] = "\(value)" }
        return result
    }
}
