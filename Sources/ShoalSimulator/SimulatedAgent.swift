import MQTTSwarm
import Foundation
import Logging
import Mosquitto
import ShoalCore

/// One simulated node: the real agent's protocol (see `ShoalAgent.Agent` and `JobExecutor`)
/// on one swarm client, with a synthetic task instead of a process.
///
/// - Persistent session (`shoal-agent-{id}`, clean start off, 7-day expiry), Will = death.
/// - On every connect: subscribe to `TopicTree.agentFilters` (its cell's and its own job and
///   control topics), then publish its birth.
/// - Heartbeats at the configured interval, jittered (see `scheduleHeartbeat`).
/// - Jobs: `JobAdmission.decide`, the real agent's decision, against an in-memory ledger;
///   `rejected` as seq 1, else the reports `ExecutionReporting` prescribes (see `run`), each
///   QoS 1 like the agent. There is no outbox: a report that libmosquitto has not sent when
///   the simulator stops is lost (the real agent keeps it on disk).
/// - `ctl`: `cancel` ends a running job as `canceled`, `rebirth` publishes the birth again.
/// - On clean shutdown: publishes its death, then disconnects.
///
/// Threading: the swarm's loop thread only.
final class SimulatedAgent: MQTTSwarmHandler {
    let node: String
    let labels: [String: String]
    let fleet: FleetContext
    weak var client: SwarmClient?

    private let filters: [String]
    /// bench/fanout's raw baseline topic for this node's cell, when enabled.
    private let rawTopic: String?
    private let startedAt = Date().timeIntervalSince1970
    private var heartbeatTimer: SwarmTimer?
    private var heartbeatSeq: UInt64 = 0
    private var metricsTimer: SwarmTimer?
    private var metricsSeq = 0
    /// The ledger: every job this node has claimed, by `PreparedJob.serial` (memory only,
    /// never pruned; an integer is cheaper to hash than a job id, once per node per job).
    private var claimed = Set<Int>()
    private var running: [String: RunningJob] = [:]

    private struct RunningJob {
        var timer: SwarmTimer
        var ending: Ending
        var inline: Bool
    }

    init(node: String, number: Int, fleet: FleetContext) {
        self.node = node
        self.fleet = fleet
        labels = fleet.labels(node: node, number: number)
        let cell = Cell(labels: labels)
        rawTopic = fleet.configuration.rawEcho ? fleet.configuration.rawJobPrefix + cell.description : nil
        filters = fleet.topics.agentFilters(node: node, cell: cell) + (rawTopic.map { [$0] } ?? [])
    }

    static func options(node: String, fleet: FleetContext) -> MQTTSwarm.ClientOptions {
        let configuration = fleet.configuration
        return MQTTSwarm.ClientOptions(
            clientID: "shoal-agent-\(node)", username: configuration.username ?? node, password: configuration.password,
            keepAlive: max(5, Int32(configuration.heartbeatInterval * 3)),
            cleanStart: false, sessionExpiry: 7 * 24 * 3600,
            will: .init(topic: fleet.topics.death(node), payload: Wire.encode(DeathMessage(node: node, bdSeq: fleet.bdSeq))))
    }

    private var topics: TopicTree { fleet.topics }
    private func now() -> Double { Date().timeIntervalSince1970 }

    // MARK: Connection

    func swarmClientDidConnect(_ client: SwarmClient, sessionPresent: Bool) {
        // Subscribing again is harmless when the session survived and necessary when it did not.
        do {
            try client.subscribe(filters, qos: 1)
        } catch {
            fleet.logger.error("Cannot subscribe", metadata: ["node.id": "\(node)", "error": "\(error)"])
        }
        publishBirth(client)
        if heartbeatTimer == nil { scheduleHeartbeat(on: client.loop, first: true) }
        if metricsTimer == nil, fleet.configuration.metricsInterval != nil { scheduleMetrics(on: client.loop, first: true) }
        fleet.agentConnected()
    }

    func swarmClientDidDisconnect(_ client: SwarmClient, reason: Int32) {
        fleet.agentDisconnected()
    }

    func swarmClientWillStop(_ client: SwarmClient) {
        // A clean DISCONNECT suppresses the Will: say goodbye explicitly, as the agent does.
        let death = DeathMessage(node: node, bdSeq: fleet.bdSeq)
        _ = try? client.publish(topics.death(node), Wire.encode(death), qos: 1)
    }

    private func publishBirth(_ client: SwarmClient) {
        let birth = BirthMessage(node: node, labels: labels, version: fleet.configuration.version, bdSeq: fleet.bdSeq,
                                 heartbeatInterval: fleet.configuration.heartbeatInterval, sentAt: now())
        _ = try? client.publish(topics.birth(node), Wire.encode(birth), qos: 1)
    }

    /// The first beat comes after a random 0.1–1.1 intervals, so that a fleet started at once
    /// does not beat in lockstep; later ones every interval ±10 %.
    private func scheduleHeartbeat(on loop: SwarmLoop, first: Bool) {
        let interval = fleet.configuration.heartbeatInterval
        let factor = first ? Double.random(in: 0.1..<1.1, using: &fleet.random) : Double.random(in: 0.9..<1.1, using: &fleet.random)
        heartbeatTimer = loop.schedule(after: .milliseconds(Int64(interval * factor * 1000))) { [weak self] loop in
            self?.heartbeat(loop)
        }
    }

    private func heartbeat(_ loop: SwarmLoop) {
        heartbeatSeq += 1
        if let client, client.isConnected {
            let beat = HeartbeatMessage(node: node, seq: heartbeatSeq, uptime: now() - startedAt, load1: nil,
                                        running: running.count, sentAt: now())
            _ = try? client.publish(topics.heartbeat(node), Wire.encode(beat), qos: 0)
        }
        scheduleHeartbeat(on: loop, first: false)
    }

    /// Metric batches on the heartbeat's schedule: first after 0.1–1.1 intervals, then
    /// every interval ±10 %.
    private func scheduleMetrics(on loop: SwarmLoop, first: Bool) {
        guard let interval = fleet.configuration.metricsInterval else { return }
        let factor = first ? Double.random(in: 0.1..<1.1, using: &fleet.random) : Double.random(in: 0.9..<1.1, using: &fleet.random)
        metricsTimer = loop.schedule(after: .milliseconds(Int64(interval * factor * 1000))) { [weak self] loop in
            guard let self else { return }
            metricsSeq += 1
            if let client, client.isConnected {
                let payload = SyntheticMetrics.payload(node: node, at: now(), seq: metricsSeq, values: fleet.configuration.metricValues)
                _ = try? client.publish(topics.metrics(node), payload, qos: 0)
            }
            scheduleMetrics(on: loop, first: false)
        }
    }

    // MARK: Messages

    /// Jobs are looked up in the fleet's cache straight from libmosquitto's buffer; the
    /// rest is rare enough to copy.
    func swarmClient(_ client: SwarmClient, didReceive view: MQTTMessageView) {
        switch topics.route(view.topic) {
        case .cellJob, .nodeJob:
            guard let job = fleet.decodeJob(view.payload, topic: view.topic) else { return }
            handle(job, client: client)
        case let route:
            receive(view.copy(), route: route, client: client)
        }
    }

    private func receive(_ message: MQTTMessage, route: TopicTree.Route?, client: SwarmClient) {
        switch route {
        case .nodeControl:
            guard let control = try? Wire.decode(ControlMessage.self, from: message.payload) else {
                fleet.logger.warning("Dropped a malformed control message", metadata: ["topic": "\(message.topic)"])
                return
            }
            switch control.op {
            case .cancel: if let job = control.job { cancel(job, client: client) }
            case .rebirth: publishBirth(client)
            // Simulated nodes have no network to isolate and fixed labels.
            case .quarantine, .release, .labels: break
            }
        default:
            if let rawTopic, message.topic == rawTopic {
                _ = try? client.publish(fleet.configuration.rawReplyTopic, message.payload + Array(" \(node)".utf8), qos: 1)
                return
            }
            fleet.logger.debug("Ignored a message on an unexpected topic", metadata: ["topic": "\(message.topic)"])
        }
    }

    private func handle(_ prepared: FleetContext.PreparedJob, client: SwarmClient) {
        let job = prepared.job
        let admission = JobAdmission.decide(
            job, listed: prepared.nodes.contains(node), labels: labels, now: now(),
            skewAllowance: fleet.configuration.clockSkewAllowance,
            alreadyClaimed: { !claimed.insert(prepared.serial).inserted })
        switch admission {
        case .notForThisNode, .duplicate:
            return
        case .reject(let reason), .refuse(let reason):
            report(.init(job: job.id, node: node, seq: ExecutionReporting.acceptedSeq, state: .rejected, reason: reason,
                         at: now()), client)
        case .run:
            run(job, outcome: prepared.outcome, client: client)
        }
    }

    /// `ExecutionReporting`'s two shapes, as the agent's executor uses them: a task that ends
    /// within the quick window with small output gets one terminal report carrying it;
    /// anything longer reports `running` at once, then its output chunks and the terminal state.
    private func run(_ job: JobMessage, outcome: SyntheticTask, client: SwarmClient) {
        let startedAt = now()
        var outcome = outcome
        if outcome.exitCode == 0, fleet.fails(job: job.id, node: node) { outcome.exitCode = 1 }
        let timedOut = outcome.duration > job.timeout
        let ending = Ending(outcome: outcome, timedOut: timedOut, startedAt: startedAt, timeout: job.timeout)
        let lasts = timedOut ? job.timeout : outcome.duration
        let quick = lasts <= Self.quickWindow
            && ExecutionReporting.fitsInline(stdout: outcome.stdout.utf8.count, stderr: outcome.stderr.utf8.count)
        if !quick {
            report(ExecutionReporting.running(job: job.id, node: node, startedAt: startedAt, at: now()), client)
        }
        guard lasts > 0 else {
            finish(job.id, ending, inline: quick, scheduled: false)
            return
        }
        let timer = client.loop.schedule(after: seconds(lasts)) { [weak self] _ in
            self?.finish(job.id, ending, inline: quick, scheduled: true)
        }
        running[job.id] = RunningJob(timer: timer, ending: ending, inline: quick)
    }

    private static let quickWindow = Double(ExecutionReporting.quickWindow.components.seconds)
        + Double(ExecutionReporting.quickWindow.components.attoseconds) / 1e18

    /// How a started execution will end.
    private struct Ending {
        var outcome: SyntheticTask
        var timedOut: Bool
        var canceled = false
        var startedAt: Double
        var timeout: Double

        /// A killed task exits with 128 + SIGKILL, as the agent reports it.
        var exitCode: Int32 { timedOut || canceled ? 137 : outcome.exitCode }
    }

    /// The terminal report, with the output inline (quick) or as chunks sent just before it.
    /// `scheduled`: it was waiting in `running` (a quick job that ends at once never was).
    private func finish(_ job: String, _ ending: Ending, inline: Bool, scheduled: Bool) {
        if scheduled { running[job] = nil }
        guard let client else { return }
        let output = ending.timedOut || ending.canceled ? ("", "") : (ending.outcome.stdout, ending.outcome.stderr)
        var chunks: UInt32 = 0
        if !inline {
            for (stream, data) in [(OutputChannel.stdout, output.0), (.stderr, output.1)] where !data.isEmpty {
                chunks += 1
                let chunk = OutputChunkMessage(job: job, node: node, seq: chunks, stream: stream, data: data)
                _ = try? client.publish(topics.execOutput(node: node, job: job), Wire.encode(chunk), qos: 1)
            }
        }
        let (state, reason) = ExecutionReporting.outcome(
            exitCode: ending.exitCode, signal: nil, timedOut: ending.timedOut, canceled: ending.canceled,
            timeout: ending.timeout)
        report(ExecutionReporting.finished(
            job: job, node: node, state: state, exitCode: ending.exitCode, reason: reason, startedAt: ending.startedAt,
            at: now(), chunks: chunks, inline: inline ? (stdout: output.0, stderr: output.1) : nil), client)
    }

    private func cancel(_ job: String, client: SwarmClient) {
        guard var entry = running.removeValue(forKey: job) else { return }
        client.loop.cancel(entry.timer)
        entry.ending.canceled = true
        finish(job, entry.ending, inline: entry.inline, scheduled: false)
    }

    private func report(_ status: ExecutionStatusMessage, _ client: SwarmClient) {
        do {
            try client.publish(topics.execStatus(node: node, job: status.job), Wire.encode(status), qos: 1)
        } catch {
            fleet.logger.debug("Report not sent", metadata: ["node.id": "\(node)", "job.id": "\(status.job)", "error": "\(error)"])
        }
    }

    private func seconds(_ value: Double) -> Duration {
        .milliseconds(Int64((value * 1000).rounded(.up)))
    }
}
