import Foundation
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance: a matching node that is offline at submission runs the job when it
/// returns before the deadline; one that stays away past it ends `unreachable`. No
/// expected node is ever missing.
@Suite struct OfflineNodeTests {
    @Test func offlineNodesRunOnReturnOrBecomeUnreachable() async throws {
        try await withFleet(agents: ["up": ["role": "web"], "back": ["role": "web"], "gone": ["role": "web"]]) { fleet in
            await fleet.agents["back"]!.stop()
            await fleet.agents["gone"]!.stop()
            try await fleet.waitOffline(["back", "gone"])

            try await fleet.client { client in
                // Deadline far enough for "back" to return, then a second job that "gone" misses.
                let job = "offline-\(UUID().uuidString.prefix(8))"
                try await client.follow(job: job)
                let submitted = try await client.request(.submitJob, SubmitJobRequest(
                    id: job, selector: "role=web", task: .shell("echo ran-$SHOAL_NODE_ID"), timeout: 10, deadlineIn: 60),
                    as: JobDetail.self)
                #expect(Set(submitted.executions.map(\.node)) == ["up", "back", "gone"])
                let offline = submitted.executions.filter { $0.nodeOnline == false }.map(\.node)
                #expect(Set(offline) == ["back", "gone"])

                _ = try await withTimeout(.seconds(20), "the online node's result") {
                    try await awaitJob(client, job: job) { $0["up"]?.state.isTerminal == true }
                }
                try fleet.restartAgent("back")
                let views = try await withTimeout(.seconds(30), "the returning node's result") {
                    try await awaitJob(client, job: job) { $0["back"]?.state.isTerminal == true }
                }
                #expect(views["back"]?.state == .succeeded)
                #expect(views["back"]?.stdout == "ran-back\n")

                let detail = try await client.request(.getJob, GetJobRequest(id: job), as: JobDetail.self)
                #expect(Set(detail.executions.map(\.node)) == ["up", "back", "gone"])
                #expect(detail.executions.first { $0.node == "gone" }?.state == .queued)
            }

            try await fleet.client { client in
                let job = "deadline-\(UUID().uuidString.prefix(8))"
                try await client.follow(job: job)
                _ = try await client.request(.submitJob, SubmitJobRequest(
                    id: job, selector: "name=gone", task: .exec(["true"]), timeout: 10, deadlineIn: 1), as: JobDetail.self)
                let views = try await withTimeout(.seconds(20), "the deadline") {
                    try await awaitJob(client, job: job) { $0["gone"]?.state.isTerminal == true }
                }
                #expect(views["gone"]?.state == .unreachable)
                #expect(views["gone"]?.reason?.contains("offline") == true)
            }

            // The node that missed the deadline comes back: the job stays unreachable and
            // it never runs it (the agent refuses a job past its deadline).
            try fleet.restartAgent("gone")
            try await fleet.waitOnline(["gone"])
            let shown = try await fleet.shoal("jobs", "list", "-o", "json")
            let jobs = try decodeJSON([JobView].self, shown.stdout)
            let deadlineJob = try #require(jobs.first { $0.id.hasPrefix("deadline-") })
            #expect(deadlineJob.counts == ["unreachable": 1])
        }
    }
}
