import Foundation
import GRDB
import ShoalCore
import ShoalEngine

/// Rollouts (migration v8): one row per rolled-out job, the rollout's whole state as JSON,
/// written with the job and again in the commit of every change (a batch released, a
/// wait begun, a pause, an abort), so that a restarted dispatcher goes on where it was.
extension DispatcherStore {
    static func saveRollout(_ rollout: Rollout, job: String, _ db: Database) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO rollout (job, state) VALUES (?, ?)",
                       arguments: [job, String(decoding: Wire.encode(rollout), as: UTF8.self)])
    }

    /// The rollouts of jobs not finished, for the engine at start.
    func openRollouts() throws -> [String: Rollout] {
        try writer.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT r.job, r.state FROM rollout r JOIN job j ON j.id = r.job WHERE j.finishedAt IS NULL
                """)
            return try Dictionary(uniqueKeysWithValues: rows.map { row in
                (row["job"] as String, try Self.decodeRollout(row["state"]))
            })
        }
    }

    /// One job's rollout as last committed, or nil when it has none.
    func rollout(of job: String) throws -> Rollout? {
        try writer.read { db in
            try String.fetchOne(db, sql: "SELECT state FROM rollout WHERE job = ?", arguments: [job]).map(Self.decodeRollout)
        }
    }

    /// The rollouts of some jobs, by job id (for lists).
    func rollouts(of jobs: [String]) throws -> [String: Rollout] {
        guard !jobs.isEmpty else { return [:] }
        return try writer.read { db in
            let marks = Array(repeating: "?", count: jobs.count).joined(separator: ",")
            let rows = try Row.fetchAll(db, sql: "SELECT job, state FROM rollout WHERE job IN (\(marks))",
                                        arguments: StatementArguments(jobs))
            return try Dictionary(uniqueKeysWithValues: rows.map { row in
                (row["job"] as String, try Self.decodeRollout(row["state"]))
            })
        }
    }

    private static func decodeRollout(_ text: String) throws -> Rollout {
        try Wire.decode(Rollout.self, from: Array(text.utf8))
    }
}
