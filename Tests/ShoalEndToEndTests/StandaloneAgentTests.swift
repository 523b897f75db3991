import Foundation
import ShoalCore
import ShoalTestSupport
import Testing

/// `shoal-agent` is the agent of `shoal agent` in a binary of its own, linked differently
/// (static Swift runtime, FoundationEssentials only, code reordered; Package.swift): it
/// must behave the same. One job on one of each gives the same records.
@Suite struct StandaloneAgentTests {
    @Test func theStandaloneBinaryRunsAJobLikeTheBuiltInAgent() async throws {
        let labels = ["role": "worker"]
        try await withFleet(agents: ["built-in": labels]) { fleet in
            fleet.labels["standalone"] = labels
            fleet.agents["standalone"] = try ShoalProcess.agent(
                "standalone", labels: labels, broker: fleet.address, home: fleet.home, standalone: true)
            try await fleet.waitOnline(["built-in", "standalone"])

            let result = try await fleet.shoal(
                "run", "-s", "role=worker", "-o", "json", "--shell", "echo out from $SHOAL_NODE_ID; echo err >&2; exit 3")
            #expect(result.exitCode == 1, "some node did not succeed: \(result.stderr)")
            let detail = try decodeJSON(JobDetail.self, result.stdout)
            #expect(Set(detail.executions.map(\.node)) == ["built-in", "standalone"])
            for execution in detail.executions {
                #expect(execution.state == .failed)
                #expect(execution.exitCode == 3)
                #expect(execution.reason == "exit status 3")
                #expect(execution.stdout == "out from \(execution.node)\n")
                #expect(execution.stderr == "err\n")
            }
            let nodes = try await fleet.client { client in
                try await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self)
            }
            // Automatic labels come from the same code in both binaries.
            let facts = nodes.map { $0.labels.filter { $0.key != "name" } }
            #expect(facts.count == 2 && facts[0] == facts[1], "\(nodes)")
        }
    }
}
