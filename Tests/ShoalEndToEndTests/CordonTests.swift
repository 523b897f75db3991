import Foundation
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// `shoal nodes cordon`: no new work for the node, whatever the selector; what runs there
/// finishes; `uncordon` gives it work again; `shoal nodes` shows the state.
@Suite struct CordonTests {
    @Test func aCordonedNodeFinishesItsWorkAndGetsNoNewWork() async throws {
        try await withFleet(agents: ["k1": ["role": "c"], "k2": ["role": "c"]]) { fleet in
            let job = "before-cordon"
            try await fleet.client { client in
                try await client.follow(job: job)
                _ = try await client.request(.submitJob, SubmitJobRequest(
                    id: job, selector: "role=c", task: .shell("sleep 2; echo done")), as: JobDetail.self)
                _ = try await withTimeout(.seconds(20), "both running") {
                    try await awaitJob(client, job: job) { $0["k1"]?.state == .running && $0["k2"]?.state == .running }
                }
            }
            let cordon = try await fleet.shoal("nodes", "cordon", "k1")
            #expect(cordon.exitCode == 0 && cordon.stdout.contains("cordoned"), "\(cordon.stdout)\(cordon.stderr)")
            #expect(try await fleet.shoal("nodes").stdout.contains("cordoned"))
            let during = try await fleet.shoal("run", "--all", "-o", "json", "--", "true")
            #expect(try decodeJSON(JobDetail.self, during.stdout).executions.map(\.node) == ["k2"])
            let named = try await fleet.shoal("run", "-s", "name=k1", "--", "true")
            #expect(named.exitCode == 2, "a cordoned node matched: \(named.stdout)")
            // What it was running finishes (subscribed before asking, so the end is not missed).
            try await fleet.client { client in
                try await client.follow(job: job)
                let now = try await client.request(.getJob, GetJobRequest(id: job, withOutput: false), as: JobDetail.self)
                guard !now.job.isFinished else { return }
                let open = Set(now.executions.filter { !$0.state.isTerminal }.map(\.node))
                _ = try await withTimeout(.seconds(20), "the first job to end") {
                    try await awaitJob(client, job: job) { views in open.allSatisfy { views[$0]?.state.isTerminal == true } }
                }
            }
            let finished = try decodeJSON(JobDetail.self, try await fleet.shoal("jobs", "show", job, "-o", "json").stdout)
            #expect(finished.executions.map(\.state) == [.succeeded, .succeeded])
            // An incident job still reaches it; uncordoned, it takes work again.
            let incident = try await fleet.shoal("run", "--incident", "-s", "name=k1", "-o", "json", "--", "true")
            #expect(try decodeJSON(JobDetail.self, incident.stdout).executions.map(\.state) == [.succeeded])
            #expect(try await fleet.shoal("nodes", "uncordon", "k1").exitCode == 0)
            let after = try await fleet.shoal("run", "--all", "-o", "json", "--", "true")
            #expect(try decodeJSON(JobDetail.self, after.stdout).executions.map(\.node) == ["k1", "k2"])
        }
    }
}
