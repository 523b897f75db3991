import ShoalCore
import ShoalEngine
import Testing

@testable import ShoalDispatcher

/// The Prometheus text of a scrape, from a snapshot: per-node series with their labels,
/// the dispatcher's own, awkward qualifiers escaped (never a crash); and the request line
/// the endpoint accepts.
@Suite struct FleetExpositionTests {
    func snapshot() -> FleetExposition.Snapshot {
        var ingest = MetricsState()
        ingest.ingestedValues = 42
        ingest.refusedMessages = 2
        ingest.lastLag = 0.25
        return FleetExposition.Snapshot(
            nodes: [
                (id: "web-1", online: true, latest: LatestMetrics(at: 1_800_000_000, values: [
                    "cpu_pct": 12.5, "disk_used_pct@/": 63, "disk_used_pct@/my \"odd\" \\ path\n": 7, "temp_celsius@acpitz": 40,
                ])),
                (id: "db-1", online: false, latest: nil),
            ],
            activeJobs: 1, executionsByState: ["running": 3], ingest: ingest, ingestRate: 1234.5,
            lastBatchInputs: 17, lastBatchSeconds: 0.002)
    }

    @Test func nodesAndTheDispatcherAreSeriesWithLabels() {
        let text = String(decoding: FleetExposition.render(snapshot()), as: UTF8.self)
        let lines = Set(text.split(separator: "\n").map(String.init))
        #expect(lines.contains(#"shoal_node_cpu_pct{node="web-1"} 12.5"#))
        #expect(lines.contains(#"shoal_node_disk_used_pct{node="web-1",mount="/"} 63.0"#))
        #expect(lines.contains(#"shoal_node_temp_celsius{node="web-1",sensor="acpitz"} 40.0"#))
        #expect(lines.contains(#"shoal_node_disk_used_pct{node="web-1",mount="/my \"odd\" \\ path\n"} 7.0"#), "\(text)")
        #expect(lines.contains(#"shoal_nodes{state="online"} 1.0"#))
        #expect(lines.contains(#"shoal_nodes{state="offline"} 1.0"#))
        #expect(lines.contains(#"shoal_executions{state="running"} 3.0"#))
        #expect(lines.contains(#"shoal_executions{state="queued"} 0.0"#))
        #expect(lines.contains("shoal_metric_samples_ingested_total 42"))
        #expect(lines.contains("shoal_metric_messages_refused_total 2"))
        #expect(lines.contains("shoal_jobs_active 1.0"))
        #expect(lines.contains("# TYPE shoal_node_cpu_pct gauge"))
        #expect(!text.contains("db-1"), "a node without metrics has no series")
    }

    @Test func requestLines() {
        #expect(HTTPRequestLine.parse(Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) == HTTPRequestLine(method: "GET", target: "/metrics"))
        #expect(HTTPRequestLine.parse(Array("HEAD /?x=1 HTTP/1.0\r\n\r\n".utf8)) == HTTPRequestLine(method: "HEAD", target: "/?x=1"))
        for bad in ["GET /metrics\r\n", "GET metrics HTTP/1.1\r\n", "get / HTTP/1.1\r\n", "GET  / HTTP/1.1\r\n", "GET / HTTP/2\r\n",
                    "GET / HTTP/1.1", "", "\r\n"] {
            #expect(HTTPRequestLine.parse(Array(bad.utf8)) == nil, "\(bad.debugDescription)")
        }
    }
}
