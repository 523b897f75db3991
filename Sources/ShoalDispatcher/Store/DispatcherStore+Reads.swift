import Foundation
import GRDB
import ShoalCore
import ShoalEngine

extension DispatcherStore {
    func allNodes() throws -> [NodeRecord] {
        try writer.read { db in try NodeRecord.order(Column("id")).fetchAll(db) }
    }

    func allEnrollments() throws -> [EnrollmentRecord] {
        try writer.read { db in try EnrollmentRecord.order(Column("node")).fetchAll(db) }
    }

    func job(_ id: String) throws -> JobRecord? {
        try writer.read { db in try JobRecord.fetchOne(db, key: id) }
    }

    func unfinishedJobs() throws -> [(JobRecord, [ExecutionRecord])] {
        try writer.read { db in
            let jobs = try JobRecord.filter(JobRecord.Columns.finishedAt == nil).fetchAll(db)
            return try jobs.map { job in (job, try Self.executions(db, job: job.id)) }
        }
    }

    func recentJobs(limit: Int) throws -> [(JobRecord, [String: Int])] {
        try writer.read { db in
            let jobs = try JobRecord.order(JobRecord.Columns.createdAt.desc).limit(limit).fetchAll(db)
            return try jobs.map { job in (job, try Self.counts(db, job: job.id)) }
        }
    }

    func executions(of job: String) throws -> [ExecutionRecord] {
        try writer.read { db in try Self.executions(db, job: job) }
    }

    func counts(of job: String) throws -> [String: Int] {
        try writer.read { db in try Self.counts(db, job: job) }
    }

    /// A job's executions as they stand, by node. Once folded, its rows of `execution`.
    /// Before (the job still holds its node list): every expected node, `queued` since the
    /// job was created, overlaid by any row of `execution` (jobs recorded before the log
    /// existed) and then by the log, latest last.
    static func executions(_ db: Database, job: String) throws -> [ExecutionRecord] {
        let stored = try ExecutionRecord.filter(ExecutionRecord.Columns.job == job).order(ExecutionRecord.Columns.node).fetchAll(db)
        guard let row = try Row.fetchOne(db, sql: "SELECT createdAt, nodes FROM job WHERE id = ?", arguments: [job]),
              let list = row["nodes"] as Data? else { return stored }
        let createdAt: Double = row["createdAt"]
        var byNode = Dictionary(stored.map { ($0.node, $0) }, uniquingKeysWith: { _, last in last })
        for node in ExpectedNodes.decode(list) where byNode[node] == nil {
            byNode[node] = ExecutionRecord(job: job, node: node, state: .queued, updatedAt: createdAt)
        }
        let logged = try ExecutionRecord.fetchAll(db, sql: """
            SELECT job, node, state, exitCode, reason, startedAt, finishedAt, updatedAt
            FROM execution_log WHERE job = ? ORDER BY seq
            """, arguments: [job])
        for execution in logged { byNode[execution.node] = execution }
        // Byte order, as SQLite sorts the folded rows.
        return byNode.values.sorted { $0.node.utf8.lexicographicallyPrecedes($1.node.utf8) }
    }

    private static func counts(_ db: Database, job: String) throws -> [String: Int] {
        let folded = try Bool.fetchOne(db, sql: "SELECT nodes IS NULL FROM job WHERE id = ?", arguments: [job]) ?? true
        guard folded else {
            return try executions(db, job: job).reduce(into: [:]) { $0[$1.state.rawValue, default: 0] += 1 }
        }
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

extension DispatcherStore {
    /// One page of a job's stored output in (node, seq) order, after `cursor`: whole chunks
    /// while they fit `maxBytes` (as JSON), and always at least one, so paging progresses.
    func outputPage(of job: String, node: String?, after cursor: OutputCursor?, maxBytes: Int) throws -> OutputPage {
        try writer.read { db in
            var sql = "SELECT node, seq, stream, data FROM output_chunk WHERE job = ?"
            var arguments: StatementArguments = [job]
            if let node {
                sql += " AND node = ?"
                arguments += [node]
            }
            if let cursor {
                sql += " AND (node > ? OR (node = ? AND seq > ?))"
                arguments += [cursor.node, cursor.node, cursor.seq]
            }
            sql += " ORDER BY node, seq"
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            var chunks: [OutputChunkView] = []
            var used = 0
            while let row = try rows.next() {
                let data: String = row["data"]
                let size = OutputBudget.jsonSize(data) + 64
                if !chunks.isEmpty && used + size > maxBytes {
                    let last = chunks[chunks.count - 1]
                    return OutputPage(job: job, chunks: chunks, next: OutputCursor(node: last.node, seq: last.seq))
                }
                used += size
                chunks.append(OutputChunkView(node: row["node"], seq: row["seq"],
                                              stream: OutputChannel(rawValue: row["stream"]) ?? .stdout, data: data))
            }
            return OutputPage(job: job, chunks: chunks, next: nil)
        }
    }
}
