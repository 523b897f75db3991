import Foundation
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Issue 11, "control messages (cancel, quarantine, release, labels) are signed the same
/// way": an agent that trusts an operator key ignores unsigned ones published straight to
/// its `ctl` topic (as anyone on the broker could), the dispatcher refuses unsigned API
/// requests for such a node (it says so in its birth), and the operations `shoal` signs
/// with the operator's key are obeyed.
///
/// An agent handles its control messages in order, so a signed label change confirmed by
/// the node's next birth proves that the unsigned message sent before it was handled (and
/// refused): no sleep decides it.
@Suite(.timeLimit(.minutes(3)))
struct SignedControlTests {
    @Test func unsignedControlOperationsAreIgnoredAndSignedOnesObeyed() async throws {
        try await withFleet(agents: [:]) { fleet in
            let created = try await fleet.shoal("keys", "create")
            #expect(created.exitCode == 0, "\(created.stderr)")
            let node = "ctl-a"
            let agent = try fleet.startAgent(node, labels: ["role": "ctl"],
                                             arguments: ["--trusted-keys", fleet.home + "/keys/default.pub"])
            try await fleet.waitOnline([node])
            let isolatedMark = fleet.home + "/agents/\(node)/isolated"
            var step = 0
            /// A signed label change through the CLI, which waits for the node's birth with it.
            func barrier() async throws {
                step += 1
                let labelled = try await fleet.shoal("nodes", "label", node, "step=\(step)")
                #expect(labelled.exitCode == 0, "\(labelled.stderr)")
                #expect(labelled.stdout.contains("step=\(step)"), "\(labelled.stdout)")
            }

            // A job that runs until it is stopped, signed by `shoal run`.
            let run = try await fleet.shoal("run", "--detach", "--id", "ctl-sleep", "-s", "role=ctl", "--timeout", "120s",
                                            "--", "sleep", "300")
            #expect(run.exitCode == 0, "\(run.stderr)")
            try await fleet.client { client in
                try await client.follow(job: "ctl-sleep")
                let detail = try await client.request(.getJob, GetJobRequest(id: "ctl-sleep"), as: JobDetail.self)
                if detail.executions.first?.state != .running {
                    _ = try await withTimeout(.seconds(20), "running") {
                        try await awaitJob(client, job: "ctl-sleep") { $0[node]?.state == .running }
                    }
                }
                // Unsigned API requests: refused by the dispatcher, naming the way to sign.
                func expectRefused(_ call: () async throws -> Void) async {
                    do {
                        try await call()
                        Issue.record("an unsigned request for a signed-only node was accepted")
                    } catch {
                        #expect("\(error)".contains("obeys only signed operations"), "\(error)")
                    }
                }
                await expectRefused { _ = try await client.request(.cancelJob, CancelJobRequest(id: "ctl-sleep"), as: CancelJobResult.self) }
                await expectRefused { _ = try await client.request(.quarantineNode, NodeStateRequest(node: node), as: NodeView.self) }
                await expectRefused {
                    _ = try await client.request(.labelNode, LabelNodeRequest(node: node, set: ["forged": "yes"]), as: NodeView.self)
                }
            }
            // Unsigned control messages straight to the node: refused by its agent.
            let intruder = try MQTTClient(configuration: .init(port: fleet.address.port, clientID: "ctl-intruder"),
                                          logger: testLogger("intruder"))
            try await intruder.start()
            defer { intruder.stop() }
            let controlTopic = TopicTree().nodeControl(node)
            for forged in [ControlMessage(op: .cancel, job: "ctl-sleep"), ControlMessage(op: .quarantine),
                           ControlMessage(op: .labels, set: ["forged": "yes"])] {
                try await intruder.publishConfirmed(MQTTMessage(topic: controlTopic, payload: Wire.encode(forged), qos: 1))
            }
            try await barrier()
            try await fleet.client { client in
                let detail = try await client.request(.getJob, GetJobRequest(id: "ctl-sleep"), as: JobDetail.self)
                #expect(detail.executions.first?.state == .running, "an unsigned cancel stopped the job")
                let view = try #require(try await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self).first { $0.id == node })
                #expect(view.isolated != true && view.labels["forged"] == nil)
            }
            #expect(!FileManager.default.fileExists(atPath: isolatedMark), "an unsigned quarantine isolated the node")

            // Signed by the CLI: obeyed.
            let quarantined = try await fleet.shoal("nodes", "quarantine", node)
            #expect(quarantined.exitCode == 0, "\(quarantined.stderr)")
            try await barrier()
            #expect(FileManager.default.fileExists(atPath: isolatedMark), "the signed quarantine was not carried out")
            // An unsigned release is refused: the node stays isolated.
            try await intruder.publishConfirmed(MQTTMessage(topic: controlTopic, payload: Wire.encode(ControlMessage(op: .release)), qos: 1))
            try await barrier()
            #expect(FileManager.default.fileExists(atPath: isolatedMark), "an unsigned release was obeyed")
            let released = try await fleet.shoal("nodes", "release", node)
            #expect(released.exitCode == 0, "\(released.stderr)")
            try await barrier()
            #expect(!FileManager.default.fileExists(atPath: isolatedMark), "the signed release was not carried out")

            let canceled = try await fleet.shoal("jobs", "cancel", "ctl-sleep")
            #expect(canceled.exitCode == 0, "\(canceled.stderr)")
            try await fleet.client { client in
                try await client.follow(job: "ctl-sleep")
                let detail = try await client.request(.getJob, GetJobRequest(id: "ctl-sleep"), as: JobDetail.self)
                if detail.executions.first?.state != .canceled {
                    _ = try await withTimeout(.seconds(20), "canceled") {
                        try await awaitJob(client, job: "ctl-sleep") { $0[node]?.state == .canceled }
                    }
                }
                // The audit record names the signing key for signed operations.
                let audit = try await client.request(.listAudit, ListAuditRequest(), as: [AuditEntry].self)
                let signedActions = audit.filter { $0.actor?.hasPrefix("key:") == true }.map(\.action)
                for action in ["submit", "quarantine", "release", "label", "cancel"] {
                    #expect(signedActions.contains(action), "no signed \(action) in \(audit)")
                }
            }
            _ = agent
        }
    }
}
