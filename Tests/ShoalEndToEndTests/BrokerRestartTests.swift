import Foundation
import Glibc
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Results survive a broker restart: agents finish while the broker is down, then
/// everything reconnects and the job completes with every node's result.
@Suite struct BrokerRestartTests {
    @Test func jobCompletesAcrossABrokerRestart() async throws {
        let nodes = ["r1", "r2"]
        try await withTemporaryDirectory("shoal-fifo") { fifos in
            for node in nodes { mkfifo("\(fifos)/go-\(node)", 0o666) }
            try await withFleet(agents: Dictionary(uniqueKeysWithValues: nodes.map { ($0, ["role": "r"]) })) { fleet in
                let job = "brestart-\(UUID().uuidString.prefix(8))"
                try await fleet.client { client in
                    try await client.follow(job: job)
                    _ = try await client.request(.submitJob, SubmitJobRequest(
                        id: job, selector: "role=r", task: .shell("cat \(fifos)/go-$SHOAL_NODE_ID > /dev/null; echo after-$SHOAL_NODE_ID"), timeout: 60, deadlineIn: 600),
                        as: JobDetail.self)
                    _ = try await withTimeout(.seconds(20), "all running") {
                        try await awaitJob(client, job: job) { views in nodes.allSatisfy { views[$0]?.state == .running } }
                    }
                }
                await fleet.broker.stop()
                // Release the jobs while there is no broker: they finish and their reports wait
                // in the agents' outboxes (a broker restart takes far longer than the agent's
                // few milliseconds from exit to publish).
                for node in nodes {
                    let fd = open("\(fifos)/go-\(node)", O_WRONLY)
                    _ = write(fd, "go\n", 3)
                    close(fd)
                }
                let restarted = try await restart(fleet.broker)
                do {
                    let detail = try await withTimeout(.seconds(60), "the job to complete after the restart") {
                        try await fleet.client { client in
                            try await client.follow(job: job)
                            var detail = try await client.request(.getJob, GetJobRequest(id: job), as: JobDetail.self)
                            if !detail.job.isFinished {
                                _ = try await awaitJob(client, job: job) { views in nodes.allSatisfy { views[$0]?.state.isTerminal == true } }
                                detail = try await client.request(.getJob, GetJobRequest(id: job), as: JobDetail.self)
                            }
                            return detail
                        }
                    }
                    for execution in detail.executions {
                        #expect(execution.state == .succeeded, "\(execution.node): \(execution.state) \(execution.reason ?? "")")
                        #expect(execution.stdout == "after-\(execution.node)\n")
                    }
                } catch {
                    await restarted.stop()
                    throw error
                }
                await fleet.stopAll()
                await restarted.stop()
            }
        }
    }
}
