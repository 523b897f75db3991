import ShoalCore
import Testing

/// The follower as a state machine: stat results in, steps and numbered lines out.
@Suite struct LogFollowerTests {
    let first = FileIdentity(device: 1, inode: 10)
    let second = FileIdentity(device: 1, inode: 11)

    func bytes(_ text: String) -> ArraySlice<UInt8> { Array(text.utf8)[...] }

    @Test func aFileFoundAtTheFirstLookIsShippedFromItsEnd() {
        var follower = LogFollower(source: "/var/log/app.log", resume: nil)
        #expect(follower.poll(path: FileStatus(identity: first, size: 500), open: nil) == .open(at: 500, ending: nil))
    }

    @Test func aFileCreatedWhileWatchingIsShippedFromItsStart() {
        var follower = LogFollower(source: "a", resume: nil)
        #expect(follower.poll(path: nil, open: nil) == .wait)
        #expect(follower.poll(path: FileStatus(identity: first, size: 30), open: nil) == .open(at: 0, ending: nil))
    }

    @Test func linesAreNumberedAndAPartialLineWaitsForItsNewline() {
        var follower = LogFollower(source: "a", resume: nil, firstSeq: 100)
        follower.opened(first, at: 0)
        #expect(follower.poll(path: FileStatus(identity: first, size: 12), open: FileStatus(identity: first, size: 12)) == .read(from: 0))
        let lines = follower.received(bytes("one\ntwo\nthr"))
        #expect(lines.map(\.text) == ["one", "two"])
        #expect(lines.map(\.seq) == [101, 102])
        #expect(follower.position == LogPosition(file: first, offset: 8, seq: 102))
        #expect(follower.received(bytes("ee\r\n")).map(\.text) == ["three"])
        #expect(follower.position == LogPosition(file: first, offset: 15, seq: 103))
    }

    @Test func rotationDrainsTheOldFileThenOpensTheNewOneAtZero() {
        var follower = LogFollower(source: "a", resume: nil)
        follower.opened(first, at: 0)
        _ = follower.received(bytes("a\nb\n"))
        // Renamed away and recreated, with a last line written to the old file meanwhile.
        let path = FileStatus(identity: second, size: 2)
        #expect(follower.poll(path: path, open: FileStatus(identity: first, size: 9)) == .read(from: 4))
        #expect(follower.received(bytes("c\nunfin")).map(\.text) == ["c"])
        // Drained: the unfinished line ends with its file, then the new file from 0.
        let step = follower.poll(path: path, open: FileStatus(identity: first, size: 11))
        guard case .open(0, let ending?) = step else {
            Issue.record("expected to open the new file, got \(step)")
            return
        }
        #expect(ending.text == "unfin" && ending.seq == 4)
        follower.opened(second, at: 0)
        #expect(follower.poll(path: path, open: FileStatus(identity: second, size: 2)) == .read(from: 0))
        #expect(follower.received(bytes("d\n")).map(\.seq) == [5])
        #expect(follower.position == LogPosition(file: second, offset: 2, seq: 5))
    }

    @Test func aMissingPathKeepsTheOpenFileUntilANewOneAppears() {
        var follower = LogFollower(source: "a", resume: nil)
        follower.opened(first, at: 0)
        #expect(follower.poll(path: nil, open: FileStatus(identity: first, size: 0)) == .wait)
        #expect(follower.poll(path: nil, open: FileStatus(identity: first, size: 3)) == .read(from: 0))
    }

    @Test func truncationStartsOverFromZero() {
        var follower = LogFollower(source: "a", resume: nil)
        follower.opened(first, at: 0)
        _ = follower.received(bytes("aaaa\nbb"))
        #expect(follower.poll(path: FileStatus(identity: first, size: 3), open: FileStatus(identity: first, size: 3)) == .read(from: 0))
        // The unfinished "bb" went with the truncation.
        #expect(follower.received(bytes("new\n")).map(\.text) == ["new"])
        #expect(follower.position.offset == 4)
    }

    @Test func aRestartResumesTheSameFileWhereItStopped() {
        var follower = LogFollower(source: "a", resume: LogPosition(file: first, offset: 40, seq: 7))
        #expect(follower.poll(path: FileStatus(identity: first, size: 90), open: nil) == .open(at: 40, ending: nil))
        follower.opened(first, at: 40)
        #expect(follower.received(bytes("x\n")).map(\.seq) == [8])
    }

    @Test func aRestartAfterARotationReadsTheNewFileFromZero() {
        var follower = LogFollower(source: "a", resume: LogPosition(file: first, offset: 40, seq: 7))
        #expect(follower.poll(path: FileStatus(identity: second, size: 90), open: nil) == .open(at: 0, ending: nil))
    }

    @Test func aRestartAfterATruncationReadsFromZero() {
        var follower = LogFollower(source: "a", resume: LogPosition(file: first, offset: 40, seq: 7))
        #expect(follower.poll(path: FileStatus(identity: first, size: 10), open: nil) == .open(at: 0, ending: nil))
    }

    @Test func aHugeLineIsCutIntoPiecesThatEachMoveThePosition() {
        var follower = LogFollower(source: "a", resume: nil, maxLineBytes: 4)
        follower.opened(first, at: 0)
        let lines = follower.received(bytes("abcdefghij\n"))
        #expect(lines.map(\.text) == ["abcd", "efgh", "ij"])
        #expect(lines.map(\.position.offset) == [4, 8, 11])
    }

    @Test func nulBytesAndInvalidUTF8AreReplacedNotShipped() {
        var follower = LogFollower(source: "a", resume: nil)
        follower.opened(first, at: 0)
        let lines = follower.received([0x61, 0x00, 0x62, 0xff, 0x0a][...])
        #expect(lines.map(\.text) == ["a\u{FFFD}b\u{FFFD}"])
        #expect(throws: Never.self) { try LogLineMessage(seq: 1, at: 1_800_000_000, source: "a", text: lines[0].text).validate(field: "l") }
    }
}

@Suite struct LogRateLimiterTests {
    /// What the limiter answers to one line at each of `times`.
    func admitted(_ limiter: inout LogRateLimiter, at times: [Double]) -> [Bool] {
        times.map { limiter.admit(now: $0) }
    }

    @Test func admitsTheRateThenRefillsWithTime() {
        var limiter = LogRateLimiter(rate: 3)
        #expect(admitted(&limiter, at: [100, 100, 100, 100, 100]) == [true, true, true, false, false])
        // A third of a second later: one more.
        #expect(admitted(&limiter, at: [100.34, 100.34]) == [true, false])
        // Never more than one second's worth, however long the pause.
        #expect(admitted(&limiter, at: Array(repeating: 1_000, count: 10)).filter { $0 }.count == 3)
    }

    @Test func aClockGoingBackRefillsNothing() {
        var limiter = LogRateLimiter(rate: 1)
        #expect(admitted(&limiter, at: [50, 10, 50.5, 51.6]) == [true, false, false, true])
    }
}

@Suite struct LogRetentionTests {
    let lines = (1...10).map { LogRetention.StoredLine(row: Int64($0), at: Double(1_000 + $0 * 10), bytes: 100) }

    @Test func deletesByAge() {
        let retention = LogRetention(maxAge: 60, maxBytes: 1 << 20)
        // now 1,100: lines read before 1,040 are older than a minute (rows 1-3).
        #expect(retention.lastExpired(oldest: lines, totalBytes: 1_000, now: 1_100) == 3)
        #expect(retention.lastExpired(oldest: lines, totalBytes: 1_000, now: 1_000) == nil)
    }

    @Test func deletesTheOldestUntilTheTextFits() {
        let retention = LogRetention(maxAge: 1e9, maxBytes: 750)
        #expect(retention.lastExpired(oldest: lines, totalBytes: 1_000, now: 1_100) == 3)
        #expect(retention.lastExpired(oldest: lines, totalBytes: 700, now: 1_100) == nil)
        #expect(retention.lastExpired(oldest: [], totalBytes: 1_000, now: 1_100) == nil)
    }
}
