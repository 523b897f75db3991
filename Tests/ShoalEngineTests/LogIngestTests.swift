import ShoalCore
import Testing

@testable import ShoalEngine

/// Log batches as the engine takes them: checked, each line kept once, announced after
/// the commit that stores them.
@Suite struct LogIngestTests {
    func send(_ fixture: EngineFixture, _ node: String, _ batch: LogBatchMessage) {
        fixture.engine.ingest(.logs(node: node), payload: Wire.encode(batch))
    }

    func lines(_ seqs: ClosedRange<UInt64>, at time: Double, source: String = "/var/log/app.log") -> [LogLineMessage] {
        seqs.map { LogLineMessage(seq: $0, at: time, source: source, text: "line \($0)") }
    }

    func logEvents(_ announcements: [Announcement]) -> [NodeLogEvent] {
        announcements.compactMap { if case .logs(let event) = $0 { event } else { nil } }
    }

    @Test func linesAreStoredOnceAndAnnouncedAfterTheCommit() {
        let fixture = EngineFixture()
        fixture.birth("web-1")
        _ = fixture.commit()
        send(fixture, "web-1", LogBatchMessage(node: "web-1", lines: lines(1...3, at: fixture.now)))
        // Delivered again (the agent missed the acknowledgement), and overlapping the next one.
        send(fixture, "web-1", LogBatchMessage(node: "web-1", lines: lines(1...3, at: fixture.now)))
        send(fixture, "web-1", LogBatchMessage(node: "web-1", lines: lines(3...4, at: fixture.now)))
        #expect(fixture.engine.pending.logEntries.map(\.seq) == [1, 2, 3, 4])
        #expect(fixture.engine.pending.logEntries.allSatisfy { $0.storedAt == fixture.now })
        let events = logEvents(fixture.commit())
        #expect(events.map(\.node) == ["web-1"])
        #expect(events.first?.entries.map(\.text) == ["line 1", "line 2", "line 3", "line 4"])
    }

    @Test func dropNotesAreKeptAndAnnouncedLikeLines() {
        let fixture = EngineFixture()
        send(fixture, "n", LogBatchMessage(node: "n", lines: lines(9...9, at: fixture.now), dropped: [
            LogDropMessage(source: "/var/log/app.log", seq: 8, count: 8, reason: .outboxFull, at: fixture.now - 1)]))
        let entries = logEvents(fixture.commit()).flatMap(\.entries)
        #expect(entries.map(\.seq) == [8, 9])
        #expect(entries.first?.dropped == 8 && entries.first?.reason == .outboxFull)
        #expect(entries.first?.rendered == "n: 8 lines dropped (outbox full) from /var/log/app.log")
    }

    @Test func hostileBatchesAreDroppedWhole() {
        let fixture = EngineFixture()
        // Another node's name in the payload, a forged number, a NUL, a huge array.
        send(fixture, "a", LogBatchMessage(node: "b", lines: lines(1...1, at: fixture.now)))
        send(fixture, "a", LogBatchMessage(node: "a", lines: [LogLineMessage(seq: UInt64.max, at: fixture.now, source: "s", text: "x")]))
        send(fixture, "a", LogBatchMessage(node: "a", lines: [LogLineMessage(seq: 1, at: fixture.now, source: "s", text: "x\u{0}")]))
        send(fixture, "a", LogBatchMessage(node: "a", lines: lines(1...UInt64(Limits.logBatchLines + 1), at: fixture.now)))
        send(fixture, "a", LogBatchMessage(node: "a", lines: [LogLineMessage(seq: 1, at: 1e300, source: "s", text: "x")]))
        fixture.engine.ingest(.logs(node: "a"), payload: Array(#"{"v":1,"node":"a","lines":[{"seq":-1}]}"#.utf8))
        fixture.engine.ingest(.logs(node: "a"), payload: [UInt8](repeating: 0x5b, count: 100_000))
        #expect(fixture.engine.pending.logEntries.isEmpty)
    }

    @Test func eachSourceNumbersItsOwnLines() {
        let fixture = EngineFixture()
        send(fixture, "n", LogBatchMessage(node: "n", lines: lines(1...2, at: fixture.now, source: "a") + lines(1...2, at: fixture.now, source: "b")))
        #expect(fixture.engine.pending.logEntries.count == 4)
    }
}

extension LogIngestTests {
    @Test func aNodeInventingSourcesCannotGrowTheEngineWithoutBound() {
        let fixture = EngineFixture()
        for batch in 0..<3 {
            let lines = (0..<200).map { LogLineMessage(seq: 1, at: fixture.now, source: "s\(batch)-\($0)", text: "x") }
            send(fixture, "n", LogBatchMessage(node: "n", lines: lines))
        }
        // Every line is new (each its own source) and goes to the store ...
        #expect(fixture.engine.pending.logEntries.count == 600)
        // ... but only so many sources are remembered.
        #expect(fixture.engine.logSeqs["n"]?.count == DispatchEngine.rememberedSources)
    }
}

extension LogIngestTests {
    func acks(_ announcements: [Announcement]) -> [LogAckMessage] {
        announcements.compactMap { if case .logAck(let ack) = $0 { ack } else { nil } }
    }

    @Test func theNodeIsToldWhatIsStoredAfterTheCommitDuplicatesIncluded() {
        let fixture = EngineFixture()
        send(fixture, "n", LogBatchMessage(node: "n", lines: lines(1...3, at: fixture.now, source: "a") + lines(1...1, at: fixture.now, source: "b")))
        #expect(acks(fixture.commit()) == [LogAckMessage(node: "n", stored: ["a": 3, "b": 1])])
        // Sent again because the agent missed the ack: nothing new to store, acknowledged all the same.
        send(fixture, "n", LogBatchMessage(node: "n", lines: lines(2...3, at: fixture.now, source: "a")))
        #expect(fixture.engine.pending.logEntries.isEmpty)
        #expect(acks(fixture.commit()) == [LogAckMessage(node: "n", stored: ["a": 3])])
        // A refused batch is not acknowledged.
        send(fixture, "n", LogBatchMessage(node: "n", lines: [LogLineMessage(seq: 9, at: 1e300, source: "a", text: "x")]))
        #expect(acks(fixture.commit()).isEmpty)
    }
}
