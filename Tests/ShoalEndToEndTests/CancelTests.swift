import Foundation
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance (issue 11, 4): `shoal jobs cancel` during `sh -c 'sleep 300 & sleep 300'` on
/// 5 nodes leaves no process of the job alive on any node (the process table says so, not
/// the dispatcher), and every execution ends `canceled`; a node that was offline when the
/// cancel was issued never starts the job when it returns.
@Suite struct CancelTests {
    static let nodes = ["c1", "c2", "c3", "c4", "c5"]

    @Test func cancelKillsEveryProcessOfTheJobOnEveryNode() async throws {
        let agents = Dictionary(uniqueKeysWithValues: Self.nodes.map { ($0, ["role": "cancel"]) })
        try await withFleet(agents: agents) { fleet in
            let job = "cancel-tree"
            try await fleet.client { client in
                try await client.follow(job: job)
                _ = try await client.request(.submitJob, SubmitJobRequest(
                    id: job, selector: "role=cancel", task: .shell("sleep 300 & sleep 300"), timeout: 600), as: JobDetail.self)
                _ = try await withTimeout(.seconds(30), "every node running the job") {
                    try await awaitJob(client, job: job) { views in Self.nodes.allSatisfy { views[$0]?.state == .running } }
                }
            }
            // Two sleeps (and maybe their shell) per node, all carrying the job's id.
            let before = try await withTimeout(.seconds(10), "both sleeps started on every node") { () -> [Int32] in
                while true {
                    let found = processes(ofJob: job)
                    if found.count >= 2 * Self.nodes.count { return found }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            #expect(before.count >= 10)

            let cancel = try await fleet.shoal("jobs", "cancel", job, "-o", "json")
            #expect(cancel.exitCode == 0, "\(cancel.stderr)")
            let result = try decodeJSON(CancelJobResult.self, cancel.stdout)
            #expect(result == CancelJobResult(job: job, alreadyFinished: false, stopping: 5, canceled: 0, unchanged: 0))

            let detail = try await withTimeout(.seconds(30), "every execution canceled") { () -> JobDetail in
                try await fleet.client { client in
                    while true {
                        let detail = try await client.request(.getJob, GetJobRequest(id: job, withOutput: false), as: JobDetail.self)
                        if detail.job.isFinished { return detail }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
            }
            #expect(detail.executions.map(\.state) == Array(repeating: .canceled, count: 5), "\(detail.executions)")
            // The nodes report after their cgroup was killed: nothing of the job is left.
            #expect(processes(ofJob: job).isEmpty, "left alive: \(processes(ofJob: job))")
            #expect(before.allSatisfy { !isAlive($0) })

            // Canceling again changes nothing, and says so.
            let again = try await fleet.shoal("jobs", "cancel", job)
            #expect(again.exitCode == 0 && again.stdout.contains("had already finished"), "\(again.stdout)\(again.stderr)")
        }
    }

    @Test func aNodeOfflineWhenCanceledNeverStartsTheJob() async throws {
        try await withFleet(agents: ["away": ["role": "away"], "here": ["role": "away"]]) { fleet in
            await fleet.agents["away"]!.stop()
            try await fleet.waitOffline(["away"])
            let job = "cancel-offline"
            let marker = fleet.home + "/ran-\(job)"
            let submitted = try await fleet.shoal(
                "run", "-s", "role=away", "--id", job, "--detach", "--shell", "touch \(marker).$SHOAL_NODE_ID; sleep 300")
            #expect(submitted.exitCode == 0, "\(submitted.stderr)")
            try await fleet.client { client in
                try await client.follow(job: job)
                let detail = try await client.request(.getJob, GetJobRequest(id: job, withOutput: false), as: JobDetail.self)
                if detail.executions.first(where: { $0.node == "here" })?.state != .running {
                    _ = try await withTimeout(.seconds(30), "the online node running the job") {
                        try await awaitJob(client, job: job) { $0["here"]?.state == .running }
                    }
                }
            }
            let cancel = try await fleet.shoal("jobs", "cancel", job, "-o", "json")
            let result = try decodeJSON(CancelJobResult.self, cancel.stdout)
            #expect(result.canceled == 1 && result.stopping == 1, "\(cancel.stdout)\(cancel.stderr)")
            // The dispatcher restarts in between: the cancel is stored, not only in memory.
            await fleet.dispatcher.stop()
            try fleet.restartDispatcher()
            try await fleet.waitForDispatcher()
            // The node returns: its session delivers the job, then the cancel.
            try fleet.restartAgent("away")
            try await fleet.waitOnline(["away"])
            let detail = try await withTimeout(.seconds(30), "the job finished") { () -> JobDetail in
                try await fleet.client { client in
                    while true {
                        let detail = try await client.request(.getJob, GetJobRequest(id: job, withOutput: false), as: JobDetail.self)
                        if detail.job.isFinished { return detail }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
            }
            #expect(detail.executions.map(\.state) == [.canceled, .canceled])
            // The returning node's own ledger records it canceled before it started: it never ran.
            let ledger = try decodeJSON(LedgerLine.self, try String(
                contentsOfFile: fleet.home + "/agents/away/ledger/\(job).json", encoding: .utf8))
            #expect(ledger.state == .canceled && ledger.startedAt == nil)
            #expect(!FileManager.default.fileExists(atPath: "\(marker).away"))
            #expect(FileManager.default.fileExists(atPath: "\(marker).here"))
            #expect(processes(ofJob: job).isEmpty)
        }
    }

    private struct LedgerLine: Decodable {
        var state: ExecutionState
        var startedAt: Double?
    }
}
