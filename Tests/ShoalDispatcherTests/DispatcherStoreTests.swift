import Foundation
import GRDB
import ShoalCore
import ShoalEngine
import ShoalTestSupport
import Testing

@testable import ShoalDispatcher

/// The store's behaviour, run on an in-memory database and on a WAL file pool.
@Suite struct DispatcherStoreTests {
    static func withStores(_ body: (DispatcherStore) throws -> Void) async throws {
        try body(try DispatcherStore(path: ":memory:"))
        try await withTemporaryDirectory("shoal-store") { directory in
            try body(try DispatcherStore(path: directory + "/shoal.db"))
        }
    }

    static func job(_ id: String, expected: Int, at time: Double = 100) -> JobRecord {
        JobRecord(id: id, selector: "role=web", task: .exec(["true"]), timeout: 60, deadline: time + 600,
                  createdAt: time, expected: expected, finishedAt: nil)
    }

    @Test func aNewDatabaseFileHasSixteenKiBPages() async throws {
        try await withTemporaryDirectory("shoal-store") { directory in
            let store = try DispatcherStore(path: directory + "/shoal.db")
            let pageSize = try store.writer.read { try Int.fetchOne($0, sql: "PRAGMA page_size") }
            #expect(pageSize == 16384)
            let journal = try store.writer.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
            #expect(journal == "wal")
        }
    }

    @Test func aCheckpointEmptiesTheWriteAheadLog() async throws {
        try await withTemporaryDirectory("shoal-store") { directory in
            let store = try DispatcherStore(path: directory + "/shoal.db")
            try store.recordJob(Self.job("j1", expected: 2), expectedNodes: ["a", "b"])
            func walFrames() throws -> (log: Int, checkpointed: Int) {
                let row = try #require(try store.writer.writeWithoutTransaction {
                    try Row.fetchOne($0, sql: "PRAGMA wal_checkpoint(PASSIVE)")
                })
                return (row[1], row[2])
            }
            // Left alone, SQLite would checkpoint only after thousands of frames; after
            // `checkpoint()` another pass finds the log's frames all copied already.
            try store.checkpoint()
            let after = try walFrames()
            #expect(after.log > 0)
            #expect(after.log == after.checkpointed)
            #expect(try store.job("j1") != nil)
        }
        // An in-memory store has no log: nothing to do, nothing thrown.
        try DispatcherStore(path: ":memory:").checkpoint()
    }

    @Test func aJobAndItsExecutionsAreStoredTogether() async throws {
        try await Self.withStores { store in
            let executions = ["a", "b"].map { ExecutionRecord(job: "j1", node: $0, state: .queued, updatedAt: 100) }
            try store.createJob(Self.job("j1", expected: 2), executions: executions)
            #expect(try store.job("j1")?.expected == 2)
            #expect(try store.executions(of: "j1").map(\.node) == ["a", "b"])
            #expect(try store.counts(of: "j1") == ["queued": 2])
            #expect(try store.unfinishedJobs().map(\.0.id) == ["j1"])
        }
    }

    @Test func aRecordedJobsExecutionsAreItsNodesQueuedUntilTheyReport() async throws {
        try await Self.withStores { store in
            try store.recordJob(Self.job("j1", expected: 3), expectedNodes: ["a", "b", "né"])
            let queued = try store.executions(of: "j1")
            #expect(queued.map(\.node) == ["a", "b", "né"])
            #expect(queued.allSatisfy { $0.state == .queued && $0.updatedAt == 100 })
            #expect(try store.counts(of: "j1") == ["queued": 3])
            #expect(try store.unfinishedJobs().map { $0.1.count } == [3])
        }
    }

    static func report(_ job: String, _ node: String, _ state: ExecutionState, at time: Double) -> ExecutionRecord {
        ExecutionRecord(job: job, node: node, state: state, exitCode: state == .succeeded ? 0 : nil,
                        startedAt: time - 1, finishedAt: state.isTerminal ? time : nil, updatedAt: time)
    }

    static func commit(_ executions: [ExecutionRecord], finishing jobs: [(String, Double)] = [], _ store: DispatcherStore) throws {
        var batch = PendingWrites()
        executions.forEach { batch.save($0) }
        batch.finishedJobs = jobs
        try store.commit(batch)
    }

    static func rowCount(_ table: String, job: String, _ store: DispatcherStore) throws -> Int {
        try store.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM \(table) WHERE job = ?", arguments: [job]) ?? 0 }
    }

    @Test func reportsGoToTheLogAndTheLatestOneCounts() async throws {
        try await Self.withStores { store in
            try store.recordJob(Self.job("j1", expected: 2), expectedNodes: ["a", "b"])
            try Self.commit([Self.report("j1", "a", .running, at: 101)], store)
            try Self.commit([Self.report("j1", "a", .succeeded, at: 102), Self.report("j1", "b", .running, at: 102)], store)
            // Appended, not updated in place: the execution table is untouched while the job runs.
            #expect(try Self.rowCount("execution_log", job: "j1", store) == 3)
            #expect(try Self.rowCount("execution", job: "j1", store) == 0)
            let executions = try store.executions(of: "j1")
            #expect(executions.map(\.state) == [.succeeded, .running])
            #expect(executions.first?.finishedAt == 102)
            #expect(try store.counts(of: "j1") == ["succeeded": 1, "running": 1])
            // A restart sees the same.
            #expect(try store.unfinishedJobs().first?.1.map(\.state) == [.succeeded, .running])
        }
    }

    @Test func aFinishedJobIsFoldedIntoTheExecutionTable() async throws {
        try await Self.withStores { store in
            try store.recordJob(Self.job("j1", expected: 2), expectedNodes: ["b", "a"])
            try Self.commit([Self.report("j1", "a", .running, at: 101)], store)
            // Not finished yet: folding leaves it alone.
            #expect(try store.fold([("j1", try store.executions(of: "j1"))]) == 0)
            try Self.commit([Self.report("j1", "a", .succeeded, at: 102), Self.report("j1", "b", .failed, at: 103)],
                            finishing: [("j1", 103)], store)
            // The engine folds what it holds in memory; here, what the store reads back.
            let before = try store.executions(of: "j1")
            #expect(try store.fold([("j1", before.reversed())]) == 1)
            #expect(try Self.rowCount("execution_log", job: "j1", store) == 0)
            #expect(try Self.rowCount("execution", job: "j1", store) == 2)
            #expect(try store.executions(of: "j1").map(\.node) == before.map(\.node))
            #expect(try store.executions(of: "j1").map(\.state) == [.succeeded, .failed])
            #expect(try store.counts(of: "j1") == ["succeeded": 1, "failed": 1])
            #expect(try store.job("j1")?.finishedAt == 103)
            // Once is enough.
            #expect(try store.fold([("j1", before)]) == 0)
            #expect(try store.foldFinishedJobs() == 0)
        }
    }

    @Test func aJobRecordedBeforeTheLogHadRowsIsReadAndFoldedWithThem() async throws {
        try await Self.withStores { store in
            // As the dispatcher wrote a job before migration v4: its node list and a
            // `queued` row per node, one of them already updated in place.
            try store.recordJob(Self.job("old", expected: 3), expectedNodes: ["a", "b", "c"])
            try store.writer.write { db in
                try DispatcherStore.insertExecutions(["a", "b", "c"].map {
                    ExecutionRecord(job: "old", node: $0, state: .queued, updatedAt: 100)
                }, db)
                try db.execute(sql: "UPDATE execution SET state = 'running', updatedAt = 101 WHERE job = 'old' AND node = 'a'")
            }
            // After the upgrade, reports go to the log.
            try Self.commit([Self.report("old", "b", .succeeded, at: 102)], store)
            #expect(try store.executions(of: "old").map(\.state) == [.running, .succeeded, .queued])
            #expect(try store.counts(of: "old") == ["running": 1, "succeeded": 1, "queued": 1])
            try Self.commit([Self.report("old", "a", .succeeded, at: 103), Self.report("old", "c", .failed, at: 103)],
                            finishing: [("old", 103)], store)
            #expect(try store.foldFinishedJobs() == 1)
            #expect(try store.executions(of: "old").map(\.state) == [.succeeded, .succeeded, .failed])
            #expect(try Self.rowCount("execution", job: "old", store) == 3)
            #expect(try Self.rowCount("execution_log", job: "old", store) == 0)
        }
    }

    @Test func finishedJobsLeftUnfoldedByAStopAreFoldedAtStart() async throws {
        try await Self.withStores { store in
            try store.recordJob(Self.job("done", expected: 1), expectedNodes: ["a"])
            try Self.commit([Self.report("done", "a", .succeeded, at: 102)], finishing: [("done", 102)], store)
            try store.recordJob(Self.job("running", expected: 1), expectedNodes: ["a"])
            #expect(try store.foldFinishedJobs() == 1)
            #expect(try Self.rowCount("execution", job: "done", store) == 1)
            #expect(try store.unfinishedJobs().map(\.0.id) == ["running"])
        }
    }

    @Test func aDuplicateJobIdIsRefusedWhole() async throws {
        try await Self.withStores { store in
            try store.createJob(Self.job("j1", expected: 0), executions: [])
            #expect(throws: (any Error).self) {
                try store.createJob(Self.job("j1", expected: 1),
                                    executions: [ExecutionRecord(job: "j1", node: "x", state: .queued, updatedAt: 1)])
            }
            // The failed transaction left nothing behind.
            #expect(try store.executions(of: "j1").isEmpty)
        }
    }

    @Test func finishingAJobUpdatesExecutionsAndTheJobAtOnce() async throws {
        try await Self.withStores { store in
            var execution = ExecutionRecord(job: "j1", node: "a", state: .queued, updatedAt: 100)
            try store.createJob(Self.job("j1", expected: 1), executions: [execution])
            execution.state = .succeeded
            execution.exitCode = 0
            try store.saveExecutions([execution], finishing: [("j1", 200)])
            #expect(try store.job("j1")?.finishedAt == 200)
            #expect(try store.unfinishedJobs().isEmpty)
            #expect(try store.counts(of: "j1") == ["succeeded": 1])
        }
    }

    @Test func outputChunksAreStoredOnceAndReassembledInOrder() async throws {
        try await Self.withStores { store in
            try store.createJob(Self.job("j1", expected: 1),
                                executions: [ExecutionRecord(job: "j1", node: "a", state: .running, updatedAt: 1)])
            let chunks = [(3, "stdout", "c"), (1, "stdout", "a"), (2, "stderr", "oops"), (1, "stdout", "a")]
            for (seq, stream, data) in chunks {
                try store.saveChunk(OutputChunkRecord(job: "j1", node: "a", seq: Int64(seq), stream: stream, data: data))
            }
            let output = try store.output(of: "j1")["a"]
            #expect(output?.stdout == "ac")
            #expect(output?.stderr == "oops")
        }
    }

    @Test func recentJobsComeNewestFirstWithTallies() async throws {
        try await Self.withStores { store in
            for index in 0..<5 {
                try store.createJob(Self.job("j\(index)", expected: 1, at: Double(index)),
                                    executions: [ExecutionRecord(job: "j\(index)", node: "a", state: .queued, updatedAt: 1)])
            }
            let recent = try store.recentJobs(limit: 3)
            #expect(recent.map(\.0.id) == ["j4", "j3", "j2"])
            #expect(recent.first?.1 == ["queued": 1])
        }
    }

    @Test func executionsWrittenBeforeV3SurviveItsMigration() async throws {
        try await withTemporaryDirectory("shoal-store") { directory in
            let path = directory + "/shoal.db"
            let old = try DatabaseQueue(path: path)
            try DispatcherStore.migrator.migrate(old, upTo: "v2: a job's expected nodes")
            try old.write { db in
                // The row as v2 wrote it: today's record has columns v2 did not.
                let job = Self.job("j1", expected: 2)
                try db.execute(sql: """
                    INSERT INTO job (id, selector, task, timeout, deadline, createdAt, expected) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [job.id, job.selector, String(decoding: Wire.encode(job.task), as: UTF8.self),
                                     job.timeout, job.deadline, job.createdAt, job.expected])
                try ExecutionRecord(job: "j1", node: "a", state: .queued, updatedAt: 1).insert(db)
                var done = ExecutionRecord(job: "j1", node: "b", state: .failed, updatedAt: 2)
                done.exitCode = 3
                done.reason = "exit 3"
                try done.insert(db)
            }
            try old.close()

            let store = try DispatcherStore(path: path)
            let executions = try store.executions(of: "j1")
            #expect(executions.map(\.node) == ["a", "b"])
            #expect(executions.last?.exitCode == 3)
            #expect(executions.last?.reason == "exit 3")
            #expect(try store.counts(of: "j1") == ["queued": 1, "failed": 1])
            let schema = try store.writer.read { db in
                try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'execution'")
            }
            #expect(schema?.contains("WITHOUT ROWID") == true)
        }
    }

    @Test func nodesRoundTripWithTheirLabels() async throws {
        try await Self.withStores { store in
            let node = NodeRecord(id: "n1", labels: ["region": "eu", "gpus": "2"], online: true, version: "0.1.0",
                                  bdSeq: 3, heartbeatInterval: 5, firstSeen: 1, lastSeen: 2, clockOffset: -0.5)
            try store.saveNode(node)
            var changed = node
            changed.online = false
            try store.saveNodes([changed])
            let stored = try store.allNodes()
            #expect(stored.count == 1)
            #expect(stored.first?.labels == ["region": "eu", "gpus": "2"])
            #expect(stored.first?.online == false)
        }
    }
}
