import ShoalCore
import Testing

@testable import ShoalTerminal

/// `shoal top`'s frame and `shoal metrics`' sparklines, as pure functions of their input.
@Suite struct TopViewTests {
    static let now = 1_800_000_000.0

    static func node(_ id: String, online: Bool = true, seen: Double = 1, cpu: Double? = nil, mem: Double? = nil,
                     disk: Double? = nil, load: Double? = nil) -> NodeView {
        var metrics: [String: Double] = [:]
        metrics["cpu_pct"] = cpu
        metrics["mem_used_pct"] = mem
        metrics["disk_used_pct"] = disk
        metrics["load1"] = load
        return NodeView(id: id, labels: [:], online: online, version: "0.1.0", firstSeen: now - 100, lastSeen: now - seen,
                        metrics: cpu == nil && mem == nil && disk == nil ? nil : metrics)
    }

    static let fleet = [
        node("web-1", cpu: 12.5, mem: 40, disk: 91.2, load: 0.5),
        node("web-2", cpu: 97, mem: 10, disk: 20, load: 3.25),
        node("db-1", online: false, seen: 120, cpu: 3.04, mem: 80, disk: 55, load: 12_345),
        node("new-1"),
    ]

    @Test func theFrameIsATitleAHeaderAndOneLinePerNodeHeaviestFirst() {
        let frame = TopView(nodes: Self.fleet, now: Self.now, sort: .cpu, selector: "", width: 200, height: 40).render()
        #expect(frame == """
            shoal top — 4 nodes, 3 online — sorted by CPU; keys: c m d l n s sort, q quit

            NODE   STATUS   CPU▼  MEM  DISK  LOAD   SWAP  SEEN
            web-2  online   97%   10%  20%   3.25   -     1.00s
            web-1  online   13%   40%  91%   0.50   -     1.00s
            db-1   offline  3.0%  80%  55%   12.3k  -     2m0s
            new-1  online   -     -    -     -      -     1.00s
            """)
    }

    @Test("every sort key orders its column, nodes without metrics last", arguments: TopView.SortKey.allCases)
    func sortKeys(key: TopView.SortKey) {
        let order = TopView(nodes: Self.fleet, now: Self.now, sort: key, selector: "").sorted().map(\.id)
        let expected: [String] = switch key {
        case .cpu: ["web-2", "web-1", "db-1", "new-1"]
        case .mem: ["db-1", "web-1", "web-2", "new-1"]
        case .disk: ["web-1", "db-1", "web-2", "new-1"]
        case .load: ["db-1", "web-2", "web-1", "new-1"]
        case .name: ["db-1", "new-1", "web-1", "web-2"]
        case .seen: ["db-1", "new-1", "web-1", "web-2"]
        }
        #expect(order == expected)
    }

    @Test func aSmallTerminalShowsWhatFitsAndSaysWhatWasCut() {
        let frame = TopView(nodes: Self.fleet, now: Self.now, sort: .name, selector: "role=web", width: 30, height: 6).render()
        let lines = frame.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 6)
        #expect(lines.allSatisfy { $0.count <= 30 })
        #expect(lines[0].hasPrefix("shoal top — 4 nodes, 3 online"))
        #expect(lines[3].hasPrefix("db-1"))
        #expect(lines[5].hasPrefix("… 2 more nodes"))
    }

    @Test func sparklinesScalePercentagesToTheirWholeRangeAndOthersToTheirOwn() {
        #expect(MetricsRendering.sparkline([0, 50, 100], metric: "cpu_pct") == "▁▅█")
        #expect(MetricsRendering.sparkline([10, 10, 10], metric: "cpu_pct") == "▂▂▂")
        #expect(MetricsRendering.sparkline([2, 4, 6], metric: "load1") == "▁▅█")
        #expect(MetricsRendering.sparkline([7, 7], metric: "load1") == "▁▁")
        #expect(MetricsRendering.sparkline([], metric: "load1") == "")
        #expect(MetricsRendering.sparkline([50], metric: "disk_used_pct@/data") == "▅")
    }

    @Test func cellsAreShortAndNeverTrap() {
        #expect(MetricsRendering.percent(nil) == "-")
        #expect(MetricsRendering.percent(3.04) == "3.0%")
        #expect(MetricsRendering.percent(99.6) == "100%")
        #expect(MetricsRendering.number(0.5) == "0.50")
        #expect(MetricsRendering.number(1.5e9) == "1.5G")
        #expect(MetricsRendering.number(1e18) == "1000000.0T")
        #expect(MetricsRendering.number(.infinity) == "-")
    }

    @Test func metricsTableShowsLastMinMaxAndASparkline() {
        let result = MetricsQueryResult(source: "raw", series: [
            MetricSeries(node: "web-1", metric: "cpu_pct", points: [[1, 10], [2, 90], [3, 50]]),
            MetricSeries(node: "web-1", metric: "load1", points: [[1, 1], [2, 2]]),
        ])
        #expect(MetricsRendering.table(result).render() == """
            NODE   METRIC   LAST  MIN   MAX   SINCE (raw)
            web-1  cpu_pct  50%   10%   90%   ▂▇▅
            web-1  load1    2.00  1.00  2.00  ▁█
            """)
    }
}
