import Foundation
import Glibc
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

@Suite struct CrashRecoveryTests {
    /// Acceptance: an agent killed with SIGKILL while running a job, then restarted, does
    /// not run that job again, and the execution reaches a terminal state.
    @Test func agentKilledMidJobDoesNotRunItAgain() async throws {
        try await withTemporaryDirectory("shoal-marks") { marks in
            try await withFleet(agents: ["victim": ["role": "x"]]) { fleet in
                try await fleet.client { client in
                    let job = "crash-\(UUID().uuidString.prefix(8))"
                    try await client.follow(job: job)
                    _ = try await client.request(.submitJob, SubmitJobRequest(
                        id: job, selector: "role=x", task: .shell("echo start >> \(marks)/runs; echo $$ > \(marks)/pid; sleep 300"),
                        timeout: 600, deadlineIn: 600), as: JobDetail.self)
                    _ = try await withTimeout(.seconds(20), "running") {
                        try await awaitJob(client, job: job) { $0["victim"]?.state == .running }
                    }
                    await fleet.agents["victim"]!.crash()
                    try fleet.restartAgent("victim")
                    let views = try await withTimeout(.seconds(30), "a terminal state") {
                        try await awaitJob(client, job: job) { $0["victim"]?.state.isTerminal == true }
                    }
                    #expect(views["victim"]?.state == .failed)
                    #expect(views["victim"]?.reason?.contains("not run again") == true)
                }
                let runs = try String(contentsOfFile: "\(marks)/runs", encoding: .utf8)
                #expect(runs == "start\n", "the job ran more than once")
                // The orphaned job process group was killed by the restarted agent.
                let pid = Int32(try String(contentsOfFile: "\(marks)/pid", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines))!
                // Killed at the agent's start; a loaded machine may take a moment to finish it.
                try await withTimeout(.seconds(5), "the orphaned job to die") {
                    while isAlive(pid) { try? await Task.sleep(for: .milliseconds(10)) }
                }
                #expect(!isAlive(pid))
            }
        }
    }

    /// Acceptance: the dispatcher killed with SIGKILL during a job and restarted records
    /// the results published while it was down; the job completes with every node's result.
    @Test func dispatcherKilledMidJobRecoversResults() async throws {
        let nodes = ["n1", "n2", "n3"]
        try await withFleet(agents: Dictionary(uniqueKeysWithValues: nodes.map { ($0, ["role": "w"]) })) { fleet in
            let job = "dkill-\(UUID().uuidString.prefix(8))"
            try await fleet.crashDispatcherWhileRunning(
                job: job, selector: "role=w", task: .shell("read line < /dev/null; sleep 1; echo done-$SHOAL_NODE_ID"),
                nodes: nodes)
            try await fleet.client { client in
                try await client.follow(job: job)
                try fleet.restartDispatcher()
                try await fleet.waitForDispatcher()
                let detail = try await client.request(.getJob, GetJobRequest(id: job), as: JobDetail.self)
                #expect(detail.executions.count == nodes.count)
                for execution in detail.executions {
                    #expect(execution.state == .succeeded, "\(execution.node): \(execution.state)")
                    #expect(execution.stdout == "done-\(execution.node)\n")
                }
                #expect(detail.job.isFinished)
            }
        }
    }
}
