import Foundation
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance (issue 9, relabelling): an agent restarted with other labels no longer
/// receives its previous cell's jobs (its persistent session had kept that subscription).
@Suite struct RelabelTests {
    @Test func aRelabelledAgentLeavesItsPreviousCell() async throws {
        try await withFleet(agents: ["mover": ["region": "eu", "role": "web"]]) { fleet in
            let arch = NodeFactsArch.current
            let oldCell = Cell(labels: ["region": "eu", "role": "web", "arch": arch])
            await fleet.agents["mover"]!.stop()
            fleet.labels["mover"] = ["region": "us", "role": "web"]
            try fleet.restartAgent("mover")
            try await fleet.waitOnline(["mover"])
            let topics = TopicTree()

            let publisher = try MQTTClient(configuration: .init(port: fleet.address.port, clientID: "relabel-test"),
                                           logger: testLogger("publisher"))
            try await publisher.start()
            defer { publisher.stop() }
            try await publisher.subscribe([topics.execStatus(node: "mover", job: "+")])
            let now = Date().timeIntervalSince1970
            func job(_ id: String) throws -> [UInt8] {
                Wire.encode(JobMessage(id: id, selector: try Selector(parsing: ""), task: .exec(["true"]), timeout: 10,
                                       deadline: now + 600, nodes: ["mover"], createdAt: now))
            }
            // First on the old cell's topic, then on the node's own: delivered in that order.
            try await publisher.publishConfirmed(MQTTMessage(topic: topics.cellJob(oldCell), payload: try job("old-cell")))
            try await publisher.publishConfirmed(MQTTMessage(topic: topics.nodeJob("mover"), payload: try job("own-topic")))
            let report = try await withTimeout(.seconds(20), "the node-topic job's report") { () -> ExecutionStatusMessage in
                for await message in publisher.messages {
                    let status = try Wire.decode(ExecutionStatusMessage.self, from: message.payload)
                    if status.state.isTerminal { return status }
                }
                throw CancellationError()
            }
            #expect(report.job == "own-topic", "the old cell's job reached the relabelled agent")
            // Delivered at all, the old cell's job would have been claimed (then rejected) first.
            #expect(!FileManager.default.fileExists(atPath: fleet.home + "/agents/mover/ledger/old-cell.json"))
        }
    }

    /// Acceptance (issue 11, labels from the control plane): `shoal nodes label` changes a
    /// running node's labels; the registry has them from its new birth, selectors follow,
    /// its cell subscription moves, and the change survives an agent restart.
    @Test func labelsSetFromTheControlPlaneMoveTheNodeAndItsCell() async throws {
        try await withFleet(agents: ["mover": ["region": "eu", "role": "web"], "stay": ["region": "eu", "role": "web"]]) { fleet in
            let label = try await fleet.shoal("nodes", "label", "mover", "role=db", "region-")
            #expect(label.exitCode == 0 && label.stdout.contains("role=db"), "\(label.stdout)\(label.stderr)")
            #expect(!label.stdout.contains("region="), "\(label.stdout)")
            let run = try await fleet.shoal("run", "-s", "role=db", "-o", "json", "--", "true")
            #expect(try decodeJSON(JobDetail.self, run.stdout).executions.map(\.node) == ["mover"])
            let web = try await fleet.shoal("run", "-s", "role=web", "-o", "json", "--", "true")
            #expect(try decodeJSON(JobDetail.self, web.stdout).executions.map(\.node) == ["stay"])

            // Its old cell's topic no longer reaches it; its new one does.
            let arch = NodeFactsArch.current
            let topics = TopicTree()
            let publisher = try MQTTClient(configuration: .init(port: fleet.address.port, clientID: "relabel-cell-test"),
                                           logger: testLogger("publisher"))
            try await publisher.start()
            defer { publisher.stop() }
            try await publisher.subscribe([topics.execStatus(node: "mover", job: "+")])
            let now = Date().timeIntervalSince1970
            func job(_ id: String) throws -> [UInt8] {
                Wire.encode(JobMessage(id: id, selector: try Selector(parsing: ""), task: .exec(["true"]), timeout: 10,
                                       deadline: now + 600, nodes: ["mover"], createdAt: now))
            }
            let oldCell = Cell(labels: ["region": "eu", "role": "web", "arch": arch])
            let newCell = Cell(labels: ["role": "db", "arch": arch])
            try await publisher.publishConfirmed(MQTTMessage(topic: topics.cellJob(oldCell), payload: try job("old-cell")))
            try await publisher.publishConfirmed(MQTTMessage(topic: topics.cellJob(newCell), payload: try job("new-cell")))
            let report = try await withTimeout(.seconds(20), "the new cell's job report") { () -> ExecutionStatusMessage in
                for await message in publisher.messages {
                    let status = try Wire.decode(ExecutionStatusMessage.self, from: message.payload)
                    if status.state.isTerminal { return status }
                }
                throw CancellationError()
            }
            #expect(report.job == "new-cell")
            #expect(!FileManager.default.fileExists(atPath: fleet.home + "/agents/mover/ledger/old-cell.json"))

            // Kept across a restart of the agent (its flags still say role=web).
            await fleet.agents["mover"]!.stop()
            try await fleet.waitOffline(["mover"])
            try fleet.restartAgent("mover")
            try await fleet.waitOnline(["mover"])
            let nodes = try decodeJSON([NodeView].self, try await fleet.shoal("nodes", "-o", "json").stdout)
            let mover = try #require(nodes.first { $0.id == "mover" })
            #expect(mover.labels["role"] == "db" && mover.labels["region"] == nil)
        }
    }
}
