import Foundation
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance (issue 9, identity): a node gone for good can be forgotten; jobs stop
/// waiting for it, and a live node cannot be forgotten by mistake.
@Suite struct ForgetNodeTests {
    @Test func aGoneNodeIsForgottenAndNoLongerAwaited() async throws {
        try await withFleet(agents: ["stays": ["role": "f"], "gone": ["role": "f"]]) { fleet in
            try await fleet.client { client in
                try await client.followNodes()
                await fleet.agents["gone"]!.stop()
                _ = try await withTimeout(.seconds(30), "the stopped node to go offline") {
                    for await view in client.nodeEvents where view.id == "gone" && !view.online { return view }
                    throw TimeoutError(description: "node events ended")
                }
            }
            // Submitted while `gone` is offline: it waits for it (until the deadline).
            let submitted = try await fleet.shoal("run", "--all", "--detach", "--id", "waits-for-gone", "--deadline", "1h", "--", "true")
            #expect(submitted.exitCode == 0, "\(submitted.stderr)")

            let refused = try await fleet.shoal("nodes", "forget", "stays")
            #expect(refused.exitCode == 1 && refused.stderr.contains("is online"), "\(refused.stderr)")
            let unknown = try await fleet.shoal("nodes", "forget", "never-was")
            #expect(unknown.exitCode == 1 && unknown.stderr.contains("no node"), "\(unknown.stderr)")

            let forgotten = try await fleet.shoal("nodes", "forget", "gone")
            #expect(forgotten.exitCode == 0, "\(forgotten.stderr)")
            let listed = try decodeJSON([NodeView].self, try await fleet.shoal("nodes", "-o", "json").stdout)
            #expect(listed.map(\.id) == ["stays"])

            let waited = try decodeJSON(JobDetail.self, try await fleet.shoal("jobs", "show", "waits-for-gone", "-o", "json").stdout)
            #expect(waited.job.isFinished)
            #expect(waited.executions.first { $0.node == "gone" }?.state == .skipped)

            let next = try await fleet.shoal("run", "--all", "-o", "json", "--", "true")
            #expect(next.exitCode == 0, "\(next.stderr)")
            #expect(try decodeJSON(JobDetail.self, next.stdout).executions.map(\.node) == ["stays"])
        }
    }
}
