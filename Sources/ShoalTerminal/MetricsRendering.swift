import ShoalCore

/// Terminal pictures of metric values: sparklines and the short cells of node tables.
package enum MetricsRendering {
    package static let bars: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// One bar per value. Percentages are drawn on 0...100, so two nodes' lines compare;
    /// other metrics on their own min...max (a flat line when they do not change).
    package static func sparkline(_ values: [Double], metric: String) -> String {
        guard let low = values.min(), let high = values.max() else { return "" }
        let isPercent = MetricName.split(metric).base.hasSuffix("_pct")
        let floor = isPercent ? 0 : low
        let span = isPercent ? 100 : high - low
        return String(values.map { value in
            guard span > 0 else { return bars[0] }
            let step = Int(((value - floor) / span * Double(bars.count - 1)).rounded())
            return bars[min(bars.count - 1, max(0, step))]
        })
    }

    /// "42%" (one decimal under 10%), "-" when absent.
    package static func percent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "-" }
        return value < 9.95 ? "\(formatted(value, decimals: 1))%" : "\(Int(value.rounded()))%"
    }

    package static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "-" }
        if value.magnitude >= 1e12 { return formatted(value / 1e12, decimals: 1) + "T" }
        if value.magnitude >= 1e9 { return formatted(value / 1e9, decimals: 1) + "G" }
        if value.magnitude >= 1e6 { return formatted(value / 1e6, decimals: 1) + "M" }
        if value.magnitude >= 1e4 { return formatted(value / 1e3, decimals: 1) + "k" }
        return formatted(value, decimals: value.magnitude < 10 ? 2 : 1)
    }

    package static func formatted(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = "\(rounded)"
        if decimals == 0, text.hasSuffix(".0") { text.removeLast(2) }
        if let dot = text.firstIndex(of: "."), text.distance(from: dot, to: text.endIndex) - 1 < decimals {
            text += String(repeating: "0", count: decimals - (text.distance(from: dot, to: text.endIndex) - 1))
        }
        return text
    }

    /// `shoal metrics`' table: per node and metric, the last, lowest and highest value and a sparkline.
    package static func table(_ result: MetricsQueryResult) -> Table {
        var table = Table(headers: ["NODE", "METRIC", "LAST", "MIN", "MAX", "SINCE " + (result.source == "raw" ? "(raw)" : "(1-min avg)")])
        table.rows = result.series.map { series -> [String] in
            let values: [Double] = series.points.compactMap { $0.count == 2 ? $0[1] : nil }
            let isPercent = MetricName.split(series.metric).base.hasSuffix("_pct")
            func show(_ value: Double?) -> String { isPercent ? MetricsRendering.percent(value) : MetricsRendering.number(value) }
            return [series.node, series.metric, show(values.last), show(values.min()), show(values.max()),
                    MetricsRendering.sparkline(values, metric: series.metric)]
        }
        return table
    }
}
