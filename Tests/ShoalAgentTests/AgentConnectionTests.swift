import BrokerLauncher
import Foundation
import Glibc
import Logging
import Mosquitto
import ServiceLifecycle
import ShoalCore
import ShoalTestSupport
import Synchronization
import Testing

@testable import ShoalAgent

/// The agent's connection against a real mosquitto: births, a twin with the same node id,
/// jobs that arrive while it stops, a broker that refuses it.
@Suite("Agent connection") struct AgentConnectionTests {
    @Test func exactlyOneBirthPerConnection() async throws {
        try await withMosquitto { broker in
            try await withTemporaryDirectory { directory in
                let node = "solo"
                let watcher = try await watching(broker, [TopicTree().birth(node), TopicTree().heartbeat(node)])
                defer { watcher.stop() }
                let agent = Agent(configuration: settings(broker, node, directory, heartbeat: 0.2), logger: testLogger("agent"))
                try await running(agent) { _ in
                    // Everything up to the first heartbeat: births of the first connection.
                    let births = try await withTimeout(.seconds(30), "the first heartbeat") {
                        var births = 0
                        for await message in watcher.messages {
                            if message.topic.hasSuffix("/hb") { break }
                            births += 1
                        }
                        return births
                    }
                    #expect(births == 1)
                }
            }
        }
    }

    @Test func ofTwoAgentsWithOneNodeIDOneStopsWithAClearError() async throws {
        try await withMosquitto { broker in
            try await withTemporaryDirectory { directory in
                let node = "twin"
                let watcher = try await watching(broker, [TopicTree().birth(node)])
                defer { watcher.stop() }
                let first = Agent(configuration: settings(broker, node, directory + "/a"), logger: testLogger("a"))
                let second = Agent(configuration: settings(broker, node, directory + "/b"), logger: testLogger("b"))
                let firstGroup = serviceGroup(first)
                let secondGroup = serviceGroup(second)
                try await withThrowingTaskGroup(of: (String, (any Error)?).self) { group in
                    group.addTask { ("first", await Result(catching: { try await firstGroup.run() }).error) }
                    _ = try await withTimeout(.seconds(30), "the first birth") {
                        for await _ in watcher.messages { break }
                    }
                    group.addTask { ("second", await Result(catching: { try await secondGroup.run() }).error) }
                    // Either may lose the fight; the loser stops on its own, with the reason.
                    group.addTask {
                        // An upper bound only.
                        try await Task.sleep(for: .seconds(90))
                        throw TimeoutError(description: "neither agent stopped")
                    }
                    defer { group.cancelAll() }
                    let (loser, error) = try await group.next()!
                    let message = try #require(error.map { "\($0)" }, "\(loser) stopped without an error")
                    #expect(message.contains("another agent with node id twin connected to the broker; stopping"))
                    // The other one keeps running until told to stop, and then stops cleanly.
                    await (loser == "first" ? secondGroup : firstGroup).triggerGracefulShutdown()
                    let (_, survivorError) = try await group.next()!
                    #expect(survivorError == nil)
                }
            }
        }
    }

    @Test func aJobDeliveredWhileStoppingRunsAtTheNextStart() async throws {
        try await withMosquitto { broker in
            try await withTemporaryDirectory { directory in
                let node = "stopper"
                let topics = TopicTree()
                let watcher = try await watching(broker, [topics.execStatus(node: node, job: "+"), topics.birth(node)])
                defer { watcher.stop() }
                let release = directory + "/release"
                let slow = try job("slow", node, .shell("while [ ! -e \(release) ]; do sleep 0.05; done"))
                let late = try job("late", node, .shell("echo late"))
                let stopping = Signal(), kept = Signal()
                let logger = Logger(label: "agent") { _ in
                    SignallingHandler(signals: ["Stopping:": stopping, "kept for the next start": kept])
                }
                let data = directory + "/data"
                let agent = Agent(configuration: settings(broker, node, data), logger: logger)
                let group = serviceGroup(agent)
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await group.run() }
                    // Subscribed once it announces itself (its first session is made then).
                    _ = try await withTimeout(.seconds(30), "the birth") { for await _ in watcher.messages { break } }
                    try watcher.publish(topics.nodeJob(node), Wire.encode(slow))
                    #expect(try await nextStatus(watcher).state == .running)
                    await group.triggerGracefulShutdown()
                    try await withTimeout(.seconds(30), "the agent to stop taking jobs") { await stopping.wait() }
                    try await watcher.publishConfirmed(MQTTMessage(topic: topics.nodeJob(node), payload: Wire.encode(late)))
                    try await withTimeout(.seconds(30), "the late job to be kept") { await kept.wait() }
                    // Let the running job end: then the agent stops.
                    _ = FileManager.default.createFile(atPath: release, contents: nil)
                    tasks.addTask {
                        // An upper bound only.
                        try await Task.sleep(for: .seconds(30))
                        throw TimeoutError(description: "the agent did not stop")
                    }
                    try await tasks.next()
                    tasks.cancelAll()
                }
                let slowReport = try await nextStatus(watcher)
                #expect(slowReport.job == "slow" && slowReport.state == .succeeded)
                // Not claimed, so not claimed-but-never-run.
                #expect(try ExecutionLedger(directory: data + "/ledger").entry("late") == nil)

                let restarted = Agent(configuration: settings(broker, node, data), logger: testLogger("agent"))
                try await running(restarted) { _ in
                    // A redelivered `slow` is answered with its recorded outcome: skip that.
                    var report = try await nextStatus(watcher)
                    // (and `late` may report `running` first on a loaded machine).
                    while report.job != "late" || !report.state.isTerminal { report = try await nextStatus(watcher) }
                    #expect(report.state == .succeeded)
                }
                #expect(try ExecutionLedger(directory: data + "/ledger").entry("late")?.state == .succeeded)
            }
        }
    }
}

// MARK: Helpers

func settings(_ broker: MosquittoBroker, _ node: String, _ data: String, heartbeat: Double = 5) -> AgentConfiguration {
    AgentConfiguration(broker: broker.address, nodeID: node, dataDirectory: data, heartbeatInterval: heartbeat)
}

func serviceGroup(_ agent: Agent) -> ServiceGroup {
    ServiceGroup(configuration: .init(services: [agent], logger: testLogger("group")))
}

/// Runs `agent` in a service group during `body`, then shuts it down gracefully and waits.
func running(_ agent: Agent, _ body: (ServiceGroup) async throws -> Void) async throws {
    let group = serviceGroup(agent)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            try await body(group)
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

/// A started client subscribed to `filters`; the caller stops it.
func watching(_ broker: MosquittoBroker, _ filters: [String]) async throws -> MQTTClient {
    let client = try MQTTClient(
        configuration: MQTTConfiguration(host: broker.address.host, port: broker.address.port,
                                         clientID: "watcher-\(UUID().uuidString.prefix(8))"),
        logger: testLogger("watcher"))
    try await withTimeout(.seconds(30), "the watcher to connect") {
        try await client.start()
        try await client.subscribe(filters)
    }
    return client
}

func job(_ id: String, _ node: String, _ task: JobTask) throws -> JobMessage {
    let now = Date().timeIntervalSince1970
    return JobMessage(id: id, selector: try ShoalCore.Selector(parsing: "name=\(node)"), task: task, timeout: 60,
                      deadline: now + 600, nodes: [node], createdAt: now)
}

/// The next terminal or running status report the watcher receives.
func nextStatus(_ watcher: MQTTClient) async throws -> ExecutionStatusMessage {
    try await withTimeout(.seconds(20), "a status report") {
        for await message in watcher.messages {
            if let status = try? Wire.decode(ExecutionStatusMessage.self, from: message.payload) { return status }
        }
        throw TimeoutError(description: "the watcher stopped")
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }

    var error: (any Error)? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// Fires the signal of every key a log message contains: lets a test await what the agent
/// only reports through its log.
struct SignallingHandler: LogHandler {
    let signals: [String: Signal]
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    func log(event: LogEvent) {
        for (text, signal) in signals where event.message.description.contains(text) { signal.fire() }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
}

