import ShoalCore
import ShoalEngine
import Testing

@testable import ShoalDispatcher

/// Log lines in a real store: stored once, read in time order a page at a time, pruned by
/// `LogRetention` with the time given.
@Suite struct LogStoreTests {
    func entry(_ node: String, _ seq: Int64, at: Double, storedAt: Double = 1_000, text: String? = nil) -> LogEntryRecord {
        LogEntryRecord(node: node, source: "/var/log/app.log", seq: seq, at: at, storedAt: storedAt, text: text ?? "\(node) \(seq)")
    }

    func store(_ store: DispatcherStore, _ entries: [LogEntryRecord]) throws {
        var batch = PendingWrites()
        batch.logEntries = entries
        try store.commit(batch)
    }

    @Test func linesAreInterleavedInTimeOrderAndPagedWithoutGapsOrRepeats() async throws {
        try await DispatcherStoreTests.withStores { db in
            try store(db, (1...5).map { entry("a", $0, at: Double($0) * 2) } + (1...5).map { entry("b", $0, at: Double($0) * 2 + 1) })
            // Stored again: ignored.
            try store(db, [entry("a", 1, at: 2, text: "changed")])
            var cursor: LogCursor?
            var seen: [String] = []
            repeat {
                let page = try db.logPage(nodes: nil, source: nil, since: nil, after: cursor, limit: 3, maxBytes: 1 << 20)
                seen += page.entries.map(\.text)
                cursor = page.next
            } while cursor != nil
            #expect(seen == ["a 1", "b 1", "a 2", "b 2", "a 3", "b 3", "a 4", "b 4", "a 5", "b 5"])
            let onlyB = try db.logPage(nodes: ["b"], source: nil, since: 7, after: nil, limit: 100, maxBytes: 1 << 20)
            #expect(onlyB.entries.map(\.text) == ["b 3", "b 4", "b 5"] && onlyB.next == nil)
            #expect(try db.logPage(nodes: [], source: nil, since: nil, after: nil, limit: 100, maxBytes: 1 << 20).entries.isEmpty)
            #expect(try db.logPage(nodes: nil, source: "other", since: nil, after: nil, limit: 100, maxBytes: 1 << 20).entries.isEmpty)
        }
    }

    @Test func retentionDeletesByAgeThenBySize() async throws {
        try await DispatcherStoreTests.withStores { db in
            try store(db, (1...10).map { entry("a", $0, at: 1, storedAt: Double(1_000 + $0 * 10), text: String(repeating: "x", count: 100)) })
            // Stored before 1,040 is older than a minute at 1,100: rows 1-3.
            #expect(try db.pruneLogs(LogRetention(maxAge: 60, maxBytes: 1 << 20), now: 1_100) == 3)
            // 700 bytes left; 450 kept: the oldest 3 more go.
            #expect(try db.pruneLogs(LogRetention(maxAge: 1e9, maxBytes: 450), now: 1_100) == 3)
            let left = try db.logPage(nodes: nil, source: nil, since: nil, after: nil, limit: 100, maxBytes: 1 << 20)
            #expect(left.entries.map(\.seq) == [7, 8, 9, 10])
            #expect(try db.pruneLogs(LogRetention(maxAge: 1e9, maxBytes: 450), now: 1_100) == 0)
        }
    }

    @Test func aPageStaysUnderItsByteBudget() async throws {
        try await DispatcherStoreTests.withStores { db in
            try store(db, (1...10).map { entry("a", $0, at: Double($0), text: String(repeating: "y", count: Limits.logLineBytes)) })
            let page = try db.logPage(nodes: nil, source: nil, since: nil, after: nil, limit: 100, maxBytes: 40 * 1024)
            #expect(page.entries.count == 2 && page.next != nil)
        }
    }
}
