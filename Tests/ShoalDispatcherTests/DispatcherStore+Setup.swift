import GRDB
import ShoalEngine

@testable import ShoalDispatcher

/// One-row-at-a-time writes for setting up and checking the store; the dispatcher itself
/// writes through `recordJob` and `commit`.
extension DispatcherStore {
    func saveNode(_ node: NodeRecord) throws {
        try writer.write { db in try node.upsert(db) }
    }

    func saveNodes(_ nodes: [NodeRecord]) throws {
        try writer.write { db in
            for node in nodes { try node.upsert(db) }
        }
    }

    /// The job and one `queued` execution per expected node, in one transaction.
    func createJob(_ job: JobRecord, executions: [ExecutionRecord]) throws {
        try writer.write { db in
            try job.insert(db)
            try Self.insertExecutions(executions, db)
        }
    }

    func saveExecutions(_ executions: [ExecutionRecord], finishing jobs: [(String, Double)] = []) throws {
        try writer.write { db in
            for execution in executions { try execution.update(db) }
            try Self.markFinished(jobs, db)
        }
    }

    /// Stores a chunk once; a replayed duplicate is ignored.
    func saveChunk(_ chunk: OutputChunkRecord) throws {
        try writer.write { db in try chunk.insert(db, onConflict: .ignore) }
    }

    /// New execution rows straight into `execution` (as jobs recorded before the log had
    /// them); one that exists already is left as it is.
    static func insertExecutions(_ executions: [ExecutionRecord], _ db: Database) throws {
        for execution in executions { try execution.insert(db, onConflict: .ignore) }
    }
}
