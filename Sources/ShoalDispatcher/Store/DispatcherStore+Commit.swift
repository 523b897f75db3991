import GRDB
import ShoalCore

extension DispatcherStore {
    /// Writes one batch of the engine's changes as a single transaction.
    func commit(_ batch: PendingWrites) throws {
        try writer.write { db in
            for node in batch.nodes.values { try node.upsert(db) }
            for execution in batch.executions.values { try execution.update(db) }
            for chunk in batch.chunks { try chunk.insert(db, onConflict: .ignore) }
            for (job, finishedAt) in batch.finishedJobs {
                try db.execute(sql: "UPDATE job SET finishedAt = ? WHERE id = ?", arguments: [finishedAt, job])
            }
        }
    }
}
