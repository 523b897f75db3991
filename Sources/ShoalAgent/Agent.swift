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
    /// Labels and quarantine as operators set them from the control plane.
    private let operatorState: OperatorState
    private let logger: Logger

    public init(configuration: AgentConfiguration, logger: Logger) {
        self.configuration = configuration
        let base = NodeFacts.collect(nodeID: configuration.nodeID).merging(configuration.labels) { _, configured in configured }
        operatorState = OperatorState(directory: configuration.dataDirectory, base: base)
        var logger = logger
        logger[metadataKey: "node.id"] = "\(configuration.nodeID)"
        self.logger = logger
    }

    /// Automatic labels merged with configured ones, then with those set from the control plane.
    public var labels: [String: String] { operatorState.labels }

    public var cell: Cell { Cell(labels: labels) }

    public func run() async throws {
        let node = configuration.nodeID
        let topics = configuration.topics
        let data = configuration.dataDirectory
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let bdSeq = BirthSequence.next(in: data, logger: logger)
        let ledger = try ExecutionLedger(directory: data + "/ledger")
        let outbox = try Outbox(directory: data + "/outbox")
        let deferred = try DeferredJobs(directory: data + "/deferred")
        var username = configuration.username
        var password = configuration.password
        if let bootstrap = configuration.bootstrap {
            let enrollment = Enrollment(configuration: configuration, bootstrap: bootstrap, labels: labels, logger: logger)
            guard let secret = try await enrollment.credentials() else { return }
            username = node
            password = secret
        }

        let mqttConfiguration = MQTTConfiguration(
            host: configuration.broker.host, port: configuration.broker.port,
            clientID: "shoal-agent-\(node)", username: username, password: password,
            keepAlive: max(5, Int32(configuration.heartbeatInterval * 3)),
            // A persistent session: jobs published while this node is away wait at the broker.
            cleanStart: false, sessionExpiry: 7 * 24 * 3600,
            will: .init(topic: topics.death(node), payload: Wire.encode(DeathMessage(node: node, bdSeq: bdSeq))),
            tls: configuration.tls)
        if configuration.bootstrap != nil {
            do {
                try await cancelWhenGracefulShutdown {
                    try await Enrollment.waitUntilAccepted(mqttConfiguration, logger: self.logger)
                }
            } catch is CancellationError {
                return
            }
        }
        let client = try MQTTClient(configuration: mqttConfiguration, logger: logger)
        let reporter = Reporter(client: client, outbox: outbox, logger: logger)
        let signatures = SignatureGate(verifier: configuration.signatureVerifier)
        let executor = JobExecutor(configuration: configuration, ledger: ledger, reporter: reporter,
                                   operatorState: operatorState, signatures: signatures, logger: logger)
        if signatures.isEnforcing {
            logger.info("Running only jobs signed by a trusted key", metadata: ["keys.trusted": "\(configuration.trustedKeys.keys.count)"])
        } else {
            logger.notice("No trusted operator key: jobs are not checked for signatures (shoal agent --trusted-keys)")
        }
        // Rules do not survive a reboot: a node still quarantined isolates itself again.
        if operatorState.quarantined { await isolate(true) }

        let interrupted = executor.takeInterruptedJobs()
        let pruned = ledger.prune(now: Date().timeIntervalSince1970)
        if pruned > 0 { logger.info("Forgot old finished jobs", metadata: ["ledger.pruned": "\(pruned)"]) }
        let filters = topics.agentFilters(node: node, cell: cell)
        guard try await client.startUnlessShuttingDown(subscribingTo: filters) else { return }
        logger.info("Agent connected", metadata: ["broker": "\(configuration.broker)", "cell": "\(cell)"])
        leaveStaleCell(client: client, topics: topics, data: data)

        // The message loop reads `inbox`, not `client.messages`: ending that loop on graceful
        // shutdown must not end the client's stream, or what the broker delivers until the
        // disconnect (already acknowledged by libmosquitto) would vanish.
        let (inbox, inboxSink) = AsyncStream.makeStream(of: Inbound.self)
        // Operators' decisions run one at a time, in the order sent (a quarantine then a
        // release must not swap).
        let (controls, controlSink) = AsyncStream.makeStream(of: ControlMessage.self)
        let takenOver = Flag()
        let births = SentBirths()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await control in controls {
                    await self.apply(control, client: client, bdSeq: bdSeq, births: births)
                }
            }
            group.addTask {
                for await message in client.messages { inboxSink.yield(.message(message)) }
                inboxSink.finish()
            }
            group.addTask {
                await withTaskGroup(of: Void.self) { watches in
                    let watching = Flag()
                    for await event in client.connectionEvents {
                        switch event {
                        case .connected:
                            // One birth per connection, the first included: the registry is right
                            // after any reconnect, and never gets two births for one connection.
                            self.publishBirth(client: client, bdSeq: bdSeq, births: births)
                        case .disconnected(MQTTDisconnectReason.sessionTakenOver):
                            self.stopForTwin(client: client, takenOver: takenOver)
                        case .disconnected(0):
                            break
                        case .disconnected:
                            guard watching.setIfClear() else { break }
                            watches.addTask {
                                if await self.twinAppears(births: births, session: client.configuration.session) {
                                    self.stopForTwin(client: client, takenOver: takenOver)
                                }
                                watching.clear()
                            }
                        }
                    }
                    watches.cancelAll()
                }
            }
            group.addTask {
                await reporter.replay()
                await executor.reportInterrupted(interrupted)
            }
            group.addTask { await self.heartbeat(client: client, executor: executor, signatures: signatures) }
            if let interval = configuration.metricsInterval {
                let metrics = MetricsReporter(node: node, topic: topics.metrics(node), interval: interval, logger: logger)
                group.addTask { await metrics.run(client: client) }
            }
            await withDiscardingTaskGroup { jobs in
                for job in deferred.all() {
                    let labels = self.labels
                    jobs.addTask {
                        await executor.handle(job, labels: labels)
                        deferred.remove(job.id)
                    }
                }
                await withGracefulShutdownHandler {
                    for await item in inbox {
                        guard case .message(let message) = item else { break }
                        self.dispatch(message, client: client, bdSeq: bdSeq, births: births, executor: executor,
                                      controls: controlSink, signatures: signatures, jobs: &jobs)
                    }
                } onGracefulShutdown: {
                    inboxSink.yield(.stop)
                }
                logger.info("Stopping: no new jobs; waiting for running ones", metadata: ["jobs.running": "\(executor.runningCount)"])
                controlSink.finish()
                group.addTask { await self.keepForNextStart(inbox, deferred: deferred, executor: executor) }
            }
            // Running jobs have finished (the discarding group waited for them).
            if !takenOver.isSet {
                // Say goodbye and wait (briefly) for the broker to have it: a clean DISCONNECT
                // suppresses the Will, so this is the only death the dispatcher will see.
                let death = MQTTMessage(topic: topics.death(node), payload: Wire.encode(DeathMessage(node: node, bdSeq: bdSeq)))
                await withTaskGroup(of: Void.self) { farewell in
                    farewell.addTask { try? await client.publishConfirmed(death) }
                    farewell.addTask { try? await Task.sleep(for: .seconds(2)) }
                    await farewell.next()
                    farewell.cancelAll()
                }
            }
            // Ends `client.messages`, then `inbox`: `keepForNextStart` has seen every delivery.
            client.stop()
            group.cancelAll()
        }
        if takenOver.isSet { throw AgentError.nodeIDTaken(node) }
    }

    private enum Inbound: Sendable {
        case message(MQTTMessage)
        case stop
    }

    /// While running jobs finish, jobs still arrive; they are kept for the next start rather
    /// than started (or dropped: libmosquitto has acknowledged them to the broker).
    private func keepForNextStart(_ inbox: AsyncStream<Inbound>, deferred: DeferredJobs, executor: JobExecutor) async {
        for await item in inbox {
            guard case .message(let message) = item else { continue }
            switch configuration.topics.route(message.topic) {
            case .nodeControl:
                // A cancel must hold for a job kept for the next start (it is then never run).
                guard let control = try? Wire.decode(ControlMessage.self, from: message.payload), control.op == .cancel,
                      let job = control.job, JobID.isValid(job) else {
                    logger.debug("Ignored a control message that arrived while stopping", metadata: ["topic": "\(message.topic)"])
                    continue
                }
                executor.stopOrHold(job)
                await executor.cancel(job)
                deferred.remove(job)
            case .cellJob, .nodeJob:
                guard let job = try? Wire.decode(JobMessage.self, from: message.payload), JobID.isValid(job.id) else {
                    logger.warning("Dropped a malformed job message", metadata: ["topic": "\(message.topic)"])
                    continue
                }
                do {
                    try deferred.keep(job.id, payload: message.payload)
                    logger.info("A job arrived while stopping; kept for the next start", metadata: ["job.id": "\(job.id)"])
                } catch {
                    logger.error("A job arrived while stopping and cannot be kept; it is lost",
                                 metadata: ["job.id": "\(job.id)", "error": "\(error)"])
                }
            default:
                logger.debug("Ignored a message that arrived while stopping", metadata: ["topic": "\(message.topic)"])
            }
        }
    }

    private func dispatch(
        _ message: MQTTMessage, client: MQTTClient, bdSeq: UInt64, births: SentBirths, executor: JobExecutor,
        controls: AsyncStream<ControlMessage>.Continuation, signatures: SignatureGate, jobs: inout DiscardingTaskGroup
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
            let control: ControlMessage
            do {
                control = try Wire.decode(ControlMessage.self, from: message.payload)
                try control.validate()
            } catch {
                logger.warning("Dropped a malformed control message", metadata: ["topic": "\(message.topic)", "error": "\(error)"])
                return
            }
            if let reason = refusal(of: control, signatures: signatures) {
                logger.warning("Refused a control message", metadata: ["op": "\(control.op.rawValue)", "reason": "\(reason)"])
                return
            }
            switch control.op {
            case .cancel:
                guard let job = control.job else { return }
                // At once, in delivery order: a job delivered just before must see it (see `cancel`).
                executor.stopOrHold(job)
                jobs.addTask { await executor.cancel(job) }
            case .rebirth: publishBirth(client: client, bdSeq: bdSeq, births: births)
            case .quarantine, .release, .labels: controls.yield(control)
            }
        default:
            logger.debug("Ignored a message on an unexpected topic", metadata: ["topic": "\(message.topic)"])
        }
    }

    /// Why a control message is not acted on, or nil. One signed for another node is never
    /// acted on; the others follow the job rules (`SignatureVerifier`), except operations
    /// that need no operator (`rebirth`).
    private func refusal(of control: ControlMessage, signatures: SignatureGate) -> String? {
        if let target = control.node, target != configuration.nodeID {
            return "addressed to node \(Bounds.prefix(target, maxBytes: 80).text)"
        }
        guard control.op.requiresSignature else { return nil }
        return signatures.refusal(control.signature, of: control.signingContent, now: Date().timeIntervalSince1970,
                                  repeatAllowed: false)
    }

    /// The persistent session keeps the subscription of the cell this node was in when its
    /// agent last ran with other labels: leave it, or that cell's jobs keep arriving.
    private func leaveStaleCell(client: MQTTClient, topics: TopicTree, data: String) {
        let path = data + "/cell-topic"
        let current = topics.cellJob(cell)
        let previous = DurableFile.read(path).map { String(decoding: $0, as: UTF8.self) }
        guard previous != current else { return }
        do {
            if let previous, !previous.isEmpty { try client.unsubscribe([previous]) }
            try DurableFile.replace(path, with: Array(current.utf8))
        } catch {
            logger.warning("Cannot leave the previous cell's job topic", metadata: ["error": "\(error)"])
        }
    }

    /// Carries out a quarantine, release or relabelling, then announces the node as it now
    /// is (a new birth), which is how the dispatcher learns that it was done.
    private func apply(_ control: ControlMessage, client: MQTTClient, bdSeq: UInt64, births: SentBirths) async {
        switch control.op {
        case .quarantine:
            // Ordinary jobs are refused from now on, even if the isolation action fails.
            guard await isolate(true) else { return }
        case .release:
            guard await isolate(false) else { return }
        case .labels:
            let before = cell
            do {
                let labels = try operatorState.applyLabels(set: control.set ?? [:], remove: control.remove ?? [])
                logger.info("Labels changed by an operator", metadata: ["labels": "\(labels)"])
            } catch {
                logger.error("Labels changed, but cannot be kept for the next start", metadata: ["error": "\(error)"])
            }
            await moveCell(from: before, client: client)
        case .cancel, .rebirth:
            return
        }
        publishBirth(client: client, bdSeq: bdSeq, births: births)
    }

    /// Runs the isolation (or release) action and records the outcome; false when it failed.
    @discardableResult
    private func isolate(_ isolated: Bool) async -> Bool {
        let action = isolated ? configuration.isolateAction : configuration.releaseAction
        let failure = await action.run(broker: (configuration.broker.host, configuration.broker.port), node: configuration.nodeID)
        if let failure {
            logger.error(isolated ? "Quarantined, but the isolation action failed" : "Released, but the release action failed",
                         metadata: ["error": "\(failure)"])
        } else {
            logger.info(isolated ? "Quarantined: isolation action done" : "Released: release action done")
        }
        do {
            // Quarantined or not as decided; isolated only if the action worked (a failed
            // release leaves the rules in place as far as anyone can tell).
            try operatorState.setQuarantined(isolated, isolated: isolated ? failure == nil : failure != nil && operatorState.isolated)
        } catch {
            logger.error("Cannot keep the quarantine state for the next start", metadata: ["error": "\(error)"])
        }
        return failure == nil
    }

    /// New labels may put the node in another cell: leave the old cell's job topic, join the new one.
    private func moveCell(from previous: Cell, client: MQTTClient) async {
        let topics = configuration.topics
        guard cell != previous else { return }
        do {
            try client.unsubscribe([topics.cellJob(previous)])
            try await client.subscribe([topics.cellJob(cell)])
            try DurableFile.replace(configuration.dataDirectory + "/cell-topic", with: Array(topics.cellJob(cell).utf8))
        } catch {
            logger.warning("Cannot move to the new cell's job topic", metadata: ["error": "\(error)"])
        }
    }

    private func publishBirth(client: MQTTClient, bdSeq: UInt64, births: SentBirths) {
        let birth = BirthMessage(node: configuration.nodeID, labels: labels, version: shoalVersion, bdSeq: bdSeq,
                                 heartbeatInterval: configuration.heartbeatInterval,
                                 sentAt: Date().timeIntervalSince1970, isolated: operatorState.isolated ? true : nil,
                                 signedOnly: configuration.signatureVerifier.isEnforcing ? true : nil)
        let payload = Wire.encode(birth)
        births.record(payload)
        try? client.publish(configuration.topics.birth(configuration.nodeID), payload, qos: 1)
    }

    /// The connection was lost: maybe the network, maybe another agent with this node id,
    /// whose connect makes the broker close ours (its session is ours: same client id).
    /// mosquitto 2.0.11 does not tell (it closes the socket before its DISCONNECT 0x8E is
    /// written). So a second connection with a client id of its own listens on this node's
    /// birth topic for a while: a twin reconnects and announces itself within a few seconds
    /// (births are sent at every connect), and a birth this agent did not send is the proof.
    /// Without a twin the watch ends quietly; the whole cost is one short connection after a
    /// connection loss.
    private func twinAppears(births: SentBirths, session: MQTTSession) async -> Bool {
        let node = configuration.nodeID
        guard let probe = try? MQTTClient(configuration: MQTTConfiguration(
            host: configuration.broker.host, port: configuration.broker.port,
            clientID: "shoal-agent-\(node)-watch-\(UInt32.random(in: 0...UInt32.max))",
            username: session.username, password: session.password, connectTimeout: .seconds(10),
            tls: configuration.tls
        ), logger: logger) else { return false }
        defer { probe.stop() }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                guard (try? await probe.start()) != nil,
                      (try? await probe.subscribe([self.configuration.topics.birth(node)])) != nil else { return false }
                for await message in probe.messages where !births.contains(message.payload) {
                    return true
                }
                return false
            }
            group.addTask {
                // The watch's length, not synchronisation: a twin's next connect comes within
                // libmosquitto's reconnect delay (at most 10 s), plus slack.
                try? await Task.sleep(for: Self.twinWatch)
                return false
            }
            let found = await group.next() ?? false
            group.cancelAll()
            return found
        }
    }

    static let twinWatch: Duration = .seconds(25)

    private func stopForTwin(client: MQTTClient, takenOver: Flag) {
        guard takenOver.setIfClear() else { return }
        logger.error("Another agent with this node id is connected to the broker; stopping",
                     metadata: ["error": "\(AgentError.nodeIDTaken(configuration.nodeID))"])
        // At once: every reconnect would take the session back from the twin. Running jobs
        // finish; their reports wait in the outbox.
        client.stop()
    }

    private func heartbeat(client: MQTTClient, executor: JobExecutor, signatures: SignatureGate) async {
        let started = Date()
        var seq: UInt64 = 0
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(configuration.heartbeatInterval))
            } catch {
                return
            }
            seq += 1
            signatures.forgetExpired(now: Date().timeIntervalSince1970)
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
    /// A failed write (a full disk) does not stop the agent: it uses the next number anyway,
    /// which is still above every earlier run's. The risk, logged: the next start reads the
    /// same old value, and this run's Will, if it arrived after that start's birth, would
    /// look current to the dispatcher.
    static func next(in directory: String, logger: Logger) -> UInt64 {
        let path = directory + "/bdseq"
        let previous = DurableFile.read(path).flatMap { UInt64(String(decoding: $0, as: UTF8.self)) } ?? 0
        do {
            try DurableFile.replace(path, with: Array(String(previous + 1).utf8), sync: true)
        } catch {
            logger.error("Cannot record the birth sequence number; using it unrecorded (free space in the data directory)",
                         metadata: ["path": "\(path)", "bdSeq": "\(previous + 1)", "error": "\(error)"])
        }
        return previous + 1
    }
}

/// A flag set from one task and read by another.
private final class Flag: Sendable {
    private let value = Mutex(false)
    /// True if this call set it.
    func setIfClear() -> Bool {
        value.withLock { value in
            defer { value = true }
            return !value
        }
    }
    func clear() { value.withLock { $0 = false } }
    var isSet: Bool { value.withLock { $0 } }
}

/// The birth payloads this agent sent lately (each carries its send time, so each is unique):
/// a birth on this node's topic that is not among them comes from another agent.
final class SentBirths: Sendable {
    private let payloads = Mutex<[[UInt8]]>([])

    func record(_ payload: [UInt8]) {
        payloads.withLock { payloads in
            payloads.append(payload)
            if payloads.count > 64 { payloads.removeFirst(payloads.count - 64) }
        }
    }

    func contains(_ payload: [UInt8]) -> Bool { payloads.withLock { $0.contains(payload) } }
}

/// Why an agent stopped on its own.
public enum AgentError: Error, CustomStringConvertible, Equatable {
    /// Two agents with one node id take the broker session from each other at every
    /// reconnect; the one that lost it stops instead of fighting.
    case nodeIDTaken(String)
    /// The dispatcher refused this node's enrollment.
    case enrollmentRejected(String, reason: String?)
    /// The broker did not accept the node's own credentials after enrollment.
    case credentialsRefused(String, detail: String)

    public var description: String {
        switch self {
        case .nodeIDTaken(let node):
            "another agent with node id \(node) connected to the broker; stopping (give each agent its own --id)"
        case .enrollmentRejected(let node, let reason):
            "the enrollment of node \(node) was rejected" + (reason.map { ": \($0)" } ?? "")
        case .credentialsRefused(let client, let detail):
            "the broker refused \(client)'s enrolled credentials (\(detail)); another agent may have enrolled with this node id first, "
                + "or the node was rejected: ask an operator (shoal nodes)"
        }
    }
}
