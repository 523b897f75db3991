import Foundation
import GRDB
import ShoalCore
import ShoalEngine

extension DispatcherStore {
    /// Records a job with the list of nodes it expects, in one row: what must be durable
    /// before the job is published, and cheap enough to sit between a submission and its
    /// fan-out (10,000 execution rows took 20-30 ms there). Until the job is folded, its
    /// executions are that list, `queued`, overlaid by the log (`executions(_:job:)`).
    func recordJob(_ job: JobRecord, expectedNodes: [String], audit: AuditRecord? = nil, rollout: Rollout? = nil) throws {
        try writer.write { db in
            try job.insert(db)
            if let audit { try Self.append([audit], db) }
            if let rollout { try Self.saveRollout(rollout, job: job.id, db) }
            try DirectStatement(db, sql: "UPDATE job SET nodes = ? WHERE id = ?").execute { row in
                row.blob(ExpectedNodes.encode(expectedNodes))
                row.text(job.id)
            }
        }
    }

    /// Appends operators' actions to the audit record.
    static func append(_ entries: [AuditRecord], _ db: Database) throws {
        for entry in entries {
            try db.execute(sql: "INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
                           arguments: [entry.at, entry.actor, entry.action.rawValue, entry.target, entry.detail])
        }
    }

    /// Stamps jobs finished (their executions are folded later, `fold`).
    static func markFinished(_ jobs: [(String, Double)], _ db: Database) throws {
        for (job, finishedAt) in jobs {
            try db.execute(sql: "UPDATE job SET finishedAt = ? WHERE id = ?", arguments: [finishedAt, job])
        }
    }

    /// Appends the executions' current states to the log.
    static func appendToLog(_ executions: some Sequence<ExecutionRecord>, _ db: Database) throws {
        let append = try DirectStatement(db, sql: """
            INSERT INTO execution_log (job, node, state, exitCode, reason, startedAt, finishedAt, updatedAt)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for execution in executions {
            try append.execute { row in row.execution(execution) }
        }
    }

    /// Writes finished jobs' executions into `execution` (in key order, one pass over the
    /// pages), then drops their log rows and their node lists: one transaction. Jobs that
    /// are not finished, or were folded already, are left alone. Returns how many were folded.
    @discardableResult
    func fold(_ jobs: [(job: String, executions: [ExecutionRecord])]) throws -> Int {
        try writer.write { db in try Self.fold(jobs, db) }
    }

    private static func fold(_ jobs: [(job: String, executions: [ExecutionRecord])], _ db: Database) throws -> Int {
        var folded = 0
        let write = try DirectStatement(db, sql: """
            INSERT OR REPLACE INTO execution (job, node, state, exitCode, reason, startedAt, finishedAt, updatedAt)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for (job, executions) in jobs {
            guard try Bool.fetchOne(db, sql: "SELECT finishedAt IS NOT NULL AND nodes IS NOT NULL FROM job WHERE id = ?",
                                    arguments: [job]) == true else { continue }
            // Near key order is what matters (pages filled one after the other), and String's
            // own comparison is several times faster than comparing UTF-8 views.
            for execution in executions.sorted(by: { $0.node < $1.node }) {
                try write.execute { row in row.execution(execution) }
            }
            try db.execute(sql: "DELETE FROM execution_log WHERE job = ?", arguments: [job])
            try db.execute(sql: "UPDATE job SET nodes = NULL WHERE id = ?", arguments: [job])
            folded += 1
        }
        return folded
    }

    /// Folds every finished job that is not yet (the dispatcher stopped before it could).
    /// Their executions are read back from the list and the log.
    @discardableResult
    func foldFinishedJobs() throws -> Int {
        try writer.write { db in
            let jobs = try String.fetchAll(db, sql: "SELECT id FROM job WHERE finishedAt IS NOT NULL AND nodes IS NOT NULL")
            return try Self.fold(try jobs.map { ($0, try Self.executions(db, job: $0)) }, db)
        }
    }
}
