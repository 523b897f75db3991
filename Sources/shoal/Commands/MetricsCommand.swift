import ArgumentParser
import Foundation
import ShoalCommandLine
import ShoalClient
import ShoalCore

struct Metrics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show nodes' metrics over a past span: the latest value, min, max and a sparkline per node.",
        discussion: """
            Metrics are what agents read every --metrics-interval (see docs/telemetry.md for the names). \
            Spans within the dispatcher's raw window come from raw samples, longer ones from 1-minute averages.
            Examples:
              shoal metrics -s role=web
              shoal metrics edge-17 --metric cpu_pct --metric load1 --since 6h
              shoal metrics -s 'disk_used_pct>90' --metric disk_used_pct -o csv
            """)

    @Argument(help: "One node by id (instead of -s).")
    var node: String?

    @Option(name: [.short, .long], help: "Nodes matching this selector; metric values are keys too, e.g. 'role=db,disk_used_pct>80'.")
    var selector: String = ""

    @Option(name: .long, parsing: .singleValue,
            help: "A metric to show (repeatable), e.g. cpu_pct, load1, disk_used_pct@/data (default: cpu_pct, mem_used_pct, disk_used_pct).")
    var metric: [String] = []

    @Option(name: .long, help: "How far back, 1s to 400d (e.g. 15m, 6h, 7d).",
            transform: DurationArgument.parser("--since", in: Limits.metricsSince))
    var since = DurationArgument("1h", seconds: 3600)

    @Option(name: .long, help: "Points per series at most, 1 to 2000: longer series are averaged (the sparkline's width).")
    var points = 40

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let node {
            guard TopicTree.isValidLevel(node) else { throw ValidationError("'\(node)' is not a node id; see `shoal nodes`") }
            guard selector.isEmpty else { throw ValidationError("give a node or -s SELECTOR, not both") }
        }
        try SelectorValidation.check(selector, all: true)
        for name in metric {
            do {
                try MetricName.check(name, 0, field: "--metric")
            } catch {
                throw ValidationError("\(error); e.g. --metric cpu_pct or --metric disk_used_pct@/data")
            }
        }
        guard Limits.metricPoints.contains(points) else { throw ValidationError("--points must be between 1 and 2000, e.g. --points 60") }
    }

    func run() async throws {
        let request = MetricsQueryRequest(selector: selector, node: node, metrics: metric, since: since.seconds, maxPoints: points)
        let result = try await CLIRuntime.withClient(connection) { client in
            try await client.request(.queryMetrics, request, as: MetricsQueryResult.self)
        }
        if output.output == .csv {
            // For scripts: every point, one per line.
            var table = Table(headers: ["node", "metric", "time", "value"])
            table.rows = result.series.flatMap { series in
                series.points.filter { $0.count == 2 }.map { [series.node, series.metric, "\($0[0])", "\($0[1])"] }
            }
            Swift.print(table.csv())
            return
        }
        output.print(result, table: { MetricsRendering.table(result) }, footer: {
            result.series.isEmpty ? "no samples in the last \(since): are the agents running with --metrics-interval (default 10s)?" : nil
        })
    }
}
