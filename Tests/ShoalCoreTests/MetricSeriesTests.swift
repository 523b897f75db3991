import ShoalCore
import Testing

@Suite struct MetricSeriesTests {
    @Test func shortSeriesAreKeptAsTheyAre() {
        #expect(MetricSeries.downsample([(1, 5), (2, 6)], to: 10) == [[1, 5], [2, 6]])
    }

    @Test func longSeriesAreAveragedIntoEqualBuckets() {
        let points = (0..<100).map { (at: Double($0), value: Double($0 % 2 == 0 ? 0 : 10)) }
        let reduced = MetricSeries.downsample(points, to: 10)
        #expect(reduced.count == 10)
        #expect(reduced.allSatisfy { $0[1] == 5 })
        #expect(reduced.first?[0] == 4.5)
    }

    @Test func requestsAreRangeChecked() {
        #expect(throws: BoundsError.self) { try MetricsQueryRequest(since: 1e300).validate() }
        #expect(throws: BoundsError.self) { try MetricsQueryRequest(since: -1).validate() }
        #expect(throws: BoundsError.self) { try MetricsQueryRequest(maxPoints: 0).validate() }
        #expect(throws: BoundsError.self) { try MetricsQueryRequest(maxPoints: Int.max).validate() }
        #expect(throws: BoundsError.self) { try MetricsQueryRequest(node: "a/b").validate() }
        #expect(throws: BoundsError.self) { try MetricsQueryRequest(metrics: ["BAD"]).validate() }
        #expect(throws: BoundsError.self) { try MetricsQueryRequest(metrics: Array(repeating: "cpu_pct", count: 65)).validate() }
        #expect((try? MetricsQueryRequest(node: "n1", metrics: ["disk_used_pct@/data"], since: 600).validate()) != nil)
    }
}
