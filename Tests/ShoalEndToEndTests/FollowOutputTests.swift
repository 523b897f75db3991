import Foundation
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance (issue 11, 5): `shoal run -f` shows the lines of a job printing one line a
/// second on 3 nodes within 1 s of each line being printed, prefixed by its node; the test
/// reads them as they come. `shoal jobs logs -f` follows a job already running.
@Suite struct FollowOutputTests {
    static let nodes = ["f1", "f2", "f3"]
    /// Each line carries the time it was printed (the node's clock is this machine's).
    static let script = "for i in 1 2 3 4 5; do echo \"tick $i $(date +%s.%N)\"; sleep 1; done"

    @Test func runFollowShowsEveryLineOfEveryNodeWithinASecond() async throws {
        let agents = Dictionary(uniqueKeysWithValues: Self.nodes.map { ($0, ["role": "follow"]) })
        try await withFleet(agents: agents) { fleet in
            let seen = try await fleet.shoalStreaming(["run", "-f", "-s", "role=follow", "--shell", Self.script]) { lines in
                try await withTimeout(.seconds(40), "every node's five lines") {
                    var seen: [String: [(tick: Int, delay: Double)]] = [:]
                    for await (line, arrived) in lines {
                        // `f2 | tick 3 1795620900.123456789`
                        let parts = line.split(separator: " ")
                        guard parts.count == 5, parts[1] == "|", parts[2] == "tick",
                              let tick = Int(parts[3]), let printed = Double(parts[4]) else { continue }
                        seen[String(parts[0]), default: []].append((tick, arrived - printed))
                        if seen.count == 3 && seen.values.allSatisfy({ $0.count == 5 }) { return seen }
                    }
                    return seen
                }
            }
            #expect(Set(seen.keys) == Set(Self.nodes))
            for (node, ticks) in seen {
                #expect(ticks.map(\.tick) == [1, 2, 3, 4, 5], "\(node): \(ticks)")
                for (tick, delay) in ticks {
                    #expect(delay >= 0 && delay < 1, "\(node) tick \(tick) arrived \(delay) s after it was printed")
                }
            }
        }
    }

    @Test func jobsLogsFollowsAJobAlreadyRunningWithoutRepeatingALine() async throws {
        try await withFleet(agents: ["l1": ["role": "logs"], "l2": ["role": "logs"]]) { fleet in
            let job = "logs-follow"
            try await fleet.client { client in
                try await client.follow(job: job)
                _ = try await client.request(.submitJob, SubmitJobRequest(
                    id: job, selector: "role=logs", task: .shell(Self.script)), as: JobDetail.self)
                // Some output is stored before the follower starts.
                _ = try await withTimeout(.seconds(20), "the first lines") { () -> Bool in
                    for await event in client.jobEvents where event.job == job && !(event.output ?? []).isEmpty { return true }
                    return false
                }
            }
            let lines = try await fleet.shoalStreaming(["jobs", "logs", "-f", job]) { lines in
                try await withTimeout(.seconds(30), "the follower to end with the job") {
                    var all: [String] = []
                    for await (line, _) in lines { all.append(line) }
                    return all
                }
            }
            for node in ["l1", "l2"] {
                let ticks = lines.filter { $0.hasPrefix("\(node) | tick ") }.map { $0.split(separator: " ")[3] }
                #expect(ticks == ["1", "2", "3", "4", "5"], "\(node): \(lines)")
            }
        }
    }
}
