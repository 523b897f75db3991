import ShoalCore
import Testing

/// The agent's log outbox: bounded, oldest dropped first, every drop reported, positions
/// kept only for what left it.
@Suite struct LogOutboxTests {
    let file = FileIdentity(device: 1, inode: 2)

    func line(_ seq: UInt64, _ text: String = "line") -> FollowedLine {
        FollowedLine(text: text, position: LogPosition(file: file, offset: seq * 10, seq: seq))
    }

    @Test func batchesInOrderAndKeepsPositionsOnlyOnAcknowledgement() {
        var outbox = LogOutbox(capacityBytes: 1 << 20, batchLines: 2)
        for seq: UInt64 in 1...3 { outbox.append(line(seq), source: "a", at: 1_800_000_000) }
        let batch = outbox.nextBatch()
        #expect(batch?.lines.map(\.seq) == [1, 2])
        // One in flight at a time.
        #expect(outbox.nextBatch() == nil)
        #expect(outbox.inFlight == batch)
        #expect(outbox.storedAll() == ["a": LogPosition(file: file, offset: 20, seq: 2)])
        #expect(outbox.nextBatch()?.lines.map(\.seq) == [3])
        _ = outbox.storedAll()
        #expect(outbox.nextBatch() == nil)
    }

    @Test func pastTheCapTheOldestAreDroppedAndReportedNextWithTheirPosition() {
        // Room for three lines of this size.
        let size = "line".utf8.count + "a".utf8.count + LogOutbox.overheadBytes
        var outbox = LogOutbox(capacityBytes: size * 3, batchLines: 100)
        outbox.append(line(1), source: "a", at: 1_800_000_000)
        let inFlight = outbox.nextBatch()
        #expect(inFlight?.lines.map(\.seq) == [1])
        for seq: UInt64 in 2...10 { outbox.append(line(seq), source: "a", at: 1_800_000_000) }
        #expect(outbox.queuedLines == 3)
        // The batch in flight is never dropped.
        #expect(outbox.storedAll()["a"]?.seq == 1)
        let next = outbox.nextBatch()
        #expect(next?.dropped == [LogDropMessage(source: "a", seq: 7, count: 6, reason: .outboxFull, at: 1_800_000_000)])
        #expect(next?.lines.map(\.seq) == [8, 9, 10])
        #expect(outbox.storedAll()["a"]?.seq == 10)
    }

    @Test func rateLimitedLinesAreCountedInPlace() {
        var outbox = LogOutbox(capacityBytes: 1 << 20)
        outbox.append(line(1), source: "a", at: 1_800_000_000)
        for seq: UInt64 in 2...5 { outbox.skip(line(seq), source: "a", at: 1_800_000_000) }
        outbox.append(line(6), source: "a", at: 1_800_000_001)
        let batch = outbox.nextBatch()
        #expect(batch?.lines.map(\.seq) == [1, 6])
        #expect(batch?.dropped == [LogDropMessage(source: "a", seq: 5, count: 4, reason: .rateLimited, at: 1_800_000_000)])
        #expect(batch?.positions["a"]?.seq == 6)
    }

    @Test func eachSourceKeepsItsOwnPosition() {
        var outbox = LogOutbox(capacityBytes: 1 << 20)
        outbox.append(line(4), source: "a", at: 1_800_000_000)
        outbox.append(line(9), source: "b", at: 1_800_000_000)
        _ = outbox.nextBatch()
        let positions = outbox.storedAll()
        #expect(positions["a"]?.seq == 4 && positions["b"]?.seq == 9)
    }

    @Test func aBatchStaysUnderItsByteBudget() {
        var outbox = LogOutbox(capacityBytes: 1 << 30, batchLines: 500, batchBytes: 64 * 1024)
        let big = String(repeating: "x", count: Limits.logLineBytes)
        for seq: UInt64 in 1...20 { outbox.append(line(seq, big), source: "a", at: 1_800_000_000) }
        let batch = outbox.nextBatch()
        #expect(batch?.lines.count == 3)
        #expect(Wire.encode(LogBatchMessage(node: "n", lines: batch?.lines ?? [])).count < 64 * 1024 + 1024)
    }
}

extension LogOutboxTests {
    @Test func aBatchIsDoneOnlyWhenTheDispatcherStoredAllOfIt() {
        var outbox = LogOutbox(capacityBytes: 1 << 20)
        outbox.append(line(1), source: "a", at: 1_800_000_000)
        outbox.append(line(2), source: "b", at: 1_800_000_000)
        _ = outbox.nextBatch()
        // An older ack, or one source only: still in flight, sent again later.
        #expect(outbox.acknowledged(stored: ["a": 1]) == nil)
        #expect(outbox.acknowledged(stored: ["a": 1, "b": 1]) == nil)
        #expect(outbox.inFlight != nil && outbox.nextBatch() == nil)
        let positions = outbox.acknowledged(stored: ["a": 1, "b": 5])
        #expect(positions?["a"]?.seq == 1 && positions?["b"]?.seq == 2)
        #expect(outbox.inFlight == nil)
    }
}

extension LogOutbox {
    /// The dispatcher stored everything in flight.
    mutating func storedAll() -> [String: LogPosition] {
        acknowledged(stored: (inFlight?.positions ?? [:]).mapValues(\.seq)) ?? [:]
    }
}
