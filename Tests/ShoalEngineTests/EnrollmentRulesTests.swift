import ShoalCore
import Testing

@testable import ShoalEngine

/// Enrollment's rules on a manual clock: who is pending, who gets work, what the broker is
/// told, and what every request is answered.
@Suite struct EnrollmentRulesTests {
    /// The enrollment answers in the outbox for `node`, in order; the outbox is emptied.
    private func answers(_ fixture: EngineFixture, _ node: String) -> [EnrollmentState] {
        fixture.engine.takeOutbox().filter { $0.topic == fixture.topics.enrollmentAnswer(node) }.compactMap {
            try? Wire.decode(EnrollmentAnswer.self, from: $0.payload).state
        }
    }

    @Test func aRequestMakesAPendingNodeThatGetsNoWorkUntilApproved() throws {
        let fixture = EngineFixture()
        fixture.birth("old")
        #expect(fixture.engine.needsCredentialHash(for: "new"))
        fixture.engine.requestEnrollment(node: "new", labels: ["role": "web"], credentialHash: "$7$hash")
        #expect(answers(fixture, "new") == [.pending])
        #expect(fixture.engine.takeCredentialChanges().isEmpty)
        // Its agent cannot publish a birth before approval, but even a registered pending
        // node is no candidate.
        fixture.birth("new", labels: ["role": "web"])
        let before = try fixture.submit("j1")
        #expect(before.expected == ["old"])
        #expect(try fixture.engine.nodeViews(matching: "").first { $0.id == "new" }?.enrollment == .pending)

        let approved = try fixture.engine.approve("new")
        #expect(approved.enrollment == .approved)
        #expect(fixture.engine.takeCredentialChanges() == [.grant(node: "new", hash: "$7$hash")])
        #expect(answers(fixture, "new") == [.approved])
        fixture.birth("new", labels: ["role": "web", "x": "1"])
        #expect(try fixture.submit("j2").expected == ["new", "old"])
        // Committed as a row of its own.
        #expect(fixture.engine.takePending()?.enrollments["new"]?.state == .approved)
    }

    @Test func aRejectionIsFinalAndRevokesCredentials() throws {
        let fixture = EngineFixture()
        fixture.engine.requestEnrollment(node: "n", labels: [:], credentialHash: "$7$h")
        _ = try fixture.engine.approve("n")
        _ = fixture.engine.takeCredentialChanges()
        fixture.birth("n")
        #expect(try fixture.submit("j1").expected == ["n"])

        #expect(try fixture.engine.reject("n").enrollment == .rejected)
        #expect(fixture.engine.takeCredentialChanges() == [.revoke(node: "n")])
        #expect(try fixture.submit("j2").expected.isEmpty)
        #expect(throws: EngineError.self) { try fixture.engine.approve("n") }
        // Asking again changes nothing: the answer stays `rejected`.
        _ = fixture.engine.takeOutbox()
        #expect(!fixture.engine.needsCredentialHash(for: "n"))
        fixture.engine.requestEnrollment(node: "n", labels: [:], credentialHash: nil)
        #expect(answers(fixture, "n") == [.rejected])
    }

    @Test func theFirstRequestStandsAndLaterOnesOnlyHearTheDecision() throws {
        let fixture = EngineFixture()
        fixture.engine.requestEnrollment(node: "n", labels: ["a": "1"], credentialHash: "$7$first")
        // A second request (another machine, or an impostor with the bootstrap token) is
        // not hashed and replaces nothing.
        #expect(!fixture.engine.needsCredentialHash(for: "n"))
        fixture.engine.requestEnrollment(node: "n", labels: ["a": "2"], credentialHash: "$7$second")
        #expect(answers(fixture, "n") == [.pending, .pending])
        _ = try fixture.engine.approve("n")
        #expect(fixture.engine.takeCredentialChanges() == [.grant(node: "n", hash: "$7$first")])
        #expect(fixture.engine.enrollments["n"]?.labels == ["a": "1"])
    }

    @Test func aNodeIdAlreadyInTheFleetOrARoleNameIsRefused() {
        let fixture = EngineFixture(enrollmentPolicy: EnrollmentPolicy(reservedIDs: ["shoal-dispatcher"]))
        fixture.birth("provisioned")
        #expect(!fixture.engine.needsCredentialHash(for: "provisioned"))
        fixture.engine.requestEnrollment(node: "provisioned", labels: [:], credentialHash: nil)
        #expect(answers(fixture, "provisioned") == [.rejected])
        #expect(!fixture.engine.needsCredentialHash(for: "shoal-dispatcher"))
        fixture.engine.requestEnrollment(node: "shoal-dispatcher", labels: [:], credentialHash: "$7$h")
        #expect(answers(fixture, "shoal-dispatcher") == [.rejected])
        #expect(fixture.engine.enrollments.isEmpty)
        #expect(fixture.engine.takeCredentialChanges().isEmpty)
    }

    @Test func autoApproveByLabelGrantsAtOnceAndOnlyWhenTheLabelsMatch() throws {
        let rule = try Selector(parsing: "env=lab")
        let fixture = EngineFixture(enrollmentPolicy: EnrollmentPolicy(autoApprove: rule))
        fixture.engine.requestEnrollment(node: "lab-1", labels: ["env": "lab"], credentialHash: "$7$a")
        fixture.engine.requestEnrollment(node: "prod-1", labels: ["env": "prod"], credentialHash: "$7$b")
        #expect(fixture.engine.takeCredentialChanges() == [.grant(node: "lab-1", hash: "$7$a")])
        #expect(answers(fixture, "lab-1") == [.approved])
        #expect(fixture.engine.enrollments["prod-1"]?.state == .pending)
        #expect(fixture.engine.enrollments["lab-1"]?.decidedAt == fixture.now)
    }

    @Test func decisionsOnUnknownNodesAreErrorsThatSayWhatToDo() {
        let fixture = EngineFixture()
        #expect(throws: EngineError.self) { try fixture.engine.approve("nobody") }
        #expect(throws: EngineError.self) { try fixture.engine.reject(String(repeating: "x", count: 100_000)) }
    }

    @Test func enrollmentsSurviveARestart() throws {
        let record = EnrollmentRecord(node: "n", state: .pending, labels: [:], credentialHash: "$7$h", requestedAt: 1_800_000_000)
        let fixture = EngineFixture(recovered: DispatchEngine.Recovered(enrollments: [record]))
        fixture.birth("n")
        #expect(try fixture.submit("j").expected.isEmpty)
        _ = try fixture.engine.approve("n")
        #expect(fixture.engine.takeCredentialChanges() == [.grant(node: "n", hash: "$7$h")])
    }
}
