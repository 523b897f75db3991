import GRDB
import ShoalCore
import ShoalEngine

extension DispatcherStore {
    /// Finished, folded jobs with the bytes of output each keeps: what `RetentionPolicy` decides on.
    func finishedJobSizes() throws -> [RetentionPolicy.FinishedJob] {
        try writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, finishedAt,
                       COALESCE((SELECT SUM(length(CAST(data AS BLOB))) FROM output_chunk WHERE output_chunk.job = job.id), 0) AS bytes
                FROM job WHERE finishedAt IS NOT NULL AND nodes IS NULL
                """).map { RetentionPolicy.FinishedJob(id: $0["id"], finishedAt: $0["finishedAt"], outputBytes: $0["bytes"]) }
        }
    }

    /// Deletes jobs with their executions and output (the foreign keys cascade).
    func deleteJobs(_ ids: [String]) throws {
        guard !ids.isEmpty else { return }
        try writer.write { db in
            for id in ids {
                try db.execute(sql: "DELETE FROM output_chunk WHERE job = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM execution WHERE job = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM execution_log WHERE job = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM job WHERE id = ?", arguments: [id])
            }
        }
    }
}
