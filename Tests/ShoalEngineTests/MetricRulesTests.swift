import ShoalCore
import Testing

@testable import ShoalEngine

/// Metrics in the engine: ingest, the latest values, rollups and retention, on a clock the
/// test moves (acceptance 5 of issue 13).
@Suite struct MetricRulesTests {
    func send(_ fixture: EngineFixture, _ node: String, _ samples: [MetricSample]) {
        fixture.engine.ingest(.metrics(node: node), payload: Wire.encode(MetricsMessage(node: node, samples: samples)))
    }

    @Test func samplesArePendingAndTheNewestAreTheLatestValues() {
        let fixture = EngineFixture()
        fixture.birth("n1", labels: ["role": "db"])
        _ = fixture.commit()
        let t = fixture.now
        send(fixture, "n1", [MetricSample(at: t - 20, values: ["cpu_pct": 10, "disk_used_pct": 50]),
                             MetricSample(at: t - 10, values: ["cpu_pct": 30, "disk_used_pct": 95, "disk_used_pct@/data": 95])])
        #expect(fixture.engine.pending.metricSamples.count == 2)
        #expect(fixture.engine.metrics.latest["n1"] == LatestMetrics(at: t - 10, values: ["cpu_pct": 30, "disk_used_pct": 95, "disk_used_pct@/data": 95]))
        #expect(fixture.engine.metrics.ingestedValues == 5)
        // An older batch arriving late is stored but does not replace the latest values.
        send(fixture, "n1", [MetricSample(at: t - 30, values: ["cpu_pct": 99])])
        #expect(fixture.engine.metrics.latest["n1"]?.values["cpu_pct"] == 30)
        #expect(fixture.engine.pending.metricSamples.count == 3)
    }

    @Test func metricValuesAreSelectorKeysForListings() throws {
        let fixture = EngineFixture()
        fixture.birth("full", labels: ["role": "db"])
        fixture.birth("roomy", labels: ["role": "db"])
        fixture.birth("silent", labels: ["role": "db"])
        send(fixture, "full", [MetricSample(at: fixture.now, values: ["disk_used_pct": 93.5, "cpu_pct": 5.04, "load5": 1])])
        send(fixture, "roomy", [MetricSample(at: fixture.now, values: ["disk_used_pct": 12, "cpu_pct": 5])])
        #expect(try fixture.engine.nodeViews(matching: "disk_used_pct>90").map(\.id) == ["full"])
        #expect(try fixture.engine.nodeViews(matching: "role=db,disk_used_pct<=90").map(\.id) == ["roomy"])
        let view = try #require(try fixture.engine.nodeViews(matching: "").first { $0.id == "full" })
        #expect(view.metrics == ["disk_used_pct": 93.5, "cpu_pct": 5])
        #expect(try fixture.engine.nodeViews(matching: "").first { $0.id == "silent" }?.metrics == nil)
    }

    @Test func hostileOrForeignBatchesAreRefusedAndCounted() {
        let fixture = EngineFixture()
        fixture.birth("n1")
        let t = fixture.now
        send(fixture, "n1", [MetricSample(at: t, values: ["cpu_pct": 1e300])])
        send(fixture, "n1", [MetricSample(at: t, values: ["cpu_pct": -1])])
        send(fixture, "n1", [MetricSample(at: t + 3600, values: ["cpu_pct": 1])])
        send(fixture, "n1", Array(repeating: MetricSample(at: t, values: ["cpu_pct": 1]), count: 10_000))
        // Claims to be another node; and a node the registry does not know.
        fixture.engine.ingest(.metrics(node: "n1"), payload: Wire.encode(MetricsMessage(node: "n2", samples: [MetricSample(at: t, values: ["load1": 1])])))
        send(fixture, "stranger", [MetricSample(at: t, values: ["load1": 1])])
        fixture.engine.ingest(.metrics(node: "n1"), payload: Array("{\"v\":1,\"node\":\"n1\",\"samples\":[{\"at\":1,\"values\":{\"x\":NaN}}]}".utf8))
        #expect(fixture.engine.metrics.refusedMessages == 6)
        #expect(fixture.engine.pending.metricSamples.isEmpty)
        #expect(fixture.engine.metrics.latest.isEmpty)
    }

    @Test func rollupsCloseWhenTheNextMinuteStartsOrTheMinuteIsOver() {
        var rollups = MetricRollups()
        let minute = 1_800_000_000.0 - 1_800_000_000.0.truncatingRemainder(dividingBy: 60)
        rollups.add(node: "n1", at: minute + 5, values: ["cpu_pct": 10, "load1": 1])
        rollups.add(node: "n1", at: minute + 35, values: ["cpu_pct": 30])
        rollups.add(node: "n2", at: minute + 40, values: ["cpu_pct": 50])
        #expect(rollups.closed.isEmpty)
        rollups.add(node: "n1", at: minute + 65, values: ["cpu_pct": 70])
        #expect(rollups.takeClosed() == [MetricRollupRecord(node: "n1", name: "cpu_pct", minute: minute, count: 2, min: 10, max: 30, sum: 40)])
        // The minute is not over for load1 until told: a quiet metric closes by time.
        rollups.close(before: minute + 59)
        #expect(rollups.closed.isEmpty)
        rollups.close(before: minute + 60)
        #expect(Set(rollups.takeClosed().map { "\($0.node) \($0.name) \($0.minute - minute) \($0.average)" })
                == ["n1 load1 0.0 1.0", "n2 cpu_pct 0.0 50.0"])
        // A late sample of a closed minute becomes a partial rollup, merged by the store.
        rollups.add(node: "n1", at: minute + 50, values: ["cpu_pct": 20])
        let late = rollups.takeClosed()
        #expect(late == [MetricRollupRecord(node: "n1", name: "cpu_pct", minute: minute, count: 1, min: 20, max: 20, sum: 20)])
        let merged = MetricRollupRecord(node: "n1", name: "cpu_pct", minute: minute, count: 2, min: 10, max: 30, sum: 40).merged(with: late[0])
        #expect(merged == MetricRollupRecord(node: "n1", name: "cpu_pct", minute: minute, count: 3, min: 10, max: 30, sum: 60))
        #expect(rollups.openCount == 1)
    }

    @Test func housekeepingRunsOncePerMinuteWithCutoffsFromTheClock() throws {
        let fixture = EngineFixture()
        fixture.engine.metricRetention = MetricRetention(rawWindow: 3600, rollupWindow: 86_400)
        fixture.birth("n1")
        send(fixture, "n1", [MetricSample(at: fixture.now - 1, values: ["cpu_pct": 10])])
        _ = fixture.commit()
        let first = try #require(fixture.engine.metricsHousekeeping())
        #expect(first.raw == fixture.now - 3600)
        #expect(first.rollup == MetricRollups.minute(of: fixture.now - 86_400))
        #expect(fixture.engine.metricsHousekeeping() == nil)
        fixture.clock.advance(59)
        #expect(fixture.engine.metricsHousekeeping() == nil)
        // A minute later: due again, and the quiet node's minute is closed into pending.
        fixture.clock.advance(62)
        #expect(fixture.engine.metricsHousekeeping() != nil)
        #expect(fixture.engine.pending.metricRollups.map(\.name) == ["cpu_pct"])
    }

    @Test func queriesUseRawSamplesWithinTheWindowAndRollupsBeyond() {
        let retention = MetricRetention(rawWindow: 6 * 3600, rollupWindow: 30 * 86_400)
        #expect(retention.source(since: 600) == .raw)
        #expect(retention.source(since: 6 * 3600) == .raw)
        #expect(retention.source(since: 6 * 3600 + 1) == .rollup)
        #expect(retention.cutoffs(now: 1_800_000_000).raw == 1_800_000_000 - 6 * 3600)
    }

    @Test func forgettingANodeDropsItsLatestValuesAndClosesItsRollups() throws {
        let fixture = EngineFixture()
        fixture.birth("n1")
        send(fixture, "n1", [MetricSample(at: fixture.now, values: ["cpu_pct": 10])])
        fixture.death("n1", bdSeq: 1)
        _ = fixture.commit()
        _ = try fixture.engine.forget("n1", actor: nil)
        #expect(fixture.engine.metrics.latest["n1"] == nil)
        #expect(fixture.engine.pending.metricRollups.count == 1)
    }
}
