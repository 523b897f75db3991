import ShoalCore
import Testing

@Suite("Bounds")
struct BoundsTests {
    @Test("numbers outside a range name the field", arguments: [1e300, 1e20, -1, 0, Double.leastNonzeroMagnitude, Double.nan, .infinity, -.infinity])
    func numbers(value: Double) {
        #expect(throws: BoundsError.self) { try Bounds.check(value, "timeout", in: Limits.timeout) }
        do {
            try Bounds.check(value, "timeout", in: Limits.timeout)
        } catch {
            #expect(error.field == "timeout")
        }
    }

    @Test func stringsRefuseNULAndSize() throws {
        try Bounds.check("echo ok", "script", maxBytes: 10)
        #expect(throws: BoundsError(field: "script", "contains a NUL byte")) {
            try Bounds.check("echo harmful\u{0}; echo benign", "script", maxBytes: 100)
        }
        #expect(throws: BoundsError.self) { try Bounds.check(String(repeating: "x", count: 11), "script", maxBytes: 10) }
        try Bounds.check("", "script", maxBytes: 0)
    }

    @Test func prefixCutsAtAScalarBoundary() {
        #expect(Bounds.prefix("héllo", maxBytes: 2) == ("h", true))
        #expect(Bounds.prefix("héllo", maxBytes: 3) == ("hé", true))
        #expect(Bounds.prefix("hi", maxBytes: 2) == ("hi", false))
        #expect(Bounds.prefix("🦈🦈", maxBytes: 5) == ("🦈", true))
    }

    @Test func requestsAreCheckedFieldByField() throws {
        let good = SubmitJobRequest(selector: "role=web", task: .exec(["true"]))
        try good.validate()
        var bad = good
        bad.timeout = 1e300
        #expect(throws: BoundsError.self) { try bad.validate() }
        bad = good
        bad.deadlineIn = 0
        #expect(throws: BoundsError.self) { try bad.validate() }
        bad = good
        bad.task = .exec(Array(repeating: "x", count: Limits.argvCount + 1))
        #expect(throws: BoundsError.self) { try bad.validate() }
        bad = good
        bad.task = .exec(["", "x"])
        #expect(throws: BoundsError.self) { try bad.validate() }
        bad = good
        bad.id = "../../etc"
        #expect(throws: BoundsError.self) { try bad.validate() }
    }

    @Test func reportsWithImpossibleTimesAreRefused() throws {
        let status = ExecutionStatusMessage(job: "j", node: "n", seq: 3, state: .failed, at: 1e300, startedAt: -1e300)
        #expect(throws: BoundsError.self) { try status.validate() }
        let ok = ExecutionStatusMessage(job: "j", node: "n", seq: 3, state: .failed, at: 1_800_000_000)
        try ok.validate()
        #expect(throws: BoundsError.self) {
            try OutputChunkMessage(job: "j", node: "n", seq: 0, stream: .stdout, data: "x").validate()
        }
        let birth = BirthMessage(node: "n", labels: [:], version: "1", bdSeq: 1, heartbeatInterval: 1e300, sentAt: 1_800_000_000)
        #expect(throws: BoundsError.self) { try birth.validate() }
    }

    @Test func anInvalidJobIsRejectedNotRun() throws {
        let job = JobMessage(id: "j", selector: try Selector(parsing: ""), task: .exec(["true"]), timeout: 1e300,
                             deadline: 1_800_000_600, nodes: ["n"], createdAt: 1_800_000_000)
        let admission = JobAdmission.decide(job, node: "n", labels: [:], now: 1_800_000_001, skewAllowance: 5,
                                            alreadyClaimed: { false })
        guard case .reject(let reason) = admission else {
            Issue.record("expected a rejection, got \(admission)")
            return
        }
        #expect(reason.contains("timeout"))
    }

    @Test func aQuarantinedNodeRunsIncidentJobsOnly() throws {
        let selector = try Selector(parsing: "")
        let ordinary = JobMessage(id: "j", selector: selector, task: .exec(["true"]), timeout: 1, deadline: 1_800_000_600,
                                  nodes: ["n"], createdAt: 1_800_000_000)
        var incident = ordinary
        incident.incident = true
        func decide(_ job: JobMessage, quarantined: Bool) -> JobAdmission {
            JobAdmission.decide(job, node: "n", labels: [:], now: 1_800_000_001, skewAllowance: 5, quarantined: quarantined,
                                alreadyClaimed: { false })
        }
        #expect(decide(ordinary, quarantined: false) == .run)
        #expect(decide(incident, quarantined: false) == .run)
        #expect(decide(incident, quarantined: true) == .run)
        #expect(decide(ordinary, quarantined: true) == .reject("node is quarantined: it runs incident jobs only"))
    }

    @Test func controlMessagesAreCheckedWhereTheyEnter() throws {
        try ControlMessage(op: .labels, set: ["role": "db"], remove: ["tier"]).validate()
        let huge = String(repeating: "x", count: Limits.labelBytes + 1)
        for message in [
            ControlMessage(op: .cancel, job: ""), ControlMessage(op: .cancel, job: "a/b"),
            ControlMessage(op: .labels, set: ["k": huge]), ControlMessage(op: .labels, set: ["k\u{0}": "v"]),
            ControlMessage(op: .labels, remove: Array(repeating: "k", count: Limits.labelCount + 1)),
            ControlMessage(op: .labels, remove: [huge]),
        ] {
            #expect(throws: BoundsError.self) { try message.validate() }
        }
    }
}

@Suite("Output budget and event packing")
struct OutputBudgetTests {
    @Test func eachExecutionGetsItsShareAndIsMarked() {
        var budget = OutputBudget(perExecution: 10, total: 15)
        var first = ExecutionView(job: "j", node: "a", state: .succeeded)
        budget.fill(&first, stdout: String(repeating: "x", count: 20), stderr: "")
        #expect(first.stdout?.count == 10 && first.outputTruncated == true && first.stderr == nil)
        var second = ExecutionView(job: "j", node: "b", state: .succeeded)
        budget.fill(&second, stdout: "abc", stderr: "defgh")
        #expect(second.stdout == "abc" && second.stderr == "de" && second.outputTruncated == true)
        var third = ExecutionView(job: "j", node: "c", state: .succeeded)
        budget.fill(&third, stdout: "x", stderr: "")
        #expect(third.stdout == "" && third.outputTruncated == true)
    }

    @Test func controlBytesCountAsTheirJSONEscapes() {
        #expect(OutputBudget.jsonSize("\u{1}\"\\a") == 6 + 2 + 2 + 1)
    }

    @Test func largeChangesSplitIntoEventsUnderTheLimitWithTheFinishLast() throws {
        let output = String(repeating: "\u{1}", count: 100_000)
        let views = (0..<40).map { ExecutionView(job: "j", node: "node-\($0)", state: .succeeded, stdout: output) }
        let events = JobEventPacker.pack(job: "j", executions: views, finishedAt: 5)
        #expect(events.count > 1)
        #expect(events.flatMap(\.executions).map(\.node) == views.map(\.node))
        #expect(events.dropLast().allSatisfy { $0.finishedAt == nil } && events.last?.finishedAt == 5)
        for event in events { #expect(Wire.encode(event).count <= JobEventPacker.maxBytes) }
    }

    @Test func tenThousandPlainResultsStayUnderTheLimit() {
        let views = (0..<10_000).map { ExecutionView(job: "j", node: "node-\($0)", state: .succeeded, exitCode: 0) }
        let events = JobEventPacker.pack(job: "j", executions: views, finishedAt: nil)
        #expect(events.flatMap(\.executions).count == 10_000)
        for event in events { #expect(Wire.encode(event).count <= JobEventPacker.maxBytes) }
    }
}

@Suite("Resync rule")
struct ResyncRuleTests {
    let rule = ResyncRule(queuedAfter: 30, overrunGrace: 10, interval: 30)

    @Test func aQueuedExecutionOnAnOnlineNodeIsAskedAboutAfterTheWait() {
        #expect(!rule.isDue(state: .queued, nodeOnline: true, createdAt: 100, startedAt: nil, timeout: 60, lastResync: nil, now: 129))
        #expect(rule.isDue(state: .queued, nodeOnline: true, createdAt: 100, startedAt: nil, timeout: 60, lastResync: nil, now: 130))
        #expect(!rule.isDue(state: .queued, nodeOnline: false, createdAt: 100, startedAt: nil, timeout: 60, lastResync: nil, now: 1000))
    }

    @Test func aRunningExecutionIsAskedAboutOnlyPastItsLimit() {
        #expect(!rule.isDue(state: .running, nodeOnline: true, createdAt: 100, startedAt: 110, timeout: 60, lastResync: nil, now: 179))
        #expect(rule.isDue(state: .running, nodeOnline: true, createdAt: 100, startedAt: 110, timeout: 60, lastResync: nil, now: 180))
    }

    @Test func resyncsAreSpacedAndTerminalStatesNeverAsked() {
        #expect(!rule.isDue(state: .running, nodeOnline: true, createdAt: 100, startedAt: 110, timeout: 60, lastResync: 170, now: 199))
        #expect(rule.isDue(state: .running, nodeOnline: true, createdAt: 100, startedAt: 110, timeout: 60, lastResync: 170, now: 200))
        for state in ExecutionState.allCases where state.isTerminal {
            #expect(!rule.isDue(state: state, nodeOnline: true, createdAt: 0, startedAt: 0, timeout: 1, lastResync: nil, now: 1e9))
        }
    }
}

@Suite("Retention policy")
struct RetentionPolicyTests {
    typealias Job = RetentionPolicy.FinishedJob

    @Test func oldJobsGoFirstThenTheOldestUntilOutputFits() {
        let policy = RetentionPolicy(maxAge: 100, maxBytes: 50)
        let jobs = [Job(id: "c", finishedAt: 950, outputBytes: 30), Job(id: "a", finishedAt: 800, outputBytes: 1),
                    Job(id: "b", finishedAt: 900, outputBytes: 30)]
        // At 1000: `a` is over 100 s old; then 60 bytes remain, over 50, so `b` goes too.
        #expect(policy.expired(jobs, now: 1000) == ["a", "b"])
        // Earlier, nothing is old, and the three fit... but only after `a`: 61 > 50.
        #expect(policy.expired(jobs, now: 850) == ["a", "b"])
        #expect(RetentionPolicy(maxAge: 100, maxBytes: 100).expired(jobs, now: 850) == [])
        #expect(RetentionPolicy(maxAge: 100, maxBytes: 100).expired(jobs, now: 1_051) == ["a", "b", "c"])
    }

    @Test func theClockDecidesAge() {
        let policy = RetentionPolicy(maxAge: 30 * 86_400, maxBytes: 1 << 30)
        let jobs = [Job(id: "j", finishedAt: 1_700_000_000, outputBytes: 10)]
        #expect(policy.expired(jobs, now: 1_700_000_000 + 30 * 86_400) == [])
        #expect(policy.expired(jobs, now: 1_700_000_000 + 30 * 86_400 + 1) == ["j"])
        #expect(policy.expired([], now: 1e300) == [])
    }
}
