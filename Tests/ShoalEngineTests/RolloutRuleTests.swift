import ShoalCore
import Testing

@testable import ShoalEngine

/// Rollouts as the engine applies them: which nodes are sent the job when, what a
/// failure, a pause, a deadline, a cancel or a restart does. No broker: the outbox and
/// the pending batch are the evidence.
@Suite("Rollout rules")
struct RolloutRuleTests {
    static let nodes = (1...10).map { "n" + ($0 < 10 ? "0" : "") + String($0) }

    /// A fleet of `nodes`, all online, born in a shuffled order (batches follow ids, not births).
    static func fleet(_ nodes: [String] = nodes) -> EngineFixture {
        let fixture = EngineFixture()
        for node in nodes.reversed() { fixture.birth(node) }
        _ = fixture.engine.takeOutbox()
        _ = fixture.commit()
        return fixture
    }

    static func submit(_ fixture: EngineFixture, _ id: String, _ plan: RolloutPlan?, deadlineIn: Double = 600,
                       health: String? = nil) throws -> DispatchEngine.Submission {
        let submission = try fixture.engine.plan(SubmitJobRequest(
            id: id, selector: "", all: true, task: .exec(["true"]), deadlineIn: deadlineIn, rollout: plan, health: health), id: id)
        _ = fixture.engine.accept(submission)
        return submission
    }

    /// The nodes the publications send job `id` to (node topics), in order.
    static func jobTargets(_ publications: [Publication], _ fixture: EngineFixture) -> [String] {
        publications.compactMap { publication in
            guard case .nodeJob(let node)? = fixture.topics.route(publication.topic) else { return nil }
            return node
        }
    }

    /// Commits what is pending and returns the nodes sent a job by that commit (and before it).
    static func commitAndSent(_ fixture: EngineFixture) -> [String] {
        fixture.commit()
        return jobTargets(fixture.engine.takeOutbox(), fixture)
    }

    static func finish(_ fixture: EngineFixture, _ job: String, _ nodes: some Sequence<String>, _ state: ExecutionState = .succeeded) {
        for node in nodes { fixture.report(node, job: job, state, exitCode: state == .succeeded ? 0 : 1) }
    }

    @Test func aJobWithoutAPlanKeepsItsCellFanOut() throws {
        let fixture = Self.fleet()
        let submission = try Self.submit(fixture, "plain", nil)
        #expect(submission.rollout == nil)
        #expect(submission.publications.allSatisfy { fixture.topics.route($0.topic).map { if case .cellJob = $0 { true } else { false } } ?? false })
        #expect(fixture.engine.active["plain"]?.held.isEmpty == true)
    }

    @Test func batchesGoOutInIdOrderEachAfterThePreviousEndedAndAfterItsCommit() throws {
        let fixture = Self.fleet()
        let submission = try Self.submit(fixture, "r", RolloutPlan(batch: .count(3)))
        #expect(Self.jobTargets(submission.publications, fixture) == ["n01", "n02", "n03"])
        #expect(fixture.engine.active["r"]?.held.count == 7)
        let views = try #require(fixture.engine.active["r"]).executions.values.map(fixture.engine.executionView)
        #expect(views.filter { $0.reason == DispatchEngine.heldReason }.map(\.node).sorted() == Array(Self.nodes.dropFirst(3)))
        Self.finish(fixture, "r", ["n01", "n02"])
        #expect(Self.commitAndSent(fixture).isEmpty)
        Self.finish(fixture, "r", ["n03"])
        // Decided, but not sent before the commit that records the release.
        #expect(Self.jobTargets(fixture.engine.takeOutbox(), fixture).isEmpty)
        let batch = try #require(fixture.engine.takePending())
        #expect(batch.rollouts["r"]?.released == 2)
        _ = fixture.engine.committed(batch)
        #expect(Self.jobTargets(fixture.engine.takeOutbox(), fixture) == ["n04", "n05", "n06"])
    }

    @Test func oneFailureMoreThanAllowedAbortsSkipsTheRestAndLetsRunningOnesFinish() throws {
        let fixture = Self.fleet()
        _ = try Self.submit(fixture, "r", RolloutPlan(batch: .count(3), maxFailures: .count(1)))
        Self.finish(fixture, "r", ["n01", "n02", "n03"])
        #expect(Self.commitAndSent(fixture) == ["n04", "n05", "n06"])
        fixture.report("n06", job: "r", .running, seq: 2)
        Self.finish(fixture, "r", ["n04"], .failed)
        #expect(fixture.engine.active["r"]?.rollout?.abortReason == nil)
        Self.finish(fixture, "r", ["n05"], .timedOut)
        let batch = try #require(fixture.engine.takePending())
        let reason = "rollout aborted: 2 node(s) failed, more than the 1 allowed"
        #expect(batch.rollouts["r"]?.abortReason == reason && batch.rollouts["r"]?.released == 2)
        for node in ["n07", "n08", "n09", "n10"] {
            let execution = try #require(batch.executions[ExecutionKey(job: "r", node: node)])
            #expect(execution.state == .skipped && execution.reason == "not run: " + reason)
        }
        #expect(batch.finishedJobs.isEmpty, "n06 still runs")
        _ = fixture.engine.committed(batch)
        #expect(Self.jobTargets(fixture.engine.takeOutbox(), fixture).isEmpty)
        Self.finish(fixture, "r", ["n06"])
        let last = try #require(fixture.engine.takePending())
        #expect(last.finishedJobs.map(\.0) == ["r"])
        #expect(last.rollouts["r"]?.abortReason == reason, "the reason stays with the finished job")
    }

    @Test func theCanaryThenTheWaitThenTheBatches() throws {
        let fixture = Self.fleet()
        let submission = try Self.submit(fixture, "r", RolloutPlan(batch: .percent(50), canary: 1, wait: 2))
        #expect(Self.jobTargets(submission.publications, fixture) == ["n01"])
        Self.finish(fixture, "r", ["n01"])
        #expect(Self.commitAndSent(fixture).isEmpty)
        fixture.clock.advance(1.9)
        fixture.engine.tick()
        #expect(Self.commitAndSent(fixture).isEmpty)
        fixture.clock.advance(0.1)
        fixture.engine.tick()
        #expect(Self.commitAndSent(fixture) == ["n02", "n03", "n04", "n05", "n06"])
        Self.finish(fixture, "r", ["n02", "n03", "n04", "n05", "n06"])
        fixture.clock.advance(2)
        fixture.engine.tick()
        #expect(Self.commitAndSent(fixture) == ["n07", "n08", "n09", "n10"])
    }

    @Test func heldNodesAreNeverSentTheJobByAResyncABirthOrARestart() throws {
        let fixture = Self.fleet()
        _ = try Self.submit(fixture, "r", RolloutPlan(batch: .count(2)))
        _ = fixture.commit()
        fixture.birth("n09", bdSeq: 2)
        fixture.clock.advance(120)
        for node in Self.nodes { fixture.heartbeat(node) }
        fixture.engine.tick()
        fixture.engine.resubmitted("r")
        fixture.engine.resendUnfinished()
        let sent = Set(Self.jobTargets(fixture.engine.takeOutbox(), fixture))
        #expect(sent.isSubset(of: ["n01", "n02"]), "sent to \(sent.sorted())")
    }

    @Test func aRestartedDispatcherGoesOnWhereItWasAndNoNodeIsSentTheJobTwice() throws {
        let first = Self.fleet()
        let submission = try Self.submit(first, "r", RolloutPlan(batch: .count(3), wait: 5))
        Self.finish(first, "r", ["n01", "n02", "n03"])
        _ = first.commit()
        let stored = try #require(first.engine.active["r"]?.rollout)
        #expect(stored.released == 1 && stored.lastBatchEndedAt != nil)

        // Killed during the wait; restarted after it ended. What the store holds:
        let executions = try #require(first.engine.active["r"]).executions.values.sorted { $0.node < $1.node }
        let second = EngineFixture(recovered: .init(
            nodes: Self.nodes.compactMap { first.engine.nodes[$0] }, unfinished: [(submission.job, executions, [:])],
            rollouts: ["r": stored]))
        second.clock.advance(10)
        second.engine.resendUnfinished()
        #expect(Self.jobTargets(second.engine.takeOutbox(), second).isEmpty, "nothing before the release is committed")
        #expect(Self.commitAndSent(second) == ["n04", "n05", "n06"])
        #expect(second.engine.active["r"]?.rollout?.released == 2)
    }

    @Test func pauseHoldsTheNextBatchAndResumeReleasesItBothAudited() throws {
        let fixture = Self.fleet()
        _ = try Self.submit(fixture, "r", RolloutPlan(batch: .count(5)))
        let paused = try #require(try fixture.engine.setPaused(true, RolloutControlRequest(id: "r", actor: "ops@host")))
        #expect(paused.rollout?.paused == true && paused.rollout?.released == 1)
        Self.finish(fixture, "r", Self.nodes.prefix(5))
        var batch = try #require(fixture.engine.takePending())
        #expect(batch.audit.map(\.action) == [.pause] && batch.audit.first?.actor == "ops@host")
        _ = fixture.engine.committed(batch)
        #expect(Self.jobTargets(fixture.engine.takeOutbox(), fixture).isEmpty)
        let resumed = try #require(try fixture.engine.setPaused(false, RolloutControlRequest(id: "r", actor: "ops@host")))
        #expect(resumed.rollout?.paused == false && resumed.rollout?.released == 2)
        batch = try #require(fixture.engine.takePending())
        #expect(batch.audit.map(\.action) == [.resume])
        _ = fixture.engine.committed(batch)
        #expect(Self.jobTargets(fixture.engine.takeOutbox(), fixture) == Array(Self.nodes.suffix(5)))
        #expect(throws: EngineError.self) { try fixture.engine.setPaused(true, RolloutControlRequest(id: "r", actor: nil)) }
        _ = try Self.submit(fixture, "plain", nil)
        #expect(throws: EngineError.self) { try fixture.engine.setPaused(true, RolloutControlRequest(id: "plain")) }
        #expect(try fixture.engine.setPaused(true, RolloutControlRequest(id: "unknown")) == nil)
    }

    @Test func aCancelEndsHeldNodesAtOnceAndTellsOnlyTheReleasedOnes() throws {
        let fixture = Self.fleet()
        _ = try Self.submit(fixture, "r", RolloutPlan(batch: .count(4)))
        let result = try #require(try fixture.engine.cancel(CancelJobRequest(id: "r")))
        #expect(result.canceled == 6 && result.stopping == 4)
        #expect(fixture.controls().map(\.node).sorted() == ["n01", "n02", "n03", "n04"])
        Self.finish(fixture, "r", ["n01", "n02", "n03", "n04"], .canceled)
        let batch = try #require(fixture.engine.takePending())
        #expect(batch.finishedJobs.map(\.0) == ["r"])
        _ = fixture.engine.committed(batch)
        #expect(Self.jobTargets(fixture.engine.takeOutbox(), fixture).isEmpty)
    }

    @Test func nodesTheRolloutDidNotReachByTheDeadlineAreSkippedNotUnreachable() throws {
        let fixture = Self.fleet()
        _ = try Self.submit(fixture, "r", RolloutPlan(batch: .count(5), wait: 3600), deadlineIn: 60)
        Self.finish(fixture, "r", Self.nodes.prefix(5))
        fixture.clock.advance(61)
        for node in Self.nodes { fixture.heartbeat(node) }
        fixture.engine.tick()
        let batch = try #require(fixture.engine.takePending())
        #expect(batch.finishedJobs.map(\.0) == ["r"])
        for node in Self.nodes.suffix(5) {
            #expect(batch.executions[ExecutionKey(job: "r", node: node)]?.state == .skipped)
        }
    }

    @Test func aDryRunShowsTheBatchesAndChangesNothing() throws {
        let fixture = Self.fleet()
        fixture.death("n02", bdSeq: 1)
        _ = fixture.commit()
        let preview = try fixture.engine.preview(SubmitJobRequest(
            selector: "", all: true, task: .exec(["true"]), rollout: RolloutPlan(batch: .percent(50), canary: 1)))
        #expect(preview.batches == [["n01"], Array(Self.nodes[1...5]), Array(Self.nodes[6...])])
        #expect(preview.offline == ["n02"] && preview.expected == 10)
        #expect(fixture.engine.takePending() == nil && fixture.engine.takeOutbox().isEmpty && fixture.engine.active.isEmpty)
        let plain = try fixture.engine.preview(SubmitJobRequest(selector: "name=n0*", task: .exec(["true"])))
        #expect(plain.batches == [Array(Self.nodes.prefix(9))])
    }

    @Test func aHealthCheckRunsAfterTheTaskInTheSameJob() throws {
        let fixture = Self.fleet(["a"])
        let submission = try Self.submit(fixture, "h", nil, health: "curl -fsS 'localhost/health'")
        guard case .shell(let script) = submission.job.task else {
            Issue.record("expected a shell task, got \(submission.job.task)")
            return
        }
        #expect(script.hasPrefix("'true' || exit $?\n"))
        #expect(script.contains(#"/bin/sh -c 'curl -fsS '\''localhost/health'\'''"#))
    }

    @Test func everyRolloutValueIsCheckedWhereItEnters() throws {
        let fixture = Self.fleet(["a"])
        func refusal(_ json: String) -> String? {
            do {
                let request = try Wire.decode(SubmitJobRequest.self, from: Array(json.utf8))
                _ = try fixture.engine.plan(request, id: "x")
                return nil
            } catch {
                return "\(error)"
            }
        }
        let base = #""all":true,"task":{"kind":"exec","argv":["true"]}"#
        let cases: [(String, String)] = [
            (#""rollout":{"batch":1e300,"canary":0,"wait":0,"maxFailures":0}"#, "rollout.batch: a number of nodes or a percentage"),
            (#""rollout":{"batch":-1,"canary":0,"wait":0,"maxFailures":0}"#, "rollout.batch"),
            (#""rollout":{"batch":9223372036854775808,"canary":0,"wait":0,"maxFailures":0}"#, "rollout.batch: a number of nodes or a percentage"),
            (#""rollout":{"batch":"","canary":0,"wait":0,"maxFailures":0}"#, "rollout.batch: a number of nodes or a percentage"),
            (#""rollout":{"batch":"0%","canary":0,"wait":0,"maxFailures":0}"#, "rollout.batch"),
            (#""rollout":{"batch":"101%","canary":0,"wait":0,"maxFailures":0}"#, "rollout.batch"),
            (#""rollout":{"batch":1,"canary":-1,"wait":0,"maxFailures":0}"#, "rollout.canary"),
            (#""rollout":{"batch":1,"canary":9223372036854775807,"wait":0,"maxFailures":0}"#, "rollout.canary"),
            (#""rollout":{"batch":1,"canary":0,"wait":1e300,"maxFailures":0}"#, "rollout.wait"),
            (#""rollout":{"batch":1,"canary":0,"wait":-1,"maxFailures":0}"#, "rollout.wait"),
            (#""rollout":{"batch":1,"canary":0,"wait":0,"maxFailures":"101%"}"#, "rollout.maxFailures"),
            (#""rollout":{"batch":1,"canary":0,"wait":0,"maxFailures":-1}"#, "rollout.maxFailures"),
            (#""health":"""#, "health"),
            (#""health":"\#(String(repeating: "x", count: Limits.argumentBytes))""#, "health"),
        ]
        for (fields, expected) in cases {
            let refused = refusal("{" + base + "," + fields + "}")
            #expect(refused?.contains(expected) == true, "\(fields): \(refused ?? "accepted")")
        }
        #expect(refusal("{" + base + #","rollout":{"batch":"0.5%","canary":1,"wait":0.5,"maxFailures":"0%"}}"#) == nil)
        #expect(refusal("{" + base + #","rollout":{}}"#) == nil, "every field of a plan has a default")
        for id in ["", String(repeating: "j", count: 65), "a/b", "+"] {
            #expect(throws: BoundsError.self) { try fixture.engine.setPaused(true, RolloutControlRequest(id: id)) }
        }
        #expect(throws: BoundsError.self) {
            try fixture.engine.setPaused(false, RolloutControlRequest(id: "j", actor: String(repeating: "a", count: 300)))
        }
    }
}
