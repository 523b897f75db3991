import GRDB
import ShoalCore

extension DispatcherStore {
    func saveNode(_ node: NodeRecord) throws {
        try writer.write { db in try node.upsert(db) }
    }

    func saveNodes(_ nodes: [NodeRecord]) throws {
        guard !nodes.isEmpty else { return }
        try writer.write { db in
            for node in nodes { try node.upsert(db) }
        }
    }

    /// The job and one `queued` execution per expected node, in one transaction.
    func createJob(_ job: JobRecord, executions: [ExecutionRecord]) throws {
        try writer.write { db in
            try job.insert(db)
            let insert = try DirectStatement(db, sql: "INSERT INTO execution (job, node, state, updatedAt) VALUES (?, ?, ?, ?)")
            for execution in executions {
                try insert.execute { row in
                    row.text(execution.job)
                    row.text(execution.node)
                    row.text(execution.state.rawValue)
                    row.double(execution.updatedAt)
                }
            }
        }
    }

    func saveExecutions(_ executions: [ExecutionRecord], finishing jobs: [(String, Double)] = []) throws {
        try writer.write { db in
            for execution in executions { try execution.update(db) }
            for (job, finishedAt) in jobs {
                try db.execute(sql: "UPDATE job SET finishedAt = ? WHERE id = ?", arguments: [finishedAt, job])
            }
        }
    }

    /// Stores a chunk once; a replayed duplicate is ignored.
    func saveChunk(_ chunk: OutputChunkRecord) throws {
        try writer.write { db in try chunk.insert(db, onConflict: .ignore) }
    }
}
