import Foundation
import Logging
import Mosquitto

/// The raw MQTT round trip that `shoal run --all -- true` is compared with: the same
/// fan-out (one publish reaching N subscribers) and fan-in (N replies reaching one client),
/// with nothing of Shoal in between: no dispatcher, no JSON, no process start, no job.
///
/// Setup: N subscriber clients, each subscribed (QoS 1) to one shared job topic, and a
/// requester subscribed (QoS 1) to a reply topic; all use `MQTTClient` as Shoal does
/// (MQTT v5, TCP_NODELAY, pipelined publishes). A run publishes one QoS 1 message to the
/// job topic; every subscriber republishes it (QoS 1, plus its index) to the reply topic
/// the moment it arrives; the run's time is the requester's wall time from just before
/// its publish until the N-th distinct reply for that run has been read from its stream.
enum RawRoundTrip {
    struct Options: Sendable {
        var broker: BrokerAddress
        /// TLS and credentials, to measure against a broker with the secure profile.
        var login: BrokerLogin
        /// Topics go under it: the secure profile's ACL lets the dispatcher's user use `shoal/v1/#` only.
        var topicPrefix: String
        var subscribers: Int
        var runs: Int
        var timeout: Duration
    }

    struct Result: Sendable {
        /// One client, in-process: CONNECT to CONNACK, then SUBSCRIBE to SUBACK.
        var connect: Duration
        var warmUp: Duration
        var runs: [Duration]
    }

    static func measure(_ options: Options, logger: Logger) async throws -> Result {
        var generator = SystemRandomNumberGenerator()
        let tag = String(UInt64.random(in: 0...UInt64.max, using: &generator), radix: 36)
        let jobTopic = "\(options.topicPrefix)/\(tag)/job"
        let replyTopic = "\(options.topicPrefix)/\(tag)/reply"
        func client(_ name: String) throws -> MQTTClient {
            try MQTTClient(configuration: options.login.configuration(options.broker, clientID: "shoal-bench-\(tag)-\(name)"),
                           logger: logger)
        }
        let requester = try client("requester")
        let subscribers = try (0..<options.subscribers).map { try client("sub-\($0)") }
        let everyone = [requester] + subscribers
        // stop() ends each client's streams and fails its pending waits, which is what
        // unwinds the tasks below when a deadline passes.
        let stopAll: @Sendable () -> Void = { everyone.forEach { $0.stop() } }
        defer { stopAll() }

        let clock = ContinuousClock()
        let connect = try await withDeadline(
            options.timeout, "connecting to \(options.broker) (is a broker listening there?)", onTimeout: stopAll
        ) {
            let started = clock.now
            try await requester.start()
            try await requester.subscribe([replyTopic], qos: 1)
            let connect = clock.now - started
            try await withThrowingTaskGroup(of: Void.self) { group in
                for subscriber in subscribers {
                    group.addTask {
                        try await subscriber.start()
                        try await subscriber.subscribe([jobTopic], qos: 1)
                    }
                }
                try await group.waitForAll()
            }
            return connect
        }

        let count = options.subscribers
        let runs = options.runs
        let durations = try await withDeadline(
            options.timeout, "waiting for \(count) replies per run", onTimeout: stopAll
        ) {
            try await withThrowingTaskGroup(of: [Duration]?.self) { group in
                for (index, subscriber) in subscribers.enumerated() {
                    group.addTask {
                        try await echo(subscriber, index: index, to: replyTopic)
                        return nil
                    }
                }
                group.addTask {
                    try await timeRuns(requester, jobTopic: jobTopic, subscribers: count, runs: runs + 1, clock: clock)
                }
                // The echo loops only end with their streams; the requester's result ends the group.
                while let finished = try await group.next() {
                    if let durations = finished {
                        group.cancelAll()
                        return durations
                    }
                }
                throw BenchError("the requester stopped before finishing its runs")
            }
        }
        return Result(connect: connect, warmUp: durations[0], runs: Array(durations.dropFirst()))
    }

    /// A subscriber: answers every job message on the reply topic, tagged with its index,
    /// without waiting for the PUBACK. Runs until its stream ends (the client stopped) or
    /// its task is cancelled.
    private static func echo(_ client: MQTTClient, index: Int, to replyTopic: String) async throws {
        let signature = [UInt8(truncatingIfNeeded: index >> 8), UInt8(truncatingIfNeeded: index)]
        for await message in client.messages {
            try client.publish(MQTTMessage(topic: replyTopic, payload: message.payload + signature, qos: 1))
        }
    }

    /// `runs` runs, one after the other; returns each run's wall time.
    private static func timeRuns(
        _ requester: MQTTClient, jobTopic: String, subscribers: Int, runs: Int, clock: ContinuousClock
    ) async throws -> [Duration] {
        var replies = requester.messages.makeAsyncIterator()
        var durations: [Duration] = []
        durations.reserveCapacity(runs)
        for run in 0..<runs {
            let tag = withUnsafeBytes(of: UInt32(run).bigEndian) { Array($0) }
            var answered = Set<Int>()
            let started = clock.now
            try requester.publish(MQTTMessage(topic: jobTopic, payload: tag, qos: 1))
            while answered.count < subscribers {
                guard let reply = await replies.next() else {
                    throw BenchError("the connection closed during run \(run) (\(answered.count)/\(subscribers) replies)")
                }
                // A QoS 1 duplicate or a late reply of an earlier run is not this run's answer.
                guard reply.payload.count == 6, reply.payload.starts(with: tag) else { continue }
                answered.insert(Int(reply.payload[4]) << 8 | Int(reply.payload[5]))
            }
            durations.append(clock.now - started)
        }
        return durations
    }
}
