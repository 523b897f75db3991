import ShoalCore

/// One node's sample as stored: all its values at one time.
package struct MetricSampleRecord: Sendable, Equatable {
    package var node: String
    package var at: Double
    package var values: [String: Double]

    package init(node: String, at: Double, values: [String: Double]) {
        self.node = node
        self.at = at
        self.values = values
    }
}

/// Metrics agents send: checked, kept as each node's latest values, queued for the store
/// as raw samples, and folded into 1-minute rollups.
extension DispatchEngine {
    /// Samples more than this far ahead of the dispatcher's clock are refused: retention
    /// would keep them for as long as the node's clock is wrong.
    package static let metricsClockAllowance: Double = 300

    func ingestMetrics(node: String, payload: [UInt8]) {
        do {
            let message = try Wire.decode(MetricsMessage.self, from: payload)
            guard message.node == node else { throw WireError(description: "node id in payload does not match the topic") }
            do throws(BoundsError) {
                try message.validate()
            } catch {
                throw WireError(description: error.description)
            }
            // Metrics of nodes the registry does not know (never born, or forgotten) are
            // not kept: nothing lists them, and nothing would ever delete their latest values.
            guard nodes[node] != nil else {
                logger.debug("Dropped metrics of an unknown node", metadata: ["node": "\(node)"])
                return
            }
            let time = now()
            var newest: MetricSample?
            for (index, sample) in message.samples.enumerated() {
                guard sample.at <= time + Self.metricsClockAllowance else {
                    throw WireError(description: "samples[\(index)].at: \(sample.at) is more than \(Int(Self.metricsClockAllowance)) s ahead of the dispatcher's clock")
                }
            }
            for sample in message.samples {
                pending.metricSamples.append(MetricSampleRecord(node: node, at: sample.at, values: sample.values))
                metrics.rollups.add(node: node, at: sample.at, values: sample.values)
                metrics.ingestedValues += sample.values.count
                if sample.at >= newest?.at ?? -.infinity { newest = sample }
            }
            if let newest, newest.at >= metrics.latest[node]?.at ?? -.infinity {
                metrics.latest[node] = LatestMetrics(at: newest.at, values: newest.values)
                metrics.lastLag = time - newest.at
            }
            metrics.ingestedMessages += 1
            pending.metricRollups.append(contentsOf: metrics.rollups.takeClosed())
        } catch {
            metrics.refusedMessages += 1
            reject("a metrics message", error, topic: topics.metrics(node))
        }
    }

    /// Closes the rollups of minutes that ended a minute ago or more (late samples still
    /// land in theirs), and says whether old metrics are due for deletion: once a minute.
    package func metricsHousekeeping() -> (raw: Double, rollup: Double)? {
        let time = now()
        guard time >= metrics.housekeepingDue else { return nil }
        metrics.housekeepingDue = time + 60
        metrics.rollups.close(before: time - 60)
        pending.metricRollups.append(contentsOf: metrics.rollups.takeClosed())
        return metricRetention.cutoffs(now: time)
    }

    /// A forgotten node's metrics leave memory; its stored ones expire with the rest.
    func forgetMetrics(of node: String) {
        metrics.latest[node] = nil
        metrics.rollups.close(node: node)
        pending.metricRollups.append(contentsOf: metrics.rollups.takeClosed())
    }

    /// Labels and, for nodes that sent metrics, their latest unqualified values: what a
    /// listing's selector is matched against (`disk_used_pct>90`).
    package func selectable(_ node: NodeRecord) -> [String: String] {
        guard let latest = metrics.latest[node.id] else { return node.labels }
        return node.labels.merging(latest.selectorValues()) { label, _ in label }
    }
}
