import BrokerLauncher
import Foundation
import Glibc
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance (issue 9, lossless reports): reports the broker had accepted, then lost with
/// it, are recovered from the agents' ledgers; the job ends with every node's true state
/// and nothing runs twice.
@Suite struct LosslessReportTests {
    @Test func dispatcherThenBrokerKilledLosesNoResult() async throws {
        let nodes = ["l1", "l2", "l3"]
        try await withTemporaryDirectory("shoal-effects") { effects in
            try await withFleet(agents: Dictionary(uniqueKeysWithValues: nodes.map { ($0, ["role": "l"]) })) { fleet in
                let job = "lossless-\(UUID().uuidString.prefix(8))"
                // The broker gets every terminal report (queued for the dispatcher's session)...
                try await fleet.crashDispatcherWhileRunning(
                    job: job, selector: "role=l", task: .shell("echo ran >> \(effects)/$SHOAL_NODE_ID; sleep 1"), nodes: nodes)
                // ...and loses them: killed before it saved anything.
                fleet.broker.process.kill(SIGKILL)
                _ = await fleet.broker.process.wait()
                let restarted = try await MosquittoBroker.start(fleet.broker.configuration, logger: testLogger("broker"))
                do {
                    // Whether the agents are back before the dispatcher or after, it asks them:
                    // at its start (`resendUnfinished`) and at each birth.
                    try fleet.restartDispatcher()
                    try await fleet.waitForDispatcher()
                    try await fleet.client { client in
                        // Following first, then reading: a result recovered in between is in one or the other.
                        try await client.follow(job: job)
                        let current = try await client.request(.getJob, GetJobRequest(id: job, withOutput: false), as: JobDetail.self)
                        var views = Dictionary(uniqueKeysWithValues: current.executions.map { ($0.node, $0) })
                        if !nodes.allSatisfy({ views[$0]?.state.isTerminal == true }) {
                            let seen = views
                            let later = try await withTimeout(.seconds(30), "every result recovered") {
                                try await awaitJob(client, job: job) { latest in
                                    nodes.allSatisfy { (latest[$0] ?? seen[$0])?.state.isTerminal == true }
                                }
                            }
                            views.merge(later) { _, new in new }
                        }
                        for node in nodes { #expect(views[node]?.state == .succeeded, "\(node): \(String(describing: views[node]))") }
                    }
                    for node in nodes {
                        let runs = try String(contentsOfFile: "\(effects)/\(node)", encoding: .utf8)
                        #expect(runs == "ran\n", "\(node) ran the job \(runs.split(separator: "\n").count) times")
                    }
                } catch {
                    await fleet.stopAll()
                    await restarted.stop()
                    throw error
                }
                await fleet.stopAll()
                await restarted.stop()
            }
        }
    }
}
