import GRDB
import ShoalCore
import ShoalEngine

extension DispatcherStore {
    /// Writes one batch of the engine's changes as a single transaction.
    func commit(_ batch: PendingWrites) throws {
        try writer.write { db in
            for node in batch.nodes.values { try node.upsert(db) }
            // The hot path of a large fan-in: appended to the log (see migration v4), through
            // one cached statement with values bound directly (GRDB's record API encodes each
            // row into a dictionary first: 20 µs -> ~5 µs -> ~1 µs).
            try Self.appendToLog(batch.executions.values, db)
            let insertChunk = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO output_chunk (job, node, seq, stream, data) VALUES (?, ?, ?, ?, ?)
                """)
            for chunk in batch.chunks {
                try insertChunk.execute(arguments: [chunk.job, chunk.node, chunk.seq, chunk.stream, chunk.data])
            }
            try Self.markFinished(batch.finishedJobs, db)
            for enrollment in batch.enrollments.values { try enrollment.upsert(db) }
            for node in batch.forgottenNodes {
                try db.execute(sql: "DELETE FROM node WHERE id = ?", arguments: [node])
            }
            for cancellation in batch.cancellations {
                try db.execute(sql: "INSERT OR IGNORE INTO cancellation (job, node, at) VALUES (?, ?, ?)",
                               arguments: [cancellation.job, cancellation.node, cancellation.at])
            }
            try Self.append(batch.audit, db)
            try Self.insertMetrics(batch.metricSamples, rollups: batch.metricRollups, db)
            try Self.appendLogs(batch.logEntries, db)
            for (job, rollout) in batch.rollouts { try Self.saveRollout(rollout, job: job, db) }
        }
    }
}
