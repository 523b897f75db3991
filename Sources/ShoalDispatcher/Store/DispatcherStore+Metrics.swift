import Foundation
import GRDB
import ShoalCore
import ShoalEngine

/// Metrics: raw samples (one row per node per reading) and 1-minute rollups (migration v8).
extension DispatcherStore {
    static func insertMetrics(_ samples: [MetricSampleRecord], rollups: [MetricRollupRecord], _ db: Database) throws {
        if !samples.isEmpty {
            let insert = try DirectStatement(db, sql: "INSERT OR IGNORE INTO metric_sample (at, node, metrics) VALUES (?, ?, ?)")
            for sample in samples {
                try insert.execute { row in
                    row.double(sample.at)
                    row.text(sample.node)
                    row.text(MetricValuesText.encode(sample.values))
                }
            }
        }
        if !rollups.isEmpty {
            // A minute written before (a late sample's partial rollup) is added to, not replaced.
            let upsert = try DirectStatement(db, sql: """
                INSERT INTO metric_rollup (node, name, minute, count, min, max, sum) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (node, name, minute) DO UPDATE SET count = count + excluded.count,
                    min = MIN(min, excluded.min), max = MAX(max, excluded.max), sum = sum + excluded.sum
                """)
            for rollup in rollups {
                try upsert.execute { row in
                    row.text(rollup.node)
                    row.text(rollup.name)
                    row.double(rollup.minute)
                    row.integer(Int64(rollup.count))
                    row.double(rollup.min)
                    row.double(rollup.max)
                    row.double(rollup.sum)
                }
            }
        }
    }

    /// Deletes raw samples taken before `raw` and rollups of minutes before `rollup`, at
    /// most `slice` seconds of samples per call: a backlog of days goes in small
    /// transactions that never hold the writer long. Returns the rows deleted.
    @discardableResult
    func pruneMetrics(rawBefore raw: Double, rollupBefore rollup: Double, slice: Double = 300) throws -> Int {
        try writer.write { db in
            guard let oldest = try Double.fetchOne(db, sql: "SELECT MIN(at) FROM metric_sample") else {
                try db.execute(sql: "DELETE FROM metric_rollup WHERE minute < ?", arguments: [rollup])
                return db.changesCount
            }
            try db.execute(sql: "DELETE FROM metric_sample WHERE at < ?", arguments: [min(raw, oldest + slice)])
            var deleted = db.changesCount
            try db.execute(sql: "DELETE FROM metric_rollup WHERE minute < ?", arguments: [rollup])
            deleted += db.changesCount
            return deleted
        }
    }

    /// Raw samples of `nodes` since `since`, oldest first, reduced to `names`.
    func rawMetrics(nodes: [String], names: Set<String>, since: Double) throws -> [String: [(at: Double, values: [String: Double])]] {
        try writer.read { db in
            var result: [String: [(at: Double, values: [String: Double])]] = [:]
            let statement = try db.cachedStatement(sql: "SELECT at, metrics FROM metric_sample WHERE node = ? AND at >= ? ORDER BY at")
            for node in nodes {
                let rows = try Row.fetchCursor(statement, arguments: [node, since])
                var points: [(at: Double, values: [String: Double])] = []
                while let row = try rows.next() {
                    let values = MetricValuesText.decode(row["metrics"]).filter { names.contains($0.key) }
                    if !values.isEmpty { points.append((row["at"], values)) }
                }
                if !points.isEmpty { result[node] = points }
            }
            return result
        }
    }

    /// Rollups of `nodes` and `names` since `since`, oldest first.
    func rollupMetrics(nodes: [String], names: [String], since: Double) throws -> [MetricRollupRecord] {
        try writer.read { db in
            var result: [MetricRollupRecord] = []
            let statement = try db.cachedStatement(sql: """
                SELECT minute, count, min, max, sum FROM metric_rollup WHERE node = ? AND name = ? AND minute >= ? ORDER BY minute
                """)
            for node in nodes {
                for name in names {
                    let rows = try Row.fetchCursor(statement, arguments: [node, name, MetricRollups.minute(of: since)])
                    while let row = try rows.next() {
                        result.append(MetricRollupRecord(node: node, name: name, minute: row["minute"], count: row["count"],
                                                         min: row["min"], max: row["max"], sum: row["sum"]))
                    }
                }
            }
            return result
        }
    }

    /// Rows in each metric table (tests, `bench/ingest`).
    func metricRowCounts() throws -> (samples: Int, rollups: Int) {
        try writer.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM metric_sample") ?? 0,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM metric_rollup") ?? 0)
        }
    }
}

/// A sample's values as the JSON object stored in `metric_sample.metrics` (SQLite's JSON
/// functions read it too: `json_extract(metrics, '$.cpu_pct')`).
enum MetricValuesText {
    /// Names are checked (`MetricName`) before they get here; a qualifier may still hold
    /// a quote or a backslash, which are escaped. Values are finite (checked too).
    static func encode(_ values: [String: Double]) -> String {
        var text = "{"
        text.reserveCapacity(values.count * 28)
        var first = true
        for (name, value) in values {
            if !first { text += "," }
            first = false
            text += "\""
            for scalar in name.unicodeScalars {
                switch scalar {
                case "\"": text += "\\\""
                case "\\": text += "\\\\"
                default: text.unicodeScalars.append(scalar)
                }
            }
            text += "\":"
            text += value.description
        }
        text += "}"
        return text
    }

    static func decode(_ text: String) -> [String: Double] {
        (try? JSONDecoder().decode([String: Double].self, from: Data(text.utf8))) ?? [:]
    }
}
