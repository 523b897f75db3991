import Foundation
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalSimulator
import ShoalTestSupport
import Testing

/// Acceptance (issue 3, item 6): the dispatcher treats simulated agents and real agents the
/// same. 200 agents of `shoal simulate` and 2 real `shoal agent` processes get the same jobs;
/// every node's record from `jobs.get` must have the same state, exit code, reason, output
/// and set of fields, whichever kind of node it is.
///
/// The simulator runs as its own process (`shoal simulate`, one worker): its 600 open files
/// stay out of the test process, whose libmosquitto clients use `select()` and fail above
/// descriptor 1024.
@Suite(.serialized) struct SimulatorParityTests {
    static let simulated = 200
    static let real: [String: [String: String]] = [
        "real-1": ["region": "eu", "role": "web", "arch": "amd64"],
        "real-2": ["region": "us", "role": "db", "arch": "arm64"],
    ]

    struct Case: Sendable, CustomStringConvertible {
        var task: JobTask
        var state: ExecutionState
        var exitCode: Int32
        var reason: String?
        var stdout: String
        var description: String { task.description }
    }

    static let cases: [Case] = [
        // Quick: one terminal report carrying the output.
        Case(task: .exec(["echo", "hi"]), state: .succeeded, exitCode: 0, reason: nil, stdout: "hi\n"),
        Case(task: .shell("exit 3"), state: .failed, exitCode: 3, reason: "exit status 3", stdout: ""),
        // Longer than the quick window: `running` first, then the terminal report.
        Case(task: .exec(["sleep", "0.2"]), state: .succeeded, exitCode: 0, reason: nil, stdout: ""),
    ]

    @Test("simulated and real agents get the same per-node records for the same jobs")
    func sameJobsSameRecords() async throws {
        try await withFleet(agents: Self.real) { fleet in
            fleet.agents["simulate"] = try ShoalProcess.start(
                "simulate", ["simulate", "--agents", String(Self.simulated), "--heartbeat", "1s", "--log-level", "warning"],
                broker: fleet.address, home: fleet.home)
            let simulatedIDs = Set((1...Self.simulated).map { String(format: "sim-%05d", $0) })
            try await fleet.waitOnline(simulatedIDs)

            let nodes = try await fleet.client { client in
                try await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self)
            }
            let online = Set(nodes.filter(\.online).map(\.id))
            #expect(online == simulatedIDs.union(Self.real.keys), "the dispatcher lists all 202 nodes online")
            #expect(nodes.filter { $0.labels["simulated"] == "true" }.count == Self.simulated)

            for parity in Self.cases {
                let detail = try await run(parity.task, on: fleet, expecting: Self.simulated + Self.real.count)
                let records = Dictionary(uniqueKeysWithValues: detail.executions.map { ($0.node, $0) })
                #expect(Set(records.keys) == online, "\(parity): one record per node")
                var shapes: [String: Set<String>] = [:]
                for (node, record) in records {
                    let kind = simulatedIDs.contains(node) ? "simulated" : "real"
                    #expect(record.state == parity.state, "\(parity) on \(kind) \(node)")
                    #expect(record.exitCode == parity.exitCode, "\(parity) on \(kind) \(node)")
                    #expect(record.reason == parity.reason, "\(parity) on \(kind) \(node)")
                    #expect((record.stdout ?? "") == parity.stdout, "\(parity) on \(kind) \(node)")
                    #expect((record.stderr ?? "").isEmpty, "\(parity) on \(kind) \(node)")
                    #expect(record.nodeOnline == true, "\(parity) on \(kind) \(node)")
                    if let startedAt = record.startedAt, let finishedAt = record.finishedAt {
                        #expect(finishedAt >= startedAt, "\(parity) on \(kind) \(node)")
                    } else {
                        Issue.record("\(parity) on \(kind) \(node): startedAt or finishedAt missing")
                    }
                    shapes[kind, default: []].formUnion([try fields(of: record).sorted().joined(separator: ",")])
                }
                #expect(shapes["simulated"]?.count == 1, "\(parity): every simulated record has the same fields")
                #expect(shapes["simulated"] == shapes["real"], "\(parity): simulated and real records have the same fields")
            }
        }
    }

    /// Submits `task` to every node and returns `jobs.get` once all expected nodes are done.
    private func run(_ task: JobTask, on fleet: Fleet, expecting expected: Int) async throws -> JobDetail {
        let id = "parity-\(UUID().uuidString.prefix(8).lowercased())"
        let address = fleet.address
        return try await withTimeout(.seconds(20), "job \(task) on \(expected) nodes") {
            try await DispatcherClient.with(broker: address, logger: testLogger("client")) { client in
                try await client.follow(job: id)
                let submitted = try await client.request(
                    .submitJob, SubmitJobRequest(id: id, selector: "", all: true, task: task, timeout: 30), as: JobDetail.self)
                #expect(submitted.job.expected == expected)
                _ = try await awaitJob(client, job: id) { latest in
                    latest.values.filter(\.state.isTerminal).count == expected
                }
                return try await client.request(.getJob, GetJobRequest(id: id), as: JobDetail.self)
            }
        }
    }

    /// The JSON fields a record carries (absent optionals are left out of the encoding).
    private func fields(of record: ExecutionView) throws -> Set<String> {
        let object = try JSONSerialization.jsonObject(with: Data(Wire.encode(record)))
        guard let dictionary = object as? [String: Any] else { return [] }
        return Set(dictionary.keys)
    }
}

/// The simulator's pure parts. (Here because ShoalEndToEndTests is the test target that
/// links ShoalSimulator; they move to a ShoalSimulatorTests target if one is added.)
@Suite("Simulator labels, tasks and ids") struct SimulatorBuildingBlockTests {
    @Test func theDefaultSpecSpreadsEveryKeyEvenlyAndTheSameWayEachTime() {
        let spec = LabelSpec.default
        let fleet = (1...10_000).map { spec.labels(forNode: $0) }
        for (key, values) in [("region", ["eu", "us", "ap"]), ("role", ["web", "db", "edge", "cache"]), ("arch", ["amd64", "arm64"])] {
            for value in values {
                let share = Double(fleet.filter { $0[key] == value }.count) / 10_000
                #expect(abs(share - 1 / Double(values.count)) < 0.03, "\(key)=\(value): \(share)")
            }
        }
        #expect((1...100).map { spec.labels(forNode: $0) } == Array(fleet.prefix(100)))
        let cells = Set(fleet.map { "\($0["region"]!)/\($0["arch"]!)/\($0["role"]!)" })
        #expect(cells.count == 24, "keys are independent: every combination occurs")
    }

    @Test func weightsAndFixedValues() throws {
        let spec = try LabelSpec(parsing: " region = eu:80% , us:20% ; tier=gold:1,silver:3 ; env=prod ;")
        let fleet = (1...10_000).map { spec.labels(forNode: $0) }
        #expect(abs(Double(fleet.filter { $0["region"] == "eu" }.count) / 10_000 - 0.8) < 0.03)
        #expect(abs(Double(fleet.filter { $0["tier"] == "silver" }.count) / 10_000 - 0.75) < 0.03)
        #expect(fleet.allSatisfy { $0["env"] == "prod" && $0.count == 3 })
        #expect(try LabelSpec(parsing: spec.description) == spec)
        #expect(try LabelSpec(parsing: "").rules.isEmpty)
    }

    @Test(arguments: [
        ("region", "has no '='"),
        ("=eu", "is not a label key"),
        ("region=", "give at least one value"),
        ("region=eu:50%,us:40%", "add up to 90%"),
        ("region=eu:1,us", "give a weight to every value"),
        ("region=eu:50%,us:1", "as a percentage"),
        ("region=eu:0,us:1", "not a positive weight"),
        ("region=e u", "is not a value"),
        ("region=eu;region=us", "given twice"),
    ])
    func badSpecsSayWhatIsWrongAndWhatToWrite(spec: String, problem: String) {
        let error = #expect(throws: LabelSpecError.self) { try LabelSpec(parsing: spec) }
        #expect(error?.description.contains(problem) == true, "\(spec): \(error?.description ?? "")")
        #expect(error?.description.contains("write e.g. --labels-from") == true)
    }

    @Test(arguments: [
        (JobTask.exec(["echo", "hi", "there"]), SyntheticTask(stdout: "hi there\n")),
        (.exec(["/bin/echo", "-n", "x"]), SyntheticTask(stdout: "x")),
        (.shell("echo 'a  b' \"c\""), SyntheticTask(stdout: "a  b c\n")),
        (.exec(["sleep", "2"]), SyntheticTask(duration: 2)),
        (.shell("sleep 500ms"), SyntheticTask(duration: 0.5)),
        (.exec(["sleep", "soon"]), SyntheticTask(exitCode: 1, stderr: "sleep: invalid time interval\n")),
        (.exec(["true"]), SyntheticTask()),
        (.exec(["false"]), SyntheticTask(exitCode: 1)),
        (.shell("exit 3"), SyntheticTask(exitCode: 3)),
        (.shell("exit 300"), SyntheticTask(exitCode: 44)),
        (.exec(["sh", "-c", "exit 7"]), SyntheticTask(exitCode: 7)),
        (.exec(["uptime"]), SyntheticTask(duration: 0.25)),
        (.shell("echo a; exit 1"), SyntheticTask(duration: 0.25)),
        (.shell("echo $HOME"), SyntheticTask(duration: 0.25)),
    ])
    func syntheticTasks(task: JobTask, expected: SyntheticTask) {
        #expect(SyntheticTask.interpret(task, taskTime: 0.25) == expected)
    }

    @Test func workersReportProgressInOneLineEach() {
        let progress = FleetProgress(connected: 4999, total: 5000)
        #expect(progress.reportLine == "shoal-simulate connected=4999 total=5000\n")
        #expect(FleetProgress(reportLine: String(progress.reportLine.dropLast())) == progress)
        #expect(FleetProgress(reportLine: "2026-11-25 warning something") == nil)
        #expect(FleetProgress(reportLine: "shoal-simulate connected=x total=1") == nil)
    }

    @Test func nodeIDsArePaddedToTheFleetWidth() {
        let small = SimulatorConfiguration(broker: BrokerAddress(host: "h", port: 1), first: 199, count: 2, version: "t")
        #expect(small.nodeIDs == ["sim-00199", "sim-00200"])
        let large = SimulatorConfiguration(broker: BrokerAddress(host: "h", port: 1), idPrefix: "x", first: 5, count: 1,
                                           fleetSize: 123_456, version: "t")
        #expect(large.nodeIDs == ["x-000005"])
    }
}
