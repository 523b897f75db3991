import ShoalCore
import Testing

@testable import ShoalEngine

/// Cordon, quarantine, release and relabelling as rules: who is planned for, what the
/// nodes are told, what survives a birth, what the audit record gets.
@Suite("Node states")
struct NodeStateRuleTests {
    private func expected(_ fixture: EngineFixture, _ id: String, selector: String = "", incident: Bool = false) throws -> [String] {
        try fixture.submit(id, selector: selector, all: selector.isEmpty, incident: incident).expected.sorted()
    }

    @Test func cordonedNodesGetNoNewWorkAndWorkAgainOnceUncordoned() throws {
        let fixture = EngineFixture()
        fixture.birth("a", labels: ["role": "web"])
        fixture.birth("b", labels: ["role": "web"])
        try fixture.submit("before")
        let view = try fixture.engine.setState(.cordon, of: NodeStateRequest(node: "a", actor: "ops"))
        #expect(view.state == .cordoned)
        #expect(try expected(fixture, "j1") == ["b"])
        #expect(try expected(fixture, "j2", selector: "role=web") == ["b"])
        // Running work finishes: the earlier job still expects it.
        #expect(fixture.state("before", "a") == .queued)
        _ = try fixture.engine.setState(.uncordon, of: NodeStateRequest(node: "a"))
        #expect(try expected(fixture, "j3") == ["a", "b"])
        let audit = try #require(fixture.engine.takePending()).audit
        #expect(audit.map(\.action) == [.cordon, .uncordon])
        #expect(audit.map(\.actor) == ["ops", nil])
    }

    @Test func aQuarantinedNodeIsLeftOutOfEverySelectorButIncidentJobs() throws {
        let fixture = EngineFixture()
        fixture.birth("a", labels: ["role": "web"])
        fixture.birth("b", labels: ["role": "web"])
        _ = try fixture.engine.setState(.quarantine, of: NodeStateRequest(node: "a"))
        #expect(fixture.controls().map { "\($0.node) \($0.message.op)" } == ["a quarantine"])
        #expect(try expected(fixture, "all") == ["b"])
        #expect(try expected(fixture, "named", selector: "name=a") == [])
        #expect(try expected(fixture, "incident", selector: "name=a", incident: true) == ["a"])
        let incident = try fixture.submit("incident-2", selector: "name=a", all: false, incident: true)
        #expect(incident.job.incident)
        let message = try Wire.decode(JobMessage.self, from: try #require(incident.publications.first).payload)
        #expect(message.incident == true)
        // A cordon does not undo it, nor does an uncordon.
        #expect(throws: EngineError.self) { try fixture.engine.setState(.cordon, of: NodeStateRequest(node: "a")) }
        #expect(throws: EngineError.self) { try fixture.engine.setState(.uncordon, of: NodeStateRequest(node: "a")) }
        let released = try fixture.engine.setState(.release, of: NodeStateRequest(node: "a"))
        #expect(released.state == nil)
        #expect(fixture.controls().map { "\($0.node) \($0.message.op)" } == ["a release"])
        #expect(try expected(fixture, "after") == ["a", "b"])
        #expect(throws: EngineError.self) { try fixture.engine.setState(.release, of: NodeStateRequest(node: "a")) }
        #expect(throws: EngineError.self) { try fixture.engine.setState(.quarantine, of: NodeStateRequest(node: "ghost")) }
    }

    @Test func aBirthKeepsTheStateAndABirthThatDisagreesIsAnsweredAgain() throws {
        let fixture = EngineFixture()
        fixture.birth("a")
        _ = try fixture.engine.setState(.quarantine, of: NodeStateRequest(node: "a"))
        _ = fixture.engine.takeOutbox()
        // The agent confirms: nothing more to say.
        fixture.birth("a", bdSeq: 1, isolated: true)
        #expect(fixture.controls().isEmpty)
        #expect(fixture.engine.nodes["a"]?.admin == .quarantined)
        #expect(fixture.engine.nodes["a"]?.view.isolated == true)
        // Restarted without its rules (a reboot): told again.
        fixture.birth("a", bdSeq: 2)
        #expect(fixture.controls().map(\.message.op) == [.quarantine])
        #expect(fixture.engine.nodes["a"]?.admin == .quarantined)
        // Released while offline, comes back still isolated: told to release.
        _ = try fixture.engine.setState(.release, of: NodeStateRequest(node: "a"))
        _ = fixture.engine.takeOutbox()
        fixture.birth("a", bdSeq: 3, isolated: true)
        #expect(fixture.controls().map(\.message.op) == [.release])
    }

    @Test func relabellingTellsTheNodeAndWaitsForItsBirth() throws {
        let fixture = EngineFixture()
        fixture.birth("a", labels: ["role": "web", "tier": "1"])
        let view = try fixture.engine.relabel(LabelNodeRequest(node: "a", set: ["role": "db"], remove: ["tier"], actor: "ops"))
        #expect(view.labels["role"] == "web", "the registry changed before the node did")
        let sent = fixture.controls()
        #expect(sent.count == 1 && sent[0].node == "a")
        #expect(sent[0].message == ControlMessage(op: .labels, set: ["role": "db"], remove: ["tier"], node: "a"))
        #expect(fixture.engine.takePending()?.audit.first?.detail == "role=db tier-")
        // The agent's new birth moves it in the registry and the planner.
        fixture.birth("a", labels: ["role": "db"], bdSeq: 2)
        #expect(try expected(fixture, "j", selector: "role=db") == ["a"])
        #expect(try expected(fixture, "k", selector: "role=web") == [])
    }

    @Test func hostileLabelRequestsAreRefusedNamingTheField() {
        let fixture = EngineFixture()
        fixture.birth("a")
        let huge = String(repeating: "x", count: Limits.labelBytes + 1)
        let many = Dictionary(uniqueKeysWithValues: (0...Limits.labelCount).map { ("k\($0)", "v") })
        for (request, field) in [
            (LabelNodeRequest(node: "a"), "set"),
            (LabelNodeRequest(node: "a", set: ["": "v"]), "set"),
            (LabelNodeRequest(node: "a", set: ["k": huge]), "set.k"),
            (LabelNodeRequest(node: "a", set: [huge: "v"]), "set key"),
            (LabelNodeRequest(node: "a", set: many), "set count"),
            (LabelNodeRequest(node: "a", set: ["k": "v\u{0}"]), "set.k"),
            (LabelNodeRequest(node: "a", set: ["k": "v"], remove: ["k"]), "remove"),
            (LabelNodeRequest(node: "a/b", set: ["k": "v"]), "node"),
            (LabelNodeRequest(node: "a", remove: [huge]), "remove[0]"),
        ] {
            do {
                _ = try fixture.engine.relabel(request)
                Issue.record("accepted \(field)")
            } catch let error as BoundsError {
                #expect(error.field == field)
            } catch {
                Issue.record("\(field): \(error)")
            }
        }
        #expect(fixture.controls().isEmpty)
    }

    @Test func everyOperatorActionIsAuditedWithItsActor() throws {
        let fixture = EngineFixture()
        fixture.birth("a")
        fixture.birth("gone")
        fixture.death("gone", bdSeq: 1)
        let submission = try fixture.submit("j", actor: "alice@h")
        #expect(submission.audit.action == .submit && submission.audit.actor == "alice@h" && submission.audit.target == "j")
        _ = try fixture.engine.cancel(CancelJobRequest(id: "j", actor: "bob@h"))
        _ = try fixture.engine.setState(.cordon, of: NodeStateRequest(node: "a", actor: "carol@h"))
        _ = try fixture.engine.setState(.uncordon, of: NodeStateRequest(node: "a", actor: "carol@h"))
        _ = try fixture.engine.setState(.quarantine, of: NodeStateRequest(node: "a", actor: "dave@h"))
        _ = try fixture.engine.setState(.release, of: NodeStateRequest(node: "a", actor: "dave@h"))
        _ = try fixture.engine.relabel(LabelNodeRequest(node: "a", set: ["x": "1"], actor: "erin@h"))
        _ = try fixture.engine.forget("gone", actor: "frank@h")
        let audit = try #require(fixture.engine.takePending()).audit
        #expect(audit.map(\.action) == [.cancel, .cordon, .uncordon, .quarantine, .release, .label, .forget])
        #expect(audit.map(\.actor) == ["bob@h", "carol@h", "carol@h", "dave@h", "dave@h", "erin@h", "frank@h"])
        #expect(audit.map(\.target) == ["j", "a", "a", "a", "a", "a", "gone"])
    }

    /// A node that obeys only signed operations: unsigned requests for it are refused before
    /// anything is recorded; a signed one is passed on with its signature, addressed as
    /// signed, and sent again as it was when a birth disagrees.
    @Test func aSignedOnlyNodeGetsSignedOrdersAndUnsignedRequestsAreRefused() throws {
        let fixture = EngineFixture()
        fixture.birth("a", labels: ["role": "web"], signedOnly: true)
        fixture.birth("b", labels: ["role": "web"])
        #expect(throws: EngineError.self) { try fixture.engine.setState(.quarantine, of: NodeStateRequest(node: "a")) }
        #expect(throws: EngineError.self) { try fixture.engine.relabel(LabelNodeRequest(node: "a", set: ["x": "1"])) }
        try fixture.submit("j1")
        #expect(throws: EngineError.self) { try fixture.engine.cancel(CancelJobRequest(id: "j1")) }
        #expect(fixture.controls().isEmpty)
        #expect(fixture.engine.nodes["a"]?.admin == .active)
        // Unsigned requests for nodes that do not enforce signatures still work.
        _ = try fixture.engine.setState(.quarantine, of: NodeStateRequest(node: "b"))

        let key = OperatorPrivateKey()
        var request = NodeStateRequest(node: "a", actor: "ops")
        request.signature = key.sign(request.signingContent(of: .quarantine), expiresAt: fixture.now + 600, nonce: "nonce-quarantine-1")
        _ = try fixture.engine.setState(.quarantine, of: request)
        let sent = fixture.controls().filter { $0.node == "a" }
        #expect(sent.map(\.message) == [ControlMessage(op: .quarantine, node: "a", signature: request.signature)])
        #expect(sent.first?.message.signingContent == request.signingContent(of: .quarantine))
        // The birth says the isolation is not in force: the same signed order again.
        fixture.birth("a", labels: ["role": "web"], bdSeq: 2, isolated: nil, signedOnly: true)
        #expect(fixture.controls().filter { $0.node == "a" }.map(\.message) == [ControlMessage(op: .quarantine, node: "a", signature: request.signature)])
        let audit = try #require(fixture.engine.takePending()).audit
        #expect(audit.last?.actor == "key:\(key.id) (ops)")
    }
}
