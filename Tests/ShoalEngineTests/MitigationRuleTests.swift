import ShoalCore
import Testing

@testable import ShoalEngine

/// Automated mitigation as the engine decides it: which rule fires for which node, once per
/// cooldown, within its concurrency cap, and what a dry run records. No broker, no sleeps.
@Suite("Mitigation rules")
struct MitigationRuleTests {
    private func fixture(_ rules: MitigationRule...) throws -> EngineFixture {
        let fixture = EngineFixture()
        for rule in rules { try fixture.engine.ruleBook.add(rule) }
        return fixture
    }

    private func request(_ fixture: EngineFixture, _ firing: RuleFiring) throws -> SubmitJobRequest {
        try #require(fixture.engine.ruleBook.request(for: firing))
    }

    @Test func anOfflineNodeFiresItsRuleOncePerCooldownAndOnNoOtherNode() throws {
        let fixture = try fixture(MitigationRule(name: "page", on: .nodeOffline, scope: "role=web",
                                                 task: .shell("notify"), cooldown: 600))
        fixture.birth("web-1", labels: ["role": "web"])
        fixture.birth("db-1", labels: ["role": "db"])
        fixture.death("web-1", bdSeq: 1)
        fixture.death("db-1", bdSeq: 1)
        let firings = fixture.engine.takeFirings()
        #expect(firings.map(\.node) == ["web-1"])
        let firing = try #require(firings.first)
        #expect(firing.outcome == .submitted && firing.cause == "web-1 went offline (its death message)")
        let job = try request(fixture, firing)
        #expect(job.selector == #"name="web-1""# && job.id == firing.job && job.id?.hasPrefix("rule-") == true)
        #expect(try Selector(parsing: job.selector).matches(["name": "web-1"]))

        // Back and gone again within the cooldown: nothing; after it: fires again.
        fixture.birth("web-1", labels: ["role": "web"], bdSeq: 2)
        fixture.clock.advance(599)
        fixture.death("web-1", bdSeq: 2)
        #expect(fixture.engine.takeFirings().isEmpty)
        fixture.birth("web-1", labels: ["role": "web"], bdSeq: 3)
        fixture.clock.advance(2)
        fixture.death("web-1", bdSeq: 3)
        #expect(fixture.engine.takeFirings().map(\.node) == ["web-1"])
    }

    @Test func aSilentNodeFiresTheSameRule() throws {
        let fixture = try fixture(MitigationRule(name: "page", on: .nodeOffline, task: .shell("notify")))
        fixture.birth("n", heartbeat: 1)
        fixture.clock.advance(5)
        fixture.engine.tick()
        let firing = try #require(fixture.engine.takeFirings().first)
        #expect(firing.cause.hasPrefix("n went offline (silent for"))
    }

    @Test func aFailedJobFiresButARuleJobsOwnFailureDoesNot() throws {
        let fixture = try fixture(MitigationRule(name: "heal", on: .jobFailed, task: .shell("heal"), cooldown: 0,
                                                 maxConcurrent: 10))
        fixture.birth("n")
        try fixture.submit("ok")
        fixture.report("n", job: "ok", .succeeded, exitCode: 0)
        #expect(fixture.engine.takeFirings().isEmpty)
        try fixture.submit("bad")
        fixture.report("n", job: "bad", .failed, exitCode: 3)
        let firing = try #require(fixture.engine.takeFirings().first)
        #expect(firing.cause == "job bad ended failed on n, exit code 3")
        // The mitigation itself fails: no second firing from it.
        let job = try #require(firing.job)
        try fixture.submit(job)
        fixture.report("n", job: job, .failed, exitCode: 1)
        #expect(fixture.engine.takeFirings().isEmpty)
        // A timeout decided by the engine (lost, deadline) counts as a failure too.
        try fixture.submit("slow", timeout: 1)
        fixture.report("n", job: "slow", .timedOut, exitCode: 137)
        #expect(fixture.engine.takeFirings().map(\.rule) == ["heal"])
    }

    @Test func theConcurrencyCapHoldsBackFiringsWhileItsJobsAreOpen() throws {
        let fixture = try fixture(MitigationRule(name: "drain", on: .nodeOffline, task: .shell("drain"),
                                                 target: "role=lb", maxConcurrent: 1))
        for node in ["a", "b", "c"] { fixture.birth(node) }
        fixture.birth("lb", labels: ["role": "lb"])
        fixture.death("a", bdSeq: 1)
        fixture.death("b", bdSeq: 1)
        let first = fixture.engine.takeFirings()
        #expect(first.map(\.outcome) == [.submitted, .heldBack])
        let job = try #require(first.first?.job)
        #expect(try request(fixture, try #require(first.first)).selector == "role=lb")
        try fixture.submit(job, selector: "role=lb", all: false)
        fixture.death("c", bdSeq: 1)
        #expect(fixture.engine.takeFirings().map(\.outcome) == [.heldBack])
        // Once the drain job has finished, the next node may fire.
        fixture.report("lb", job: job, .succeeded, exitCode: 0)
        fixture.birth("c", bdSeq: 2)
        fixture.clock.advance(301)
        fixture.death("c", bdSeq: 2)
        #expect(fixture.engine.takeFirings().map(\.outcome) == [.submitted])
    }

    @Test func aDryRunRecordsAndRunsNothing() throws {
        let fixture = try fixture(MitigationRule(name: "try", on: .nodeOffline, task: .shell("x"), dryRun: true))
        fixture.birth("n")
        fixture.death("n", bdSeq: 1)
        let firing = try #require(fixture.engine.takeFirings().first)
        #expect(firing.outcome == .dryRun && firing.job == nil)
        #expect(fixture.engine.ruleBook.request(for: firing) == nil)
    }

    @Test func cooldownsSurviveARestartThroughTheHistory() throws {
        let rule = MitigationRule(name: "page", on: .nodeOffline, task: .shell("notify"), cooldown: 600)
        let earlier = RuleFiring(rule: "page", node: "n", cause: "", at: EngineFixture().now - 10, outcome: .submitted)
        let fixture = EngineFixture()
        fixture.engine.ruleBook = RuleBook(rules: [rule], history: [earlier])
        fixture.birth("n")
        fixture.death("n", bdSeq: 1)
        #expect(fixture.engine.takeFirings().isEmpty)
    }

    @Test func rulesAreCheckedWhereTheyEnterNamingTheField() {
        let good = MitigationRule(name: "ok", on: .nodeOffline, task: .shell("x"))
        func problem(_ change: (inout MitigationRule) -> Void) -> String? {
            var rule = good
            change(&rule)
            do {
                try rule.validate()
                return nil
            } catch {
                return error.field
            }
        }
        #expect(problem { _ in } == nil)
        #expect(problem { $0.name = "" } == "name")
        #expect(problem { $0.name = "has space" } == "name")
        #expect(problem { $0.name = String(repeating: "n", count: 65) } == "name")
        #expect(problem { $0.scope = "role=(" } == "scope")
        #expect(problem { $0.target = "a=b\u{0}" } == "target")
        #expect(problem { $0.task = .shell("a\u{0}b") } == "task.script")
        for timeout in [1e300, -1, 0, .nan, .infinity, 9.3e18] { #expect(problem { $0.timeout = timeout } == "timeout") }
        for cooldown in [1e300, -1, .nan, 31 * 86_400] { #expect(problem { $0.cooldown = cooldown } == "cooldown") }
        for cap in [0, -1, Int.max, 1_001] { #expect(problem { $0.maxConcurrent = cap } == "maxConcurrent") }
        var book = RuleBook()
        #expect(throws: BoundsError.self) { try book.add(MitigationRule(name: "", on: .jobFailed, task: .shell("x"))) }
        #expect(book.rules.isEmpty)
    }
}
