import ShoalCore
import Testing

@testable import ShoalEngine

/// `jobs.cancel` as a rule: who is told, what ends at once, what a restart or a returning
/// node is sent instead of the job.
@Suite("Cancel")
struct CancelRuleTests {
    @Test func runningAndOnlineNodesAreToldToStopAndEndAsTheyReport() throws {
        let fixture = EngineFixture()
        fixture.birth("a")
        fixture.birth("b")
        try fixture.submit("j")
        fixture.report("a", job: "j", .running, seq: 2)
        _ = fixture.engine.takeOutbox()
        let result = try #require(try fixture.engine.cancel(CancelJobRequest(id: "j", actor: "ops@host")))
        #expect(result == CancelJobResult(job: "j", alreadyFinished: false, stopping: 2, canceled: 0, unchanged: 0))
        let sent = fixture.controls()
        #expect(sent.map(\.node).sorted() == ["a", "b"])
        #expect(sent.allSatisfy { $0.message.op == .cancel && $0.message.job == "j" })
        // Nothing is decided for them: the nodes say what happened (b may have run it already).
        #expect(fixture.state("j", "a") == .running && fixture.state("j", "b") == .queued)
        fixture.report("a", job: "j", .canceled)
        fixture.report("b", job: "j", .canceled)
        let batch = try #require(fixture.engine.takePending())
        #expect(batch.finishedJobs.map(\.0) == ["j"])
        #expect(Set(batch.cancellations.map(\.node)) == ["a", "b"])
        #expect(batch.audit.map(\.action) == [.cancel] && batch.audit.first?.actor == "ops@host")
    }

    @Test func anOfflineNodeThatNeverAcknowledgedEndsCanceledAtOnce() throws {
        let fixture = EngineFixture()
        fixture.birth("on")
        fixture.birth("off")
        fixture.death("off", bdSeq: 1)
        try fixture.submit("j")
        fixture.report("on", job: "j", .succeeded, exitCode: 0)
        _ = fixture.engine.takeOutbox()
        let result = try #require(try fixture.engine.cancel(CancelJobRequest(id: "j")))
        #expect(result == CancelJobResult(job: "j", alreadyFinished: false, stopping: 0, canceled: 1, unchanged: 1))
        // It is told anyway: the message waits in its session and its ledger will refuse the job.
        #expect(fixture.controls().map(\.node) == ["off"])
        let batch = try #require(fixture.engine.takePending())
        let off = try #require(batch.executions[ExecutionKey(job: "j", node: "off")])
        #expect(off.state == .canceled && off.reason?.contains("before the node received") == true)
        #expect(batch.finishedJobs.map(\.0) == ["j"])
    }

    @Test func aCancelSurvivesARestartAndReachesANodeThatComesBackInsteadOfTheJob() throws {
        let first = EngineFixture()
        first.birth("n")
        let submission = try first.submit("j")
        first.report("n", job: "j", .running, seq: 2)
        _ = try first.engine.cancel(CancelJobRequest(id: "j"))
        let batch = try #require(first.engine.takePending())

        // What the store would hold after that commit, loaded by a new dispatcher.
        let execution = try #require(first.engine.active["j"]?.executions["n"])
        let node = try #require(first.engine.nodes["n"])
        let second = EngineFixture(recovered: .init(
            nodes: [node], unfinished: [(submission.job, [execution], [:])],
            cancellations: Dictionary(grouping: batch.cancellations, by: \.job).mapValues { Set($0.map(\.node)) }))
        second.engine.resendUnfinished()
        var sent = second.engine.takeOutbox()
        #expect(sent.map(\.topic) == [second.topics.nodeControl("n")], "the job itself was sent again")
        #expect(try Wire.decode(ControlMessage.self, from: sent[0].payload) == ControlMessage(op: .cancel, job: "j"))
        // The node reconnects: a birth asks again, with the cancel, never the job.
        second.birth("n", bdSeq: 2)
        sent = second.engine.takeOutbox()
        #expect(sent.map(\.topic) == [second.topics.nodeControl("n")])
        #expect(second.resentJobs(to: "n").isEmpty)
    }

    @Test func anUnansweredCancelIsSentAgainEveryResyncInterval() throws {
        let fixture = EngineFixture()
        fixture.birth("n", heartbeat: 1)
        try fixture.submit("j", timeout: 3600)
        fixture.report("n", job: "j", .running, seq: 2)
        _ = try fixture.engine.cancel(CancelJobRequest(id: "j"))
        _ = fixture.engine.takeOutbox()
        fixture.clock.advance(29)
        fixture.heartbeat("n")
        fixture.engine.tick()
        #expect(fixture.controls().isEmpty)
        fixture.clock.advance(6)
        fixture.heartbeat("n")
        fixture.engine.tick()
        let again = fixture.controls()
        #expect(again.count == 1 && again.first?.message == ControlMessage(op: .cancel, job: "j"))
    }

    @Test func aFinishedOrUnknownJobIsLeftToTheOwnerAndANodeItDoesNotExpectIsRefused() throws {
        let fixture = EngineFixture()
        fixture.birth("n")
        try fixture.submit("j")
        fixture.report("n", job: "j", .succeeded, exitCode: 0)
        #expect(try fixture.engine.cancel(CancelJobRequest(id: "j")) == nil)
        #expect(try fixture.engine.cancel(CancelJobRequest(id: "nope")) == nil)
        try fixture.submit("k")
        #expect(throws: EngineError.self) { try fixture.engine.cancel(CancelJobRequest(id: "k", node: "other")) }
        // Only the named node.
        fixture.birth("m")
        try fixture.submit("l")
        _ = fixture.engine.takeOutbox()
        let result = try #require(try fixture.engine.cancel(CancelJobRequest(id: "l", node: "m")))
        #expect(result.stopping == 1 && result.unchanged == 0)
        #expect(fixture.controls().map(\.node) == ["m"])
    }

    @Test func hostileRequestsAreRefusedNamingTheField() {
        let fixture = EngineFixture()
        for (request, field) in [
            (CancelJobRequest(id: ""), "id"),
            (CancelJobRequest(id: String(repeating: "x", count: 65)), "id"),
            (CancelJobRequest(id: "j", node: "a/b"), "node"),
            (CancelJobRequest(id: "j", node: "+"), "node"),
            (CancelJobRequest(id: "j", actor: ""), "actor"),
            (CancelJobRequest(id: "j", actor: String(repeating: "a", count: 257)), "actor"),
            (CancelJobRequest(id: "j", actor: "me\nforged line"), "actor"),
            (CancelJobRequest(id: "j", actor: "me\u{0}"), "actor"),
        ] {
            #expect(throws: BoundsError.self, "\(field)") {
                do {
                    _ = try fixture.engine.cancel(request)
                } catch let error as BoundsError {
                    #expect(error.field == field)
                    throw error
                }
            }
        }
    }

    @Test func theResyncRuleAsksACanceledExecutionAgainEveryInterval() {
        let rule = ResyncRule()
        #expect(rule.isDue(state: .running, nodeOnline: true, createdAt: 0, startedAt: 0, timeout: 3600,
                           lastResync: nil, now: 1, cancelRequested: true))
        #expect(!rule.isDue(state: .running, nodeOnline: true, createdAt: 0, startedAt: 0, timeout: 3600,
                            lastResync: 1, now: 30, cancelRequested: true))
        #expect(rule.isDue(state: .queued, nodeOnline: true, createdAt: 0, startedAt: nil, timeout: 3600,
                           lastResync: 1, now: 31, cancelRequested: true))
        #expect(!rule.isDue(state: .running, nodeOnline: false, createdAt: 0, startedAt: 0, timeout: 3600,
                            lastResync: nil, now: 100, cancelRequested: true))
        #expect(!rule.isDue(state: .canceled, nodeOnline: true, createdAt: 0, startedAt: 0, timeout: 3600,
                            lastResync: nil, now: 100, cancelRequested: true))
    }
}
