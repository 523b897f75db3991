import Foundation
import GRDB
import ShoalCore

extension DispatcherStore {
    /// Records a job with the list of nodes it expects, in one row: what must be durable
    /// before the job is published, and cheap enough to sit between a submission and its
    /// fan-out (10,000 execution rows took 20-30 ms there). The `queued` execution rows
    /// follow in the commit of the same batch (`PendingWrites.newExecutions`); after a crash
    /// in between, `restoreExecutionRows()` writes them from the list.
    func recordJob(_ job: JobRecord, expectedNodes: [String]) throws {
        try writer.write { db in
            try job.insert(db)
            try DirectStatement(db, sql: "UPDATE job SET nodes = ? WHERE id = ?").execute { row in
                row.blob(ExpectedNodes.encode(expectedNodes))
                row.text(job.id)
            }
        }
    }

    /// Stamps jobs finished; their expected-node lists are no longer needed.
    static func markFinished(_ jobs: [(String, Double)], _ db: Database) throws {
        for (job, finishedAt) in jobs {
            try db.execute(sql: "UPDATE job SET finishedAt = ?, nodes = NULL WHERE id = ?", arguments: [finishedAt, job])
        }
    }

    /// New execution rows; one that exists already is left as it is.
    static func insertExecutions(_ executions: [ExecutionRecord], _ db: Database) throws {
        guard !executions.isEmpty else { return }
        let insert = try DirectStatement(db, sql: """
            INSERT OR IGNORE INTO execution (job, node, state, updatedAt) VALUES (?, ?, ?, ?)
            """)
        for execution in executions {
            try insert.execute { row in
                row.text(execution.job)
                row.text(execution.node)
                row.text(execution.state.rawValue)
                row.double(execution.updatedAt)
            }
        }
    }

    /// Writes the missing `queued` rows of unfinished jobs recorded by `recordJob` whose
    /// rows were not committed (the dispatcher stopped in between). Returns how many.
    @discardableResult
    func restoreExecutionRows() throws -> Int {
        try writer.write { db in
            let before = db.totalChangesCount
            let jobs = try Row.fetchAll(db, sql: "SELECT id, createdAt, nodes FROM job WHERE finishedAt IS NULL AND nodes IS NOT NULL")
            for job in jobs {
                let id: String = job["id"], createdAt: Double = job["createdAt"]
                let nodes = ExpectedNodes.decode(job["nodes"] as Data? ?? Data())
                try Self.insertExecutions(nodes.map { ExecutionRecord(job: id, node: $0, state: .queued, updatedAt: createdAt) }, db)
            }
            return db.totalChangesCount - before
        }
    }
}
