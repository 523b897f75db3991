import GRDB
import ShoalCore
import ShoalEngine
import Testing

@testable import ShoalDispatcher

/// The audit record: appended with the changes it describes, read back oldest first,
/// and refused by the database itself when anything tries to rewrite or delete it.
@Suite struct AuditStoreTests {
    @Test func entriesAreAppendedAndReadOldestFirstWithinSinceAndLimit() throws {
        let store = try DispatcherStore(path: ":memory:")
        var batch = PendingWrites()
        batch.audit = (1...5).map { AuditRecord(at: Double(1_800_000_000 + $0), actor: "u\($0)", action: .cordon, target: "n\($0)") }
        try store.commit(batch)
        let job = JobRecord(id: "j", selector: "", task: .exec(["true"]), timeout: 1, deadline: 2, createdAt: 1, expected: 0,
                            finishedAt: 1)
        try store.recordJob(job, expectedNodes: [], audit: AuditRecord(at: 1_800_000_010, actor: nil, action: .submit,
                                                                       target: "j", detail: String(repeating: "x", count: 10_000)))
        let all = try store.auditEntries(since: nil, limit: 100)
        #expect(all.map(\.seq) == Array(1...6))
        #expect(all.map(\.target) == ["n1", "n2", "n3", "n4", "n5", "j"])
        #expect(all.last?.actor == nil && all.last?.detail?.utf8.count == Limits.auditDetailBytes)
        #expect(try store.auditEntries(since: nil, limit: 2).map(\.seq) == [5, 6])
        #expect(try store.auditEntries(since: 1_800_000_004, limit: 100).map(\.seq) == [4, 5, 6])
    }

    @Test func theRecordCannotBeRewrittenOrDeleted() throws {
        let store = try DispatcherStore(path: ":memory:")
        var batch = PendingWrites()
        batch.audit = [AuditRecord(at: 1_800_000_000, actor: "me", action: .quarantine, target: "n")]
        try store.commit(batch)
        #expect(throws: DatabaseError.self) {
            try store.writer.write { db in try db.execute(sql: "UPDATE audit SET actor = 'someone else'") }
        }
        #expect(throws: DatabaseError.self) {
            try store.writer.write { db in try db.execute(sql: "DELETE FROM audit") }
        }
        #expect(try store.auditEntries(since: nil, limit: 10).map(\.actor) == ["me"])
    }

    @Test func nodeStatesIncidentJobsAndCancellationsSurviveARestart() throws {
        let store = try DispatcherStore(path: ":memory:")
        var node = NodeRecord(id: "n", labels: [:], online: true, version: "1", bdSeq: 1, heartbeatInterval: 5,
                              firstSeen: 1, lastSeen: 1, admin: .quarantined, isolated: true)
        try store.saveNode(node)
        let job = JobRecord(id: "j", selector: "", task: .exec(["true"]), timeout: 1, deadline: 2, createdAt: 1, expected: 1,
                            finishedAt: nil, incident: true)
        try store.recordJob(job, expectedNodes: ["n"])
        var batch = PendingWrites()
        batch.cancellations = [CancellationRecord(job: "j", node: "n", at: 3), CancellationRecord(job: "j", node: "n", at: 4)]
        try store.commit(batch)
        node.clockCheckedAt = nil
        #expect(try store.allNodes() == [node])
        #expect(try store.job("j")?.incident == true)
        #expect(try store.openCancellations() == ["j": ["n"]])
        try store.commit({ var finished = PendingWrites(); finished.finishedJobs = [("j", 5)]; return finished }())
        #expect(try store.openCancellations().isEmpty)
    }
}
