import GRDB
import ShoalCore
import ShoalEngine

/// Log lines: stored once per (node, source, seq), read in time order, pruned by `LogRetention`.
extension DispatcherStore {
    static func registerLogMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v10: logs") { db in
            // Append-only but for retention, which deletes from the oldest row up.
            // `dropped` set: a note that so many lines (the last numbered `seq`) were lost.
            try db.create(table: "log_line") { table in
                table.primaryKey("row", .integer)
                table.column("node", .text).notNull()
                table.column("source", .text).notNull()
                table.column("seq", .integer).notNull()
                table.column("at", .double).notNull()
                table.column("storedAt", .double).notNull()
                table.column("text", .text).notNull()
                table.column("dropped", .integer)
                table.column("reason", .text)
            }
            // The agent's numbers make a redelivered batch (or a restart's re-read) a no-op.
            try db.create(index: "log_line_once", on: "log_line", columns: ["node", "source", "seq"], unique: true)
            // "node + time": `shoal logs -s ...` and `--since`.
            try db.create(index: "log_line_by_node_time", on: "log_line", columns: ["node", "at"])
            // Every node, in time order.
            try db.create(index: "log_line_by_time", on: "log_line", columns: ["at"])
        }
    }

    static func appendLogs(_ entries: [LogEntryRecord], _ db: Database) throws {
        guard !entries.isEmpty else { return }
        let insert = try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO log_line (node, source, seq, at, storedAt, text, dropped, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for entry in entries {
            try insert.execute(arguments: [entry.node, entry.source, entry.seq, entry.at, entry.storedAt, entry.text,
                                           entry.dropped, entry.reason])
        }
    }

    /// Lines of `nodes` (every node's when nil) in (time, row) order after `cursor`, at most
    /// `limit` of them and about `maxBytes` of text.
    func logPage(nodes: [String]?, source: String?, since: Double?, after cursor: LogCursor?, limit: Int,
                 maxBytes: Int) throws -> LogPage {
        try writer.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let nodes {
                guard !nodes.isEmpty else { return LogPage(entries: [], next: nil) }
                conditions.append("node IN (\(databaseQuestionMarks(count: nodes.count)))")
                arguments += StatementArguments(nodes)
            }
            if let source {
                conditions.append("source = ?")
                arguments += [source]
            }
            if let since {
                conditions.append("at >= ?")
                arguments += [since]
            }
            if let cursor {
                conditions.append("(at > ? OR (at = ? AND row > ?))")
                arguments += [cursor.at, cursor.at, cursor.row]
            }
            let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            let rows = try Row.fetchCursor(db, sql: """
                SELECT row, node, source, seq, at, text, dropped, reason FROM log_line\(filter) ORDER BY at, row LIMIT ?
                """, arguments: arguments + [limit + 1])
            var entries: [LogEntryView] = []
            var used = 0
            var last: LogCursor?
            while let row = try rows.next() {
                let text: String = row["text"]
                let size = text.utf8.count + 128
                if entries.count == limit || (!entries.isEmpty && used + size > maxBytes) {
                    return LogPage(entries: entries, next: last)
                }
                used += size
                let dropped: Int64? = row["dropped"]
                let reason: String? = row["reason"]
                let seq: Int64 = row["seq"]
                entries.append(LogEntryView(node: row["node"], source: row["source"], seq: UInt64(clamping: seq), at: row["at"],
                                            text: text, dropped: dropped.map { UInt64(clamping: $0) },
                                            reason: reason.flatMap(LogDropReason.init(rawValue:))))
                last = LogCursor(at: row["at"], row: row["row"])
            }
            return LogPage(entries: entries, next: nil)
        }
    }

    /// Deletes what `retention` no longer keeps, oldest first, at most `maxRows` rows per
    /// call (a large delete would hold up the reports behind it). Returns the rows deleted.
    func pruneLogs(_ retention: LogRetention, now: Double, maxRows: Int = 10_000) throws -> Int {
        try writer.write { db in
            let total = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(length(CAST(text AS BLOB))), 0) FROM log_line") ?? 0
            let oldest = try Row.fetchAll(db, sql: """
                SELECT row, storedAt, length(CAST(text AS BLOB)) AS bytes FROM log_line ORDER BY row LIMIT ?
                """, arguments: [maxRows]).map { LogRetention.StoredLine(row: $0["row"], at: $0["storedAt"], bytes: $0["bytes"]) }
            guard let last = retention.lastExpired(oldest: oldest, totalBytes: total, now: now) else { return 0 }
            try db.execute(sql: "DELETE FROM log_line WHERE row <= ?", arguments: [last])
            return db.changesCount
        }
    }
}
