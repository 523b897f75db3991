import BrokerLauncher
import Foundation
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Spawn
import Testing

/// A real fleet for one test: mosquitto on a free port, a `shoal dispatcher` process and
/// `shoal agent` processes, all stopped by pid and their files removed when the test ends.
final class Fleet: @unchecked Sendable {
    // Mutated only by the test body that owns the fixture, never concurrently.
    let broker: MosquittoBroker
    let home: String
    var dispatcher: ShoalProcess
    var agents: [String: ShoalProcess] = [:]
    var labels: [String: [String: String]] = [:]
    /// Further agent flags by node (e.g. `--log-file`), kept for restarts.
    var agentArguments: [String: [String]] = [:]

    init(broker: MosquittoBroker, home: String, dispatcher: ShoalProcess) {
        self.broker = broker
        self.home = home
        self.dispatcher = dispatcher
    }

    var address: BrokerAddress { broker.address }

    @discardableResult
    func startAgent(_ id: String, labels: [String: String], arguments: [String] = [], metricsInterval: String = "off") throws -> ShoalProcess {
        self.labels[id] = labels
        agentArguments[id] = arguments
        let agent = try ShoalProcess.agent(id, labels: labels, broker: address, home: home, metricsInterval: metricsInterval,
                                           arguments: arguments)
        agents[id] = agent
        return agent
    }

    func restartAgent(_ id: String) throws {
        agents[id] = try ShoalProcess.agent(id, labels: labels[id] ?? [:], broker: address, home: home,
                                            arguments: agentArguments[id] ?? [])
    }

    func restartDispatcher() throws {
        dispatcher = try ShoalProcess.dispatcher(broker: address, home: home)
    }

    func stopAll() async {
        for agent in agents.values { await agent.stop() }
        await dispatcher.stop()
    }

    /// Runs the CLI against this fleet.
    func shoal(_ arguments: String...) async throws -> CommandResult {
        try await shoal(arguments)
    }

    func shoal(_ arguments: [String]) async throws -> CommandResult {
        try await ShoalBinary.run(arguments, broker: address, home: home)
    }

    func client<Result: Sendable>(_ body: @Sendable (DispatcherClient) async throws -> Result) async throws -> Result {
        try await DispatcherClient.with(broker: address, logger: testLogger("client"), body)
    }

    /// Logs of every process, for a failing test's message.
    var logs: String {
        (["dispatcher": dispatcher] .merging(agents) { first, _ in first })
            .sorted { $0.key < $1.key }.map { "== \($0.key)\n\($0.value.log.suffix(3000))" }.joined(separator: "\n")
    }
}

/// Starts a fleet with the given agents, waits until the dispatcher lists them all
/// online (from its node events, not by polling), runs `body`, stops everything.
func withFleet(
    agents: [String: [String: String]], dispatcherArguments: [String] = [],
    brokerLines: @escaping (_ directory: String) async throws -> [String] = { _ in [] },
    _ body: (Fleet) async throws -> Void
) async throws {
    try await withMosquitto(configure: brokerLines) { broker in
        try await withContractRecording(broker: broker.address) {
            try await withTemporaryDirectory("shoal-fleet") { home in
                let fleet = Fleet(broker: broker, home: home,
                                  dispatcher: try ShoalProcess.dispatcher(broker: broker.address, home: home,
                                                                          arguments: dispatcherArguments))
                do {
                    try await fleet.waitForDispatcher()
                    for (id, labels) in agents.sorted(by: { $0.key < $1.key }) { try fleet.startAgent(id, labels: labels) }
                    try await fleet.waitOnline(Set(agents.keys))
                    try await body(fleet)
                } catch {
                    Issue.record("fleet logs:\n\(fleet.logs)")
                    await fleet.stopAll()
                    throw error
                }
                await fleet.stopAll()
            }
        }
    }
}

extension Fleet {
    /// The dispatcher subscribes a moment after it starts: ask until it answers (each
    /// attempt bounded by the request timeout, the whole by `withTimeout`).
    func waitForDispatcher() async throws {
        let address = self.address
        try await withTimeout(.seconds(30), "dispatcher start") {
            try await DispatcherClient.with(broker: address, requestTimeout: .milliseconds(500), logger: testLogger("client")) { client in
                while (try? await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self)) == nil {
                    try Task.checkCancellation()
                }
            }
        }
    }

    /// Waits for the dispatcher's node events until every id in `ids` is online.
    func waitOnline(_ ids: Set<String>) async throws {
        try await nodeState(ids, online: true)
    }

    func waitOffline(_ ids: Set<String>) async throws {
        try await nodeState(ids, online: false)
    }

    private func nodeState(_ ids: Set<String>, online: Bool) async throws {
        let address = self.address
        try await withTimeout(.seconds(30), "nodes \(ids.sorted()) online=\(online)") {
            try await DispatcherClient.with(broker: address, logger: testLogger("client")) { client in
                try await client.followNodes()
                let nodes = try await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self)
                var pending = ids.subtracting(nodes.filter { $0.online == online }.map(\.id))
                if !pending.isEmpty {
                    for await node in client.nodeEvents {
                        if node.online == online { pending.remove(node.id) }
                        if pending.isEmpty { break }
                    }
                }
                if !pending.isEmpty { throw TimeoutError(description: "still waiting for \(pending)") }
            }
        }
    }
}

/// Follows a job's events until `done` says so; returns the last view per node.
func awaitJob(
    _ client: DispatcherClient, job: String, until done: @Sendable ([String: ExecutionView]) -> Bool
) async throws -> [String: ExecutionView] {
    var latest: [String: ExecutionView] = [:]
    for await event in client.events where event.job == job {
        latest[event.node] = event
        if done(latest) { return latest }
    }
    throw TimeoutError(description: "event stream ended")
}

func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(text.utf8))
}

/// Whether `pid` is a live process (a zombie waiting for its reaper counts as dead).
func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

extension Fleet {
    /// Submits a job, waits until every node runs it, SIGKILLs the dispatcher, then waits
    /// (through a raw observer of the agents' own reports) until every node has published
    /// its terminal report while the dispatcher is down.
    func crashDispatcherWhileRunning(job: String, selector: String, task: JobTask, nodes: [String]) async throws {
        let observer = try MQTTClient(configuration: .init(port: address.port, clientID: "observer-\(job)"),
                                      logger: testLogger("observer"))
        try await observer.start()
        defer { observer.stop() }
        try await observer.subscribe(["shoal/v1/node/+/exec/\(job)/status"])
        try await client { client in
            try await client.follow(job: job)
            _ = try await client.request(.submitJob, SubmitJobRequest(
                id: job, selector: selector, task: task, timeout: 60, deadlineIn: 600), as: JobDetail.self)
            _ = try await withTimeout(.seconds(20), "all running") {
                try await awaitJob(client, job: job) { views in nodes.allSatisfy { views[$0]?.state == .running } }
            }
        }
        await dispatcher.crash()
        try await withTimeout(.seconds(30), "agents finishing while the dispatcher is down") {
            var finished: Set<String> = []
            for await message in observer.messages {
                let status = try Wire.decode(ExecutionStatusMessage.self, from: message.payload)
                if status.state.isTerminal { finished.insert(status.node) }
                if finished.count == nodes.count { return }
            }
        }
    }
}

extension Fleet {
    /// Runs the CLI against this fleet as a child whose output lines arrive as they are
    /// written, each with the time it arrived. Stopped by pid when `body` returns.
    func shoalStreaming<Result>(
        _ arguments: [String], _ body: (AsyncStream<(line: String, at: Double)>) async throws -> Result
    ) async throws -> Result {
        let (lines, sink) = AsyncStream.makeStream(of: (line: String, at: Double).self)
        let buffer = LineBuffer()
        let process = try ChildProcess.spawn(
            .init(arguments: [ShoalBinary.path] + arguments,
                  environment: ["SHOAL_BROKER": address.description, "SHOAL_HOME": home]),
            onOutput: { stream, bytes in
                guard stream == .stdout else { return }
                let at = Date().timeIntervalSince1970
                for line in buffer.append(bytes) { sink.yield((line, at)) }
            },
            onExit: { _ in sink.finish() })
        do {
            let result = try await body(lines)
            process.kill(SIGTERM)
            _ = await process.wait()
            return result
        } catch {
            process.kill(SIGKILL)
            _ = await process.wait()
            throw error
        }
    }
}

/// Splits bytes into lines as they arrive (called from one reaper thread).
private final class LineBuffer: @unchecked Sendable {
    // Only the child's reaper thread calls `append`.
    private var pending: [UInt8] = []

    func append(_ bytes: [UInt8]) -> [String] {
        pending += bytes
        var lines: [String] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(String(decoding: pending[..<newline], as: UTF8.self))
            pending.removeSubrange(...newline)
        }
        return lines
    }
}

/// Live processes whose environment holds `SHOAL_JOB_ID=job` (every process a job
/// started inherits it), read from the process table.
func processes(ofJob job: String) -> [Int32] {
    let marker = Array("SHOAL_JOB_ID=\(job)".utf8)
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
        guard let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
        return environment.split(separator: 0).contains { Array($0) == marker } && isAlive(pid)
    }
}
