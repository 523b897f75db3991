import GRDB
import ShoalCore

extension DispatcherStore {
    func allNodes() throws -> [NodeRecord] {
        try writer.read { db in try NodeRecord.order(Column("id")).fetchAll(db) }
    }

    func job(_ id: String) throws -> JobRecord? {
        try writer.read { db in try JobRecord.fetchOne(db, key: id) }
    }

    func unfinishedJobs() throws -> [(JobRecord, [ExecutionRecord])] {
        try writer.read { db in
            let jobs = try JobRecord.filter(JobRecord.Columns.finishedAt == nil).fetchAll(db)
            return try jobs.map { job in
                (job, try ExecutionRecord.filter(ExecutionRecord.Columns.job == job.id).fetchAll(db))
            }
        }
    }

    func recentJobs(limit: Int) throws -> [(JobRecord, [String: Int])] {
        try writer.read { db in
            let jobs = try JobRecord.order(JobRecord.Columns.createdAt.desc).limit(limit).fetchAll(db)
            return try jobs.map { job in (job, try Self.counts(db, job: job.id)) }
        }
    }

    func executions(of job: String) throws -> [ExecutionRecord] {
        try writer.read { db in
            try ExecutionRecord.filter(ExecutionRecord.Columns.job == job).order(ExecutionRecord.Columns.node).fetchAll(db)
        }
    }

    func counts(of job: String) throws -> [String: Int] {
        try writer.read { db in try Self.counts(db, job: job) }
    }

    private static func counts(_ db: Database, job: String) throws -> [String: Int] {
        let rows = try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM execution WHERE job = ? GROUP BY state",
                                    arguments: [job])
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["state"] as String, $0["n"] as Int) })
    }

    /// Output of one execution (or of all of a job's when `node` is nil), by node, in order.
    func output(of job: String, node: String? = nil) throws -> [String: (stdout: String, stderr: String)] {
        try writer.read { db in
            var request = OutputChunkRecord.filter(OutputChunkRecord.Columns.job == job)
            if let node { request = request.filter(OutputChunkRecord.Columns.node == node) }
            let chunks = try request.order(OutputChunkRecord.Columns.node, OutputChunkRecord.Columns.seq).fetchAll(db)
            var result: [String: (stdout: String, stderr: String)] = [:]
            for chunk in chunks {
                if chunk.stream == OutputChannel.stderr.rawValue {
                    result[chunk.node, default: ("", "")].stderr += chunk.data
                } else {
                    result[chunk.node, default: ("", "")].stdout += chunk.data
                }
            }
            return result
        }
    }
}
