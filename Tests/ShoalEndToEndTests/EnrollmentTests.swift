import BrokerLauncher
import Foundation
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Enrollment against a real broker with the secure profile and real agents holding only
/// the bootstrap token: pending nodes get no work, approval gives it, rejection never.
@Suite(.serialized) struct EnrollmentTests {
    /// Follows enrollment answers with the dispatcher's rights (the events of enrollment).
    private func answers(_ fleet: SecureFleet) async throws -> MQTTClient {
        let observer = try await fleet.rawClient(as: SecureBrokerProfile.dispatcherUser, clientID: "answers")
        try await observer.subscribe([TopicTree().enrollmentAnswer("+")])
        return observer
    }

    private func waitForAnswer(_ observer: MQTTClient, node: String, _ state: EnrollmentState) async throws {
        try await withTimeout(.seconds(30), "\(node) \(state)") {
            for await message in observer.messages {
                if let answer = try? Wire.decode(EnrollmentAnswer.self, from: message.payload), answer.node == node, answer.state == state {
                    return
                }
            }
            throw TimeoutError(description: "answers ended")
        }
    }

    @Test func aPendingNodeGetsNoJobUntilApprovedAndARejectedOneNever() async throws {
        try await withSecureFleet(provisioned: ["node-a": [:]]) { fleet in
            let observer = try await answers(fleet)
            defer { observer.stop() }
            try fleet.startEnrollingAgent("newbie", labels: ["role": "web"])
            try await waitForAnswer(observer, node: "newbie", .pending)
            let listed = try await fleet.client { client in
                try await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self)
            }
            #expect(listed.first { $0.id == "newbie" }?.enrollment == .pending)
            // `shoal nodes` says so too.
            let table = try await ShoalBinary.run(
                ["nodes", "--username", SecureBrokerProfile.operatorUser, "--tls-ca", fleet.profile.caFile,
                 "--password-file", fleet.profile.operatorPasswordFile], broker: fleet.address, home: fleet.home)
            #expect(table.stdout.contains("pending"), "\(table.stdout)\(table.stderr)")

            // Pending: left out of --all and of any selector.
            let before = try await fleet.run("", all: true, .exec(["true"]), id: "all-before")
            #expect(Set(before.keys) == ["node-a"])
            #expect(try await fleet.run("role=web", .exec(["true"]), id: "web-before").isEmpty)

            // Approved (through the CLI): it connects with its own credentials and gets work.
            let approve = try await ShoalBinary.run(
                ["nodes", "approve", "newbie", "--username", SecureBrokerProfile.operatorUser, "--tls-ca", fleet.profile.caFile,
                 "--password-file", fleet.profile.operatorPasswordFile], broker: fleet.address, home: fleet.home)
            #expect(approve.exitCode == 0, "\(approve.stderr)")
            try await fleet.waitOnline(["newbie"])
            let after = try await fleet.run("", all: true, .exec(["true"]), id: "all-after")
            #expect(after["newbie"]?.state == .succeeded)
            #expect(after["node-a"]?.state == .succeeded)
            // Its password stays in its data directory, for it alone.
            var status = stat()
            #expect(stat(fleet.home + "/agents/newbie/enrollment-secret", &status) == 0)
            #expect(status.st_mode & 0o077 == 0)

            // Another node is rejected: its agent stops with the reason, and it never gets work.
            try fleet.startEnrollingAgent("rogue", labels: ["role": "web"])
            try await waitForAnswer(observer, node: "rogue", .pending)
            try await fleet.client { client in
                _ = try await client.request(.rejectNode, EnrollmentDecisionRequest(node: "rogue"), as: NodeView.self)
                // A rejection is final.
                await #expect(throws: DispatcherClient.Failure.self) {
                    _ = try await client.request(.approveNode, EnrollmentDecisionRequest(node: "rogue"), as: NodeView.self)
                }
            }
            let rogue = try #require(fleet.agents["rogue"])
            let exit = try await withTimeout(.seconds(30), "rogue stops") { await rogue.process.wait() }
            #expect(exit != .exited(0))
            #expect(rogue.log.contains("rejected"))
            let last = try await fleet.run("role=web", .exec(["true"]), id: "web-after-reject")
            #expect(Set(last.keys) == ["newbie"])

            // Both decisions are in the audit record; the CLI's says who made it.
            let audit = try await fleet.client { client in
                try await client.request(.listAudit, ListAuditRequest(), as: [AuditEntry].self)
            }
            let decisions = audit.filter { $0.action == "approve" || $0.action == "reject" }
            #expect(decisions.map { "\($0.action) \($0.target)" } == ["approve newbie", "reject rogue"])
            #expect(decisions.first?.actor?.isEmpty == false)
        }
    }

    @Test func anIntegrationCanRunJobsButCannotApproveNodes() async throws {
        try await withSecureFleet(provisioned: ["node-a": [:]]) { fleet in
            let observer = try await answers(fleet)
            defer { observer.stop() }
            try fleet.startEnrollingAgent("waiting", labels: [:])
            try await waitForAnswer(observer, node: "waiting", .pending)
            try await fleet.client(as: SecureBrokerProfile.integrationUser, requestTimeout: .seconds(3)) { client in
                // Allowed: listing and submitting.
                let nodes = try await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self)
                #expect(nodes.contains { $0.id == "waiting" })
                _ = try await client.request(.submitJob, SubmitJobRequest(
                    selector: "", all: true, task: .exec(["true"]), timeout: 10, deadlineIn: 60), as: JobDetail.self)
                // Refused by the broker: no answer at all, where allowed requests take milliseconds.
                await #expect(throws: DispatcherClient.Failure.self) {
                    _ = try await client.request(.approveNode, EnrollmentDecisionRequest(node: "waiting"), as: NodeView.self)
                }
                await #expect(throws: DispatcherClient.Failure.self) {
                    _ = try await client.request(.forgetNode, ForgetNodeRequest(node: "node-a"), as: NodeView.self)
                }
            }
            // The operator's later request is answered after anything the integration sent.
            let nodes = try await fleet.client { client in
                try await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self)
            }
            #expect(nodes.first { $0.id == "waiting" }?.enrollment == .pending)
            #expect(nodes.contains { $0.id == "node-a" })
        }
    }

    @Test func labsAutoApproveByLabelAndASecondMachineWithAnEnrolledIdIsRefused() async throws {
        try await withSecureFleet(dispatcherArguments: ["--auto-approve", "env=lab"]) { fleet in
            let observer = try await answers(fleet)
            defer { observer.stop() }
            try fleet.startEnrollingAgent("lab-1", labels: ["env": "lab"])
            try await fleet.waitOnline(["lab-1"])
            try fleet.startEnrollingAgent("prod-1", labels: ["env": "prod"])
            try await waitForAnswer(observer, node: "prod-1", .pending)
            let states = try await fleet.run("", all: true, .exec(["true"]), id: "lab-job")
            #expect(Set(states.keys) == ["lab-1"])

            // Same id, its own (different) password: the broker refuses it; lab-1 keeps working.
            let impostor = try fleet.startEnrollingAgent("lab-1", labels: ["env": "lab"], name: "impostor",
                                                         dataDirectory: fleet.home + "/impostor")
            let exit = try await withTimeout(.seconds(60), "impostor stops") { await impostor.process.wait() }
            #expect(exit != .exited(0))
            #expect(impostor.log.contains("refused"))
            let again = try await fleet.run("name=lab-1", .exec(["true"]), id: "lab-job-2")
            #expect(again["lab-1"]?.state == .succeeded)
        }
    }
}
