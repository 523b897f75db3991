import ShoalCore
import Testing

@testable import ShoalEngine

/// Every rule of the dispatcher, without a broker, a database or a sleep: inputs in, state,
/// rows, publications and announcements out, on a clock the test moves.
@Suite("Dispatch engine")
struct DispatchEngineTests {
    @Test func queuedExecutionsBecomeUnreachableAtTheDeadlineWithTheRightReason() throws {
        let fixture = EngineFixture()
        fixture.birth("online")
        fixture.birth("offline")
        fixture.death("offline", bdSeq: 1)
        try fixture.submit("j", deadlineIn: 60)
        fixture.clock.advance(59)
        fixture.heartbeat("online")
        fixture.engine.tick()
        #expect(fixture.state("j", "online") == .queued)
        fixture.clock.advance(2)
        fixture.heartbeat("online")
        fixture.engine.tick()
        let batch = try #require(fixture.engine.takePending())
        let online = try #require(batch.executions[ExecutionKey(job: "j", node: "online")])
        let offline = try #require(batch.executions[ExecutionKey(job: "j", node: "offline")])
        #expect(online.state == .unreachable && online.reason == "deadline passed; node was online but never acknowledged the job")
        #expect(offline.state == .unreachable && offline.reason == "deadline passed; node was offline")
        #expect(batch.finishedJobs.map(\.0) == ["j"])
        #expect(fixture.engine.isIdle)
    }

    @Test func aStartedExecutionOnANodeThatStaysAwayIsClosedAsLost() throws {
        let fixture = EngineFixture()
        fixture.birth("n", heartbeat: 1)
        try fixture.submit("j", timeout: 10)
        fixture.report("n", job: "j", .running, seq: 2)
        fixture.clock.advance(5)
        fixture.engine.tick()  // 5 s of silence, over 3 intervals: offline
        #expect(fixture.engine.nodes["n"]?.online == false)
        fixture.clock.advance(10 + 30 - 5)  // started + timeout + grace, not past it
        fixture.engine.tick()
        #expect(fixture.state("j", "n") == .running)
        fixture.clock.advance(1)
        fixture.engine.tick()
        // Past the time limit, but a node cut off for a while may still come back with it.
        #expect(fixture.state("j", "n") == .running)
        fixture.clock.advance(300 - 41)
        fixture.engine.tick()
        #expect(fixture.state("j", "n") == .running)
        fixture.clock.advance(1)
        fixture.engine.tick()
        let lost = try #require(fixture.engine.takePending()?.executions[ExecutionKey(job: "j", node: "n")])
        #expect(lost.state == .failed && lost.reason?.contains("result lost") == true)
    }

    @Test func aDeathFromAnOlderConnectionIsIgnored() {
        let fixture = EngineFixture()
        fixture.birth("n", bdSeq: 5)
        fixture.death("n", bdSeq: 4)
        #expect(fixture.engine.nodes["n"]?.online == true)
        fixture.death("n", bdSeq: 5)
        #expect(fixture.engine.nodes["n"]?.online == false)
    }

    @Test func aHeartbeatFromAnUnknownNodeAsksItToAnnounceItself() throws {
        let fixture = EngineFixture()
        fixture.heartbeat("stranger")
        let sent = fixture.engine.takeOutbox()
        #expect(sent.map(\.topic) == [fixture.topics.nodeControl("stranger")])
        #expect(try Wire.decode(ControlMessage.self, from: sent[0].payload).op == .rebirth)
        #expect(fixture.engine.nodes["stranger"] == nil)
    }

    @Test func aSilentNodeGoesOfflineAfterItsMissedHeartbeats() {
        let fixture = EngineFixture(missedHeartbeats: 3)
        fixture.birth("n", heartbeat: 2)
        fixture.clock.advance(2 * 3 + 1)
        fixture.engine.tick()
        #expect(fixture.engine.nodes["n"]?.online == true)
        fixture.clock.advance(0.5)
        fixture.engine.tick()
        #expect(fixture.engine.nodes["n"]?.online == false)
        fixture.heartbeat("n")
        #expect(fixture.engine.nodes["n"]?.online == true)
    }

    @Test func aResubmittedIdIsSentAgainOnlyToNodesThatHaveNotAnswered() throws {
        let fixture = EngineFixture()
        for node in ["a", "b"] { fixture.birth(node) }
        let submission = try fixture.submit("j")
        // Recorded, but say its publication was lost: nothing of it went out.
        #expect(!submission.publications.isEmpty)
        _ = fixture.engine.takeOutbox()
        fixture.report("a", job: "j", .succeeded, exitCode: 0)
        fixture.engine.resubmitted("j")
        #expect(fixture.resentJobs(to: "b") == ["j"])
        #expect(fixture.resentJobs(to: "a") == [])
        fixture.engine.resubmitted("no-such-job")
        #expect(fixture.engine.takeOutbox().isEmpty)
    }

    @Test func aPublicationThatFailedHalfWayIsCaughtByTheResyncRule() throws {
        let fixture = EngineFixture()
        for node in ["a", "b"] { fixture.birth(node) }
        try fixture.submit("j")
        fixture.report("a", job: "j", .succeeded, exitCode: 0)
        // `b` never got it. Within the resync wait nothing is sent...
        fixture.clock.advance(29)
        for node in ["a", "b"] { fixture.heartbeat(node) }
        fixture.engine.tick()
        #expect(fixture.resentJobs(to: "b") == [])
        // ...then it is, once, and again only after the interval.
        fixture.clock.advance(6)
        for node in ["a", "b"] { fixture.heartbeat(node) }
        fixture.engine.tick()
        #expect(fixture.resentJobs(to: "b") == ["j"])
        fixture.clock.advance(6)
        for node in ["a", "b"] { fixture.heartbeat(node) }
        fixture.engine.tick()
        #expect(fixture.resentJobs(to: "b") == [])
    }

    @Test func anOverrunningExecutionIsAskedAboutPastItsLimit() throws {
        let fixture = EngineFixture()
        fixture.birth("n", heartbeat: 30)
        try fixture.submit("j", timeout: 10)
        fixture.report("n", job: "j", .running, seq: 2)
        fixture.clock.advance(19)
        fixture.engine.tick()
        #expect(fixture.resentJobs(to: "n") == [])
        fixture.clock.advance(6)
        fixture.engine.tick()
        #expect(fixture.resentJobs(to: "n") == ["j"])
    }

    @Test func aBirthAndAStartAskAboutOpenExecutions() throws {
        let fixture = EngineFixture()
        fixture.birth("n")
        try fixture.submit("j")
        _ = fixture.engine.takeOutbox()
        fixture.birth("n", bdSeq: 2)
        #expect(fixture.resentJobs(to: "n") == ["j"])
        fixture.report("n", job: "j", .succeeded, exitCode: 0)
        fixture.birth("n", bdSeq: 3)
        #expect(fixture.resentJobs(to: "n") == [])

        // A restarted engine, from what the store recovered.
        let job = JobRecord(id: "k", selector: "", task: .exec(["true"]), timeout: 60, deadline: fixture.now + 600,
                            createdAt: fixture.now, expected: 2, finishedAt: nil)
        let recovered = DispatchEngine.Recovered(unfinished: [(job, [
            ExecutionRecord(job: "k", node: "done", state: .succeeded, updatedAt: fixture.now),
            ExecutionRecord(job: "k", node: "open", state: .running, updatedAt: fixture.now),
        ], [:])])
        let restarted = EngineFixture(recovered: recovered)
        restarted.engine.resendUnfinished()
        #expect(restarted.resentJobs(to: "open") == ["k"])
        restarted.engine.resendUnfinished()
        #expect(restarted.resentJobs(to: "done") == [])
    }

    @Test func aCommitAnnouncesEachJobOnceWithItsLatestStates() throws {
        let fixture = EngineFixture()
        for node in ["a", "b", "c"] { fixture.birth(node) }
        try fixture.submit("j")
        try fixture.submit("k")
        fixture.commit()
        fixture.report("a", job: "j", .running, seq: 2)
        fixture.report("a", job: "j", .succeeded, exitCode: 0, stdout: "hi\n")
        fixture.report("b", job: "j", .failed, exitCode: 3)
        fixture.report("c", job: "k", .running, seq: 2)
        let announcements = fixture.commit()
        let events = announcements.compactMap { if case .job(let event) = $0 { event } else { nil } }
        #expect(events.map(\.job) == ["j", "k"])
        let j = try #require(events.first)
        #expect(j.executions.map(\.node) == ["a", "b"])
        #expect(j.executions.first?.state == .succeeded && j.executions.first?.stdout == "hi\n")
        #expect(j.finishedAt == nil)
        fixture.report("c", job: "j", .succeeded, exitCode: 0)
        let finished = fixture.commit().compactMap { if case .job(let event) = $0 { event } else { nil } }
        #expect(finished.count == 1 && finished[0].finishedAt != nil)
    }

    @Test func aFailedCommitKeepsTheBatchAndAnnouncesNothing() throws {
        let fixture = EngineFixture()
        fixture.birth("n")
        try fixture.submit("j")
        fixture.commit()
        fixture.report("n", job: "j", .succeeded, exitCode: 0)
        let batch = try #require(fixture.engine.takePending())
        fixture.engine.restore(batch)
        let retried = try #require(fixture.engine.takePending())
        #expect(retried.executions.count == 1 && retried.finishedJobs.map(\.0) == ["j"])
        let (_, folded) = fixture.engine.committed(retried)
        #expect(folded.map(\.job) == ["j"])
    }

    @Test func aReportNeverGoesBackwardsAndAForgedOneIsDropped() throws {
        let fixture = EngineFixture()
        fixture.birth("n")
        try fixture.submit("j")
        fixture.birth("m")
        fixture.report("n", job: "j", .running, seq: 2)
        fixture.report("n", job: "j", .queued, seq: 1)
        #expect(fixture.state("j", "n") == .running)
        // Impossible times: dropped, the execution as it was.
        fixture.engine.ingest(.execStatus(node: "n", job: "j"), payload: Array(
            #"{"v":1,"job":"j","node":"n","seq":3,"state":"failed","at":1e300,"startedAt":-1e300}"#.utf8))
        #expect(fixture.state("j", "n") == .running)
        // A report for another node's topic: dropped.
        fixture.engine.ingest(.execStatus(node: "m", job: "j"), payload: Wire.encode(ExecutionStatusMessage(
            job: "j", node: "n", seq: 3, state: .succeeded, at: fixture.now)))
        #expect(fixture.state("j", "n") == .running)
    }

    @Test func outputIsKeptUpToTheLimitThenMarked() throws {
        let fixture = EngineFixture()
        fixture.birth("n")
        try fixture.submit("j")
        fixture.report("n", job: "j", .running, seq: 2)
        let chunk = String(repeating: "x", count: Limits.chunkBytes)
        for seq in 1...6 {
            fixture.engine.ingest(.execOutput(node: "n", job: "j"), payload: Wire.encode(OutputChunkMessage(
                job: "j", node: "n", seq: UInt32(seq), stream: .stdout, data: chunk)))
        }
        let batch = try #require(fixture.engine.takePending())
        let stored = batch.chunks.filter { $0.stream == "stdout" }.reduce(0) { $0 + $1.data.utf8.count }
        #expect(stored == Limits.storedOutputBytes)
        #expect(batch.chunks.last?.data == OutputMarker.storedLimit)
    }

    @Test func aForgottenNodeEndsItsOpenExecutionsAndLeavesThePlan() throws {
        let fixture = EngineFixture()
        fixture.birth("stays")
        fixture.birth("gone")
        try fixture.submit("j")
        #expect(throws: EngineError.self) { try fixture.engine.forget("gone") }
        fixture.death("gone", bdSeq: 1)
        _ = try fixture.engine.forget("gone")
        #expect(fixture.engine.nodes["gone"] == nil)
        let batch = try #require(fixture.engine.takePending())
        #expect(batch.executions[ExecutionKey(job: "j", node: "gone")]?.state == .skipped)
        #expect(batch.forgottenNodes == ["gone"])
        #expect(try fixture.submit("k").expected == ["stays"])
        #expect(throws: EngineError.self) { try fixture.engine.forget("never") }
    }

    @Test func plansRefuseBadRequestsNamingTheField() throws {
        let fixture = EngineFixture()
        fixture.birth("n")
        #expect(throws: BoundsError.self) { try fixture.submit("j", timeout: 1e300) }
        #expect(throws: EngineError("empty selector: give a selector, or say all=true (shoal run --all) to target every node")) {
            try fixture.submit("j", all: false)
        }
        #expect(throws: EngineError.self) { try fixture.submit("j", selector: "region=(", all: false) }
        #expect(fixture.engine.isIdle)
    }
}
