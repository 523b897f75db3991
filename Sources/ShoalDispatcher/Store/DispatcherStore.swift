import Foundation
import GRDB
import ShoalCore
import ShoalEngine

/// Owns the dispatcher's single `DatabasePool` (SQLite in WAL mode) for the life of the
/// process, migrates it on open, and offers intent-named reads and writes. Each write
/// method is one transaction.
///
/// Thread-safe (GRDB serialises writes and runs reads concurrently).
public final class DispatcherStore: Sendable {
    let writer: any DatabaseWriter

    /// Opens (creating if needed) the database at `path`; `":memory:"` gives an in-memory one for tests.
    public init(path: String) throws {
        if path == ":memory:" {
            writer = try DatabaseQueue()
        } else {
            var configuration = Configuration()
            configuration.prepareDatabase { db in
                // Only a new, empty database takes it. A fan-in updates rows all over a job's
                // part of `execution`, so each commit rewrites most of that part's pages:
                // 16 KiB pages write the same bytes in a quarter of the calls (a 10,000-node
                // job: ~2,700 WAL writes instead of ~10,800).
                try db.execute(sql: "PRAGMA page_size = 16384")
                // WAL with NORMAL sync: durable across a killed process, one fsync per checkpoint.
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // The engine checkpoints while no job runs (`EngineShell.tick`); SQLite's
                // own checkpoint is the backstop for a dispatcher that is never idle, after
                // 8,192 frames (128 MiB of log). At the default 1,000 frames a 10,000-node
                // job, ~2,700 frames, ran a checkpoint or three in the middle of its fan-in.
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 8192")
            }
            writer = try DatabasePool(path: path, configuration: configuration)
        }
        try Self.migrator.migrate(writer)
    }

    /// Copies what the write-ahead log holds into the database file (a passive checkpoint:
    /// it never waits for readers). A no-op for an in-memory database.
    func checkpoint() throws {
        try writer.writeWithoutTransaction { db in
            _ = try db.checkpoint(.passive)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "node") { table in
                table.primaryKey("id", .text)
                table.column("labels", .text).notNull()
                table.column("online", .boolean).notNull()
                table.column("version", .text).notNull()
                table.column("bdSeq", .integer).notNull()
                table.column("heartbeatInterval", .double).notNull()
                table.column("firstSeen", .double).notNull()
                table.column("lastSeen", .double).notNull()
                table.column("clockOffset", .double)
            }
            try db.create(table: "job") { table in
                table.primaryKey("id", .text)
                table.column("selector", .text).notNull()
                table.column("task", .text).notNull()
                table.column("timeout", .double).notNull()
                table.column("deadline", .double).notNull()
                table.column("createdAt", .double).notNull().indexed()
                table.column("expected", .integer).notNull()
                table.column("finishedAt", .double)
            }
            try db.create(table: "execution") { table in
                table.column("job", .text).notNull().references("job", onDelete: .cascade)
                table.column("node", .text).notNull()
                table.column("state", .text).notNull()
                table.column("exitCode", .integer)
                table.column("reason", .text)
                table.column("startedAt", .double)
                table.column("finishedAt", .double)
                table.column("updatedAt", .double).notNull()
                table.primaryKey(["job", "node"])
            }
            try db.create(table: "output_chunk") { table in
                table.column("job", .text).notNull().references("job", onDelete: .cascade)
                table.column("node", .text).notNull()
                table.column("seq", .integer).notNull()
                table.column("stream", .text).notNull()
                table.column("data", .text).notNull()
                table.primaryKey(["job", "node", "seq"])
            }
        }
        migrator.registerMigration("v2: a job's expected nodes") { db in
            // The expected node ids, NUL-separated, written with the job before it is
            // published; its execution rows follow in the next commit (see `recordJob`).
            // Cleared when the job finishes.
            try db.alter(table: "job") { table in table.add(column: "nodes", .blob) }
        }
        migrator.registerMigration("v3: executions clustered by (job, node)") { db in
            // WITHOUT ROWID: the primary key's B-tree is the table, so each of a job's
            // thousands of inserts and updates touches one tree instead of an index and the
            // rows behind it (about a third less SQLite time per 10,000-node job).
            try db.create(table: "execution_v3", options: [.withoutRowID]) { table in
                table.column("job", .text).notNull().references("job", onDelete: .cascade)
                table.column("node", .text).notNull()
                table.column("state", .text).notNull()
                table.column("exitCode", .integer)
                table.column("reason", .text)
                table.column("startedAt", .double)
                table.column("finishedAt", .double)
                table.column("updatedAt", .double).notNull()
                table.primaryKey(["job", "node"])
            }
            try db.execute(sql: """
                INSERT INTO execution_v3 (job, node, state, exitCode, reason, startedAt, finishedAt, updatedAt)
                SELECT job, node, state, exitCode, reason, startedAt, finishedAt, updatedAt FROM execution
                """)
            try db.drop(table: "execution")
            try db.rename(table: "execution_v3", to: "execution")
        }
        migrator.registerMigration("v4: an execution log in front of the execution table") { db in
            // While a job runs, every change to one of its executions is appended here, so a
            // commit touches the log's last pages only; once the job has finished, its
            // executions are folded into `execution` in one transaction and its rows here
            // dropped (`fold`). Updating `execution` in place rewrote most of a job's pages
            // at every commit: ~40 MiB of WAL for a 10,000-node job.
            try db.create(table: "execution_log") { table in
                table.primaryKey("seq", .integer)
                table.column("job", .text).notNull().references("job", onDelete: .cascade).indexed()
                table.column("node", .text).notNull()
                table.column("state", .text).notNull()
                table.column("exitCode", .integer)
                table.column("reason", .text)
                table.column("startedAt", .double)
                table.column("finishedAt", .double)
                table.column("updatedAt", .double).notNull()
            }
        }
        migrator.registerMigration("v5: mitigation rules and their firings") { db in
            // A rule is kept whole as the JSON of its definition: it is read once at start.
            try db.create(table: "rule") { table in
                table.primaryKey("name", .text)
                table.column("definition", .text).notNull()
            }
            // Append-only: the history of `shoal rules history`, and the cooldowns at start.
            try db.create(table: "rule_firing") { table in
                table.primaryKey("seq", .integer)
                table.column("rule", .text).notNull()
                table.column("node", .text).notNull()
                table.column("cause", .text).notNull()
                table.column("at", .double).notNull()
                table.column("outcome", .text).notNull()
                table.column("job", .text)
            }
            try db.create(index: "rule_firing_by_rule", on: "rule_firing", columns: ["rule", "seq"])
        }
        migrator.registerMigration("v6: enrollment") { db in
            // One row per node that asked to enroll: what it asked with (labels, the broker
            // hash of its chosen password, never the password) and the decision.
            try db.create(table: "enrollment") { table in
                table.primaryKey("node", .text)
                table.column("state", .text).notNull()
                table.column("labels", .text).notNull()
                table.column("credentialHash", .text).notNull()
                table.column("requestedAt", .double).notNull()
                table.column("decidedAt", .double)
            }
        }
        migrator.registerMigration("v7: node states, incident jobs, cancellations, audit") { db in
            try db.alter(table: "node") { table in
                table.add(column: "admin", .text).notNull().defaults(to: NodeAdminState.active.rawValue)
                table.add(column: "isolated", .boolean).notNull().defaults(to: false)
            }
            try db.alter(table: "job") { table in
                table.add(column: "incident", .boolean).notNull().defaults(to: false)
            }
            // An operator's cancel of a job on a node, kept until the job is deleted: the
            // node is told again, instead of being sent the job, after any restart.
            try db.create(table: "cancellation") { table in
                table.column("job", .text).notNull().references("job", onDelete: .cascade)
                table.column("node", .text).notNull()
                table.column("at", .double).notNull()
                table.primaryKey(["job", "node"])
            }
            // Append-only: rows are inserted, never updated or deleted (no retention yet).
            try db.create(table: "audit") { table in
                table.primaryKey("seq", .integer)
                table.column("at", .double).notNull().indexed()
                table.column("actor", .text)
                table.column("action", .text).notNull()
                table.column("target", .text).notNull()
                table.column("detail", .text)
            }
            try db.execute(sql: """
                CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
                BEGIN SELECT RAISE(ABORT, 'the audit record is append-only'); END
                """)
            try db.execute(sql: """
                CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
                BEGIN SELECT RAISE(ABORT, 'the audit record is append-only'); END
                """)
        }
        migrator.registerMigration("v8: a job's operator signature") { db in
            // JSON of `OperatorSignature`, re-published with the job; absent for unsigned jobs.
            try db.alter(table: "job") { table in table.add(column: "signature", .text) }
        }
        migrator.registerMigration("v9: metrics") { db in
            // One row per node per reading, its values as a JSON object (`MetricValuesText`):
            // a reading of ~25 values is one B-tree insert, not 25. Clustered by time, so
            // rows arrive at the end of the tree and retention deletes from its start; the
            // index serves "this node since then". A replayed batch is ignored by the key.
            try db.create(table: "metric_sample", options: [.withoutRowID]) { table in
                table.column("at", .double).notNull()
                table.column("node", .text).notNull()
                table.column("metrics", .text).notNull()
                table.primaryKey(["at", "node"])
            }
            try db.create(index: "metric_sample_by_node", on: "metric_sample", columns: ["node", "at"])
            // 1-minute rollups of every metric, kept longer than the raw samples.
            try db.create(table: "metric_rollup", options: [.withoutRowID]) { table in
                table.column("node", .text).notNull()
                table.column("name", .text).notNull()
                table.column("minute", .double).notNull()
                table.column("count", .integer).notNull()
                table.column("min", .double).notNull()
                table.column("max", .double).notNull()
                table.column("sum", .double).notNull()
                table.primaryKey(["node", "name", "minute"])
            }
            try db.create(index: "metric_rollup_by_minute", on: "metric_rollup", columns: ["minute"])
        }
        registerLogMigration(&migrator)
        migrator.registerMigration("v11: rollouts") { db in
            // A rolled-out job's rollout (plan, batches, how many are out, the wait's start,
            // pause, abort reason) as JSON: small, read at start and by `jobs.get`.
            try db.create(table: "rollout") { table in
                table.primaryKey("job", .text).references("job", onDelete: .cascade)
                table.column("state", .text).notNull()
            }
        }
        return migrator
    }
}
