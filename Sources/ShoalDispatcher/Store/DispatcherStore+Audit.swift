import GRDB
import ShoalCore
import ShoalEngine

extension DispatcherStore {
    /// The most recent `limit` entries at or after `since`, oldest first.
    func auditEntries(since: Double?, limit: Int) throws -> [AuditEntry] {
        try writer.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT seq, at, actor, action, target, detail FROM audit WHERE at >= ? ORDER BY seq DESC LIMIT ?
                """, arguments: [since ?? 0, limit])
            return rows.reversed().map { row in
                AuditEntry(seq: row["seq"], at: row["at"], actor: row["actor"], action: row["action"],
                           target: row["target"], detail: row["detail"])
            }
        }
    }

    /// Cancel requests of jobs not yet finished: job id → nodes.
    func openCancellations() throws -> [String: Set<String>] {
        try writer.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT c.job, c.node FROM cancellation c JOIN job j ON j.id = c.job WHERE j.finishedAt IS NULL
                """)
            var byJob: [String: Set<String>] = [:]
            for row in rows { byJob[row["job"], default: []].insert(row["node"]) }
            return byJob
        }
    }
}
