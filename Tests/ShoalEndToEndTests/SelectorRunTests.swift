import Foundation
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance: a job with a selector runs on exactly the matching nodes (shown by a side
/// effect on each node) and `shoal jobs show` lists every expected node.
@Suite(.serialized) struct SelectorRunTests {
    static let fleet: [String: [String: String]] = [
        "eu-web-1": ["region": "eu", "role": "web", "arch": "amd64"],
        "eu-web-2": ["region": "eu", "role": "web", "arch": "arm64"],
        "eu-db-1": ["region": "eu", "role": "db", "arch": "amd64"],
        "us-web-1": ["region": "us", "role": "web", "arch": "arm64"],
        "us-db-1": ["region": "us", "role": "db", "arch": "amd64"],
        "us-edge-1": ["region": "us", "role": "edge", "arch": "arm64", "gpus": "2"],
    ]

    @Test func selectorPicksExactlyTheMatchingNodes() async throws {
        try await withTemporaryDirectory("shoal-marks") { marks in
            try await withFleet(agents: Self.fleet) { fleet in
                let cases: [(String, Set<String>)] = [
                    ("region=eu,role=web", ["eu-web-1", "eu-web-2"]),
                    ("arch in (arm64),gpus>=1 || role=db,region=eu", ["us-edge-1", "eu-db-1"]),
                    ("name=us-*,role!=edge", ["us-web-1", "us-db-1"]),
                ]
                for (index, (selector, expected)) in cases.enumerated() {
                    let directory = "\(marks)/case-\(index)"
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                    let result = try await fleet.shoal(
                        "run", "-s", selector, "-o", "json", "--shell",
                        "echo ran > \(directory)/$SHOAL_NODE_ID; echo hello from $SHOAL_NODE_ID")
                    #expect(result.exitCode == 0, "shoal run failed: \(result.stderr)")
                    // The side effect on each node, not the dispatcher's record, says where it ran.
                    let ran = Set(try FileManager.default.contentsOfDirectory(atPath: directory))
                    #expect(ran == expected, "selector \(selector)")

                    let submitted = try decodeJSON(JobDetail.self, result.stdout)
                    let shown = try await fleet.shoal("jobs", "show", submitted.job.id, "-o", "json")
                    #expect(shown.exitCode == 0)
                    let detail = try decodeJSON(JobDetail.self, shown.stdout)
                    #expect(Set(detail.executions.map(\.node)) == expected)
                    for execution in detail.executions {
                        #expect(execution.state == .succeeded)
                        #expect(execution.exitCode == 0)
                        #expect(execution.stdout == "hello from \(execution.node)\n")
                    }
                    let table = try await fleet.shoal("jobs", "show", submitted.job.id)
                    for node in expected { #expect(table.stdout.contains(node)) }
                }
            }
        }
    }

    @Test func failuresAndTimeoutsAreReportedPerNode() async throws {
        try await withFleet(agents: ["a": ["role": "x"], "b": ["role": "y"]]) { fleet in
            let failing = try await fleet.shoal("run", "--all", "-o", "json", "--timeout", "1s", "--shell",
                                                "if [ $SHOAL_NODE_ID = a ]; then exit 3; else sleep 30; fi")
            #expect(failing.exitCode == 1)
            let detail = try decodeJSON(JobDetail.self, failing.stdout)
            let byNode = Dictionary(uniqueKeysWithValues: detail.executions.map { ($0.node, $0) })
            #expect(byNode["a"]?.state == .failed)
            #expect(byNode["a"]?.exitCode == 3)
            #expect(byNode["b"]?.state == .timedOut)

            let none = try await fleet.shoal("run", "-s", "role=nothing", "--", "true")
            #expect(none.exitCode == 2)
            #expect(none.stderr.contains("no node matches"))

            let bad = try await fleet.shoal("run", "-s", "role=", "--", "true")
            #expect(bad.exitCode == 64)
            #expect(bad.stderr.contains("position 5"))

            let empty = try await fleet.shoal("run", "--", "true")
            #expect(empty.exitCode == 64)
            #expect(empty.stderr.contains("--all"))

            // The API refuses an empty selector too, whoever the client is.
            try await fleet.client { client in
                await #expect(throws: DispatcherClient.Failure.self) {
                    try await client.request(.submitJob, SubmitJobRequest(selector: " ", task: .exec(["true"])), as: JobDetail.self)
                }
                let everyone = try await client.request(
                    .submitJob, SubmitJobRequest(selector: "", all: true, task: .exec(["true"])), as: JobDetail.self)
                #expect(everyone.executions.count == 2)
                // A summary reply counts every expected node but lists only offline ones.
                let summary = try await client.request(
                    .submitJob, SubmitJobRequest(selector: "", all: true, task: .exec(["true"]), summary: true),
                    as: JobDetail.self)
                #expect(summary.job.expected == 2)
                #expect(summary.executions.isEmpty)
            }
        }
    }
}
