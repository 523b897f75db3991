import Foundation
import GRDB
import ShoalCore
import ShoalEngine
import ShoalTestSupport
import Testing

@testable import ShoalDispatcher

/// Metrics on a real store with the time given: samples and rollups written in one commit,
/// late rollups added to, expired rows deleted by the cutoffs the engine's clock gives.
@Suite struct MetricStoreTests {
    func batch(samples: [MetricSampleRecord] = [], rollups: [MetricRollupRecord] = []) -> PendingWrites {
        var batch = PendingWrites()
        batch.metricSamples = samples
        batch.metricRollups = rollups
        return batch
    }

    @Test func samplesAndRollupsAreStoredReadAndExpired() async throws {
        try await DispatcherStoreTests.withStores { store in
            let base = 1_800_000_000.0
            let disk = "disk_used_pct@/my \"disk\""
            var samples: [MetricSampleRecord] = []
            for step in 0..<120 {
                let at: Double = base + Double(step) * 30
                let values: [String: Double] = ["cpu_pct": Double(step % 100), disk: 50]
                samples.append(MetricSampleRecord(node: step % 2 == 0 ? "a" : "b", at: at, values: values))
            }
            try store.commit(batch(samples: samples))
            // A replayed batch is ignored by the key (at, node).
            try store.commit(batch(samples: Array(samples.prefix(10))))
            #expect(try store.metricRowCounts().samples == 120)

            let read = try store.rawMetrics(nodes: ["a"], names: ["cpu_pct", disk], since: base + 600)
            let points = try #require(read["a"])
            #expect(points.first?.at == base + 600)
            #expect(points.count == 50)
            #expect(points.allSatisfy { $0.values[disk] == 50 })

            let minute = MetricRollups.minute(of: base)
            let first = MetricRollupRecord(node: "a", name: "cpu_pct", minute: minute, count: 2, min: 10, max: 30, sum: 40)
            let late = MetricRollupRecord(node: "a", name: "cpu_pct", minute: minute, count: 1, min: 5, max: 5, sum: 5)
            let next = MetricRollupRecord(node: "a", name: "cpu_pct", minute: minute + 60, count: 1, min: 7, max: 7, sum: 7)
            try store.commit(batch(rollups: [first, next]))
            try store.commit(batch(rollups: [late]))
            #expect(try store.rollupMetrics(nodes: ["a"], names: ["cpu_pct"], since: minute) == [first.merged(with: late), next])

            // An hour later with a 30-minute raw window and a 1-minute rollup window: samples
            // before base+1800 go (at most a slice per call), the first minute's rollup too.
            let now = base + 3600
            let retention = MetricRetention(rawWindow: 1800, rollupWindow: 3600 - 61)
            let cutoffs = retention.cutoffs(now: now)
            try store.pruneMetrics(rawBefore: cutoffs.raw, rollupBefore: cutoffs.rollup, slice: 900)
            #expect(try store.rawMetrics(nodes: ["a", "b"], names: ["cpu_pct"], since: 0).values.flatMap { $0 }.map(\.at).min() == base + 900)
            try store.pruneMetrics(rawBefore: cutoffs.raw, rollupBefore: cutoffs.rollup, slice: 900)
            let left = try store.rawMetrics(nodes: ["a", "b"], names: ["cpu_pct"], since: 0).values.flatMap { $0 }
            #expect(left.map(\.at).min() == base + 1800)
            #expect(left.count == 60)
            #expect(try store.rollupMetrics(nodes: ["a"], names: ["cpu_pct"], since: 0) == [next])
        }
    }

    @Test func valuesTextRoundTripsAwkwardQualifiers() {
        let values = ["disk_used_pct@/a \"b\" \\c": 1.5, "mem_total_bytes": 1e18, "temp_celsius@zone": -12.25]
        #expect(MetricValuesText.decode(MetricValuesText.encode(values)) == values)
    }
}
