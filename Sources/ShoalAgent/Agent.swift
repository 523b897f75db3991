// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Mosquitto
import ServiceLifecycle
import ShoalCore
import Synchronization

/// One Shoal agent: announces itself, heartbeats, and runs the jobs its cell and its own
/// node topic deliver, at most once each.
///
/// `run()` owns everything the agent does; all work happens in child tasks of its task
/// group. On graceful shutdown it stops taking new jobs, lets running ones finish (their
/// own timeouts bound them), publishes its death and disconnects.
public final class Agent: Service, Sendable {
    public let configuration: AgentConfiguration
    /// Automatic labels merged with configured ones.
    public let labels: [String: String]
    private let logger: Logger

    public init(configuration: AgentConfiguration, logger: Logger) {
        self.configuration = configuration
        self.labels = NodeFacts.collect(nodeID: configuration.nodeID).merging(configuration.labels) { _, configured in configured }
        var logger = logger
        logger[metadataKey: "node.id"] = "\(configuration.nodeID)"
        self.logger = logger
    }

    public var cell: Cell { Cell(labels: labels) }

    public func run() async throws {
        let node = configuration.nodeID
        let topics = configuration.topics
        let data = configuration.dataDirectory
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let bdSeq = try BirthSequence.next(in: data)
        let ledger = try ExecutionLedger(directory: data + "/ledger")
        let outbox = try Outbox(directory: data + "/outbox")

        let client = try MQTTClient(configuration: MQTTConfiguration(
            host: configuration.broker.host, port: configuration.broker.port,
            clientID: "shoal-agent-\(node)", username: configuration.username, password: configuration.password,
            keepAlive: max(5, Int32(configuration.heartbeatInterval * 3)),
            // A persistent session: jobs published while this node is away wait at the broker.
            cleanStart: false, sessionExpiry: 7 * 24 * 3600,
            will: .init(topic: topics.death(node), payload: Wire.encode(DeathMessage(node: node, bdSeq: bdSeq)))
        ), logger: logger)
        let reporter = Reporter(client: client, outbox: outbox, logger: logger)
        let executor = JobExecutor(configuration: configuration, ledger: ledger, reporter: reporter, logger: logger)

        let interrupted = executor.takeInterruptedJobs()
        let filters = topics.agentFilters(node: node, cell: cell)
        guard try await client.startUnlessShuttingDown(subscribingTo: filters) else { return }
        logger.info("Agent connected", metadata: ["broker": "\(configuration.broker)", "cell": "\(cell)"])

        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Birth on every connect, so the registry is right after any reconnect.
                for await event in client.connectionEvents {
                    if case .connected = event { self.publishBirth(client: client, bdSeq: bdSeq) }
                }
            }
            self.publishBirth(client: client, bdSeq: bdSeq)
            group.addTask {
                await reporter.replay()
                await executor.reportInterrupted(interrupted)
            }
            group.addTask { await self.heartbeat(client: client, executor: executor) }
            await withDiscardingTaskGroup { jobs in
                for await message in client.messages.cancelOnGracefulShutdown() {
                    self.dispatch(message, client: client, bdSeq: bdSeq, executor: executor, jobs: &jobs)
                }
            }
            // Graceful shutdown: jobs have finished (the discarding group waited for them).
            // Say goodbye and wait (briefly) for the broker to have it: a clean DISCONNECT
            // suppresses the Will, so this is the only death the dispatcher will see.
            group.cancelAll()
            let death = MQTTMessage(topic: topics.death(node), payload: Wire.encode(DeathMessage(node: node, bdSeq: bdSeq)))
            await withTaskGroup(of: Void.self) { farewell in
                farewell.addTask { try? await client.publishConfirmed(death) }
                farewell.addTask { try? await Task.sleep(for: .seconds(2)) }
                await farewell.next()
                farewell.cancelAll()
                client.stop()
            }
        }
    }

    private func dispatch(
        _ message: MQTTMessage, client: MQTTClient, bdSeq: UInt64, executor: JobExecutor, jobs: inout DiscardingTaskGroup
    ) {
        switch configuration.topics.route(message.topic) {
        case .cellJob, .nodeJob:
            do {
                let job = try Wire.decode(JobMessage.self, from: message.payload)
                guard JobID.isValid(job.id) else { throw WireError(description: "invalid job id") }
                let labels = self.labels
                jobs.addTask { await executor.handle(job, labels: labels) }
            } catch {
                logger.warning("Dropped a malformed job message", metadata: ["topic": "\(message.topic)", "error": "\(error)"])
            }
        case .nodeControl:
            guard let control = try? Wire.decode(ControlMessage.self, from: message.payload) else {
                logger.warning("Dropped a malformed control message", metadata: ["topic": "\(message.topic)"])
                return
            }
            switch control.op {
            case .cancel: if let job = control.job { executor.cancel(job) }
            case .rebirth: publishBirth(client: client, bdSeq: bdSeq)
            }
        default:
            logger.debug("Ignored a message on an unexpected topic", metadata: ["topic": "\(message.topic)"])
        }
    }

    private func publishBirth(client: MQTTClient, bdSeq: UInt64) {
        let birth = BirthMessage(node: configuration.nodeID, labels: labels, version: shoalVersion, bdSeq: bdSeq,
                                 heartbeatInterval: configuration.heartbeatInterval,
                                 sentAt: Date().timeIntervalSince1970)
        try? client.publish(configuration.topics.birth(configuration.nodeID), Wire.encode(birth), qos: 1)
    }

    private func heartbeat(client: MQTTClient, executor: JobExecutor) async {
        let started = Date()
        var seq: UInt64 = 0
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(configuration.heartbeatInterval))
            } catch {
                return
            }
            seq += 1
            let beat = HeartbeatMessage(node: configuration.nodeID, seq: seq, uptime: -started.timeIntervalSinceNow,
                                        load1: NodeFacts.loadAverage(), running: executor.runningCount,
                                        sentAt: Date().timeIntervalSince1970)
            try? client.publish(configuration.topics.heartbeat(configuration.nodeID), Wire.encode(beat), qos: 0)
        }
    }
}

/// The birth/death sequence number, kept in the data directory and bumped on every start,
/// so the dispatcher can tell a stale death (from a previous connection) from a real one.
enum BirthSequence {
    static func next(in directory: String) throws -> UInt64 {
        let path = directory + "/bdseq"
        let previous = DurableFile.read(path).flatMap { UInt64(String(decoding: $0, as: UTF8.self)) } ?? 0
        try DurableFile.replace(path, with: Array(String(previous + 1).utf8), sync: true)
        return previous + 1
    }
}
