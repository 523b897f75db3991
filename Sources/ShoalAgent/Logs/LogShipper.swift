// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Mosquitto
import ShoalCore
import Synchronization

/// Ships the lines of the followed files on `node/{id}/logs`: a poll loop reads them into
/// the `LogOutbox` (through each source's rate limit), a sender publishes one batch at a
/// time (QoS 1), and once the dispatcher says it stored the batch (`node/{id}/logs/ack`)
/// each source's position is kept in `{data}/log-positions` (written atomically), where
/// the next start resumes.
///
/// Thread-safe: the outbox, limiters and positions are behind a mutex shared by the poll
/// loop, the sender and the agent's message loop (which hands over acknowledgements); the
/// followers belong to the poll loop.
final class LogShipper: Sendable {
    private let shipping: LogShipping
    private let node: String
    private let topic: String
    private let ackTopic: String
    private let client: MQTTClient
    private let logger: Logger
    private let positionsPath: String
    private let state: Mutex<State>
    /// One writer of the positions file at a time, each writing the latest state.
    private let saving = Mutex(())
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>

    private struct State: Sendable {
        var outbox: LogOutbox
        var limiters: [String: LogRateLimiter]
        /// What the next start resumes from, per source.
        var saved: [String: LogPosition]
    }

    init(shipping: LogShipping, node: String, topics: TopicTree, dataDirectory: String, client: MQTTClient, logger: Logger) {
        self.shipping = shipping
        self.node = node
        self.topic = topics.logs(node)
        self.ackTopic = topics.logAck(node)
        self.client = client
        self.logger = logger
        positionsPath = dataDirectory + "/log-positions"
        let saved = DurableFile.read(positionsPath).flatMap { try? Wire.decode([String: LogPosition].self, from: $0) } ?? [:]
        state = Mutex(State(outbox: LogOutbox(capacityBytes: shipping.outboxBytes),
                            limiters: Dictionary(uniqueKeysWithValues: shipping.files.map { ($0, LogRateLimiter(rate: shipping.rate)) }),
                            saved: saved))
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func run() async {
        // The client subscribes again after every reconnect.
        do {
            try await client.subscribe([ackTopic])
        } catch {
            logger.error("Cannot subscribe to the dispatcher's log acknowledgements; not shipping logs", metadata: ["error": "\(error)"])
            return
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.follow() }
            group.addTask { await self.send() }
            group.addTask { await self.tick() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Reads every file each `pollInterval` until cancelled.
    private func follow() async {
        let saved = state.withLock { $0.saved }
        let firstSeq = UInt64(max(0, Date().timeIntervalSince1970 * 1000)) * 1000
        let files = shipping.files.map {
            FollowedFile(follower: LogFollower(source: $0, resume: saved[$0], firstSeq: firstSeq))
        }
        while !Task.isCancelled {
            for file in files { take(file.poll(), from: file) }
            do {
                try await Task.sleep(for: shipping.pollInterval)
            } catch {
                return
            }
        }
    }

    private func take(_ poll: (lines: [FollowedLine], opened: LogPosition?), from file: FollowedFile) {
        let source = file.follower.source
        let time = Date().timeIntervalSince1970
        let firstOpen: LogPosition? = state.withLock { state in
            for line in poll.lines {
                if state.limiters[source]?.admit(now: time) ?? true {
                    state.outbox.append(line, source: source, at: time)
                } else {
                    state.outbox.skip(line, source: source, at: time)
                }
            }
            // A source seen for the first time starts at the end of its file: remember that
            // at once, or a restart before the first batch would start at the (new) end again.
            guard let opened = poll.opened, state.saved[source] == nil else { return nil }
            state.saved[source] = opened
            return opened
        }
        if firstOpen != nil { save() }
        if !poll.lines.isEmpty { wake.yield() }
    }

    /// Publishes batches one at a time. A batch is done when the dispatcher says it has
    /// stored it (`acknowledge`), not at the broker's PUBACK: until then it is sent again
    /// every `resendAfter` (the dispatcher stores each line once).
    private func send() async {
        let clock = ContinuousClock()
        var sentAt: ContinuousClock.Instant?
        var pending = wakes.makeAsyncIterator()
        while !Task.isCancelled {
            let (batch, fresh) = state.withLock { state in
                if let inFlight = state.outbox.inFlight { return (Optional(inFlight), false) }
                return (state.outbox.nextBatch(), true)
            }
            if let batch, fresh || sentAt.map({ clock.now - $0 >= Self.resendAfter }) ?? true {
                let message = LogBatchMessage(node: node, lines: batch.lines, dropped: batch.dropped.isEmpty ? nil : batch.dropped)
                do {
                    try await client.publishConfirmed(MQTTMessage(topic: topic, payload: Wire.encode(message), qos: 1))
                } catch {
                    // The client stopped (the agent is stopping): the positions kept say where to resume.
                    logger.debug("Log batch not acknowledged", metadata: ["error": "\(error)"])
                    return
                }
                sentAt = clock.now
                if !fresh { logger.debug("Log batch sent again: the dispatcher has not confirmed it") }
                if fresh, let dropped = message.dropped {
                    logger.warning("Log lines dropped", metadata: [
                        "log.dropped": "\(dropped.map { "\($0.source): \($0.count) (\($0.reason.rawValue))" })"])
                }
            }
            // New lines, the dispatcher's acknowledgement, or the ticker.
            guard await pending.next() != nil else { return }
        }
    }

    /// How long a batch waits for the dispatcher's acknowledgement before it is sent again.
    static let resendAfter: Duration = .seconds(5)

    /// Wakes the sender every second, to send again what the dispatcher did not confirm.
    private func tick() async {
        while (try? await Task.sleep(for: .seconds(1))) != nil { wake.yield() }
    }

    /// `node/{id}/logs/ack` from the dispatcher: lines up to these numbers are stored.
    func acknowledge(_ payload: [UInt8]) {
        let stored: [String: UInt64]
        do {
            let ack = try Wire.decode(LogAckMessage.self, from: payload)
            guard ack.node == node else { throw WireError(description: "node id in payload does not match the topic") }
            try ack.validate()
            stored = ack.stored
        } catch {
            logger.warning("Dropped a malformed log acknowledgement", metadata: ["error": "\(error)"])
            return
        }
        let done = state.withLock { state -> Bool in
            guard let positions = state.outbox.acknowledged(stored: stored) else { return false }
            state.saved.merge(positions) { _, stored in stored }
            return true
        }
        guard done else { return }
        save()
        wake.yield()
    }

    private func save() {
        saving.withLock { _ in
            let saved = state.withLock { $0.saved }
            do {
                try DurableFile.replace(positionsPath, with: Wire.encode(saved))
            } catch {
                logger.warning("Cannot keep the log positions; a restart may send lines again", metadata: ["error": "\(error)"])
            }
        }
    }
}
