import Foundation
import Glibc
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance (issue 9, true states): an agent stopped (SIGSTOP) past a job's time limit
/// while the job itself finished in time reports the job's real result; a job that really
/// overruns its limit is `timed_out` with 137.
@Suite struct StalledAgentTests {
    @Test func aStalledAgentReportsWhatTheJobReallyDid() async throws {
        try await withFleet(agents: ["sleeper": ["role": "s"]]) { fleet in
            let agent = try #require(fleet.agents["sleeper"]).process
            try await fleet.client { client in
                try await client.follow(job: "stalled")
                _ = try await client.request(.submitJob, SubmitJobRequest(
                    id: "stalled", selector: "role=s", task: .shell("sleep 1; echo done"), timeout: 2, deadlineIn: 600),
                    as: JobDetail.self)
                _ = try await withTimeout(.seconds(20), "running") {
                    try await awaitJob(client, job: "stalled") { $0["sleeper"]?.state == .running }
                }
                // Stopped past the time limit; the job's own process goes on and ends in 1 s.
                kill(agent.pid, SIGSTOP)
                try await Task.sleep(for: .seconds(4))
                kill(agent.pid, SIGCONT)
                let views = try await withTimeout(.seconds(30), "the result") {
                    try await awaitJob(client, job: "stalled") { $0["sleeper"]?.state.isTerminal == true }
                }
                let result = try #require(views["sleeper"])
                #expect(result.state == .succeeded && result.exitCode == 0, "\(result)")
                #expect(result.stdout == "done\n")
            }
            let overrun = try await fleet.shoal("run", "--all", "-o", "json", "--timeout", "1s", "--", "sleep", "30")
            let detail = try decodeJSON(JobDetail.self, overrun.stdout)
            #expect(detail.executions.first?.state == .timedOut && detail.executions.first?.exitCode == 137)
            #expect(overrun.exitCode == 1)
        }
    }
}
