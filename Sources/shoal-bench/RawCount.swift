import Foundation
import Logging
import Mosquitto
import Synchronization

/// The raw subscriber beside bench/ingest's dispatcher: one more subscriber on the same
/// topic filter, same broker, same run, that only counts messages (and payload bytes) as
/// they arrive on libmosquitto's thread. Prints the running count every `--every`
/// seconds for `--seconds`, so the script can set it against what SQLite stored.
enum RawCount {
    struct Options: Sendable {
        var broker: BrokerAddress
        var topic: String
        var seconds: Int
        var every: Int

        init(parsing arguments: [String]) throws(UsageError) {
            let values = try Flags.parse(arguments, allowed: ["broker", "topic", "seconds", "every"])
            broker = try Flags.broker(values)
            topic = values["topic"] ?? "shoal/v1/node/+/metrics"
            guard !topic.isEmpty, !topic.contains("\0") else { throw UsageError("--topic '\(topic)' is not a topic filter") }
            seconds = try Flags.integer(values, "seconds", default: 60, in: 1...86_400)
            every = try Flags.integer(values, "every", default: 5, in: 1...3_600)
        }
    }

    static func measure(_ options: Options, logger: Logger) async throws {
        let counter = Counter()
        let client = try MQTTClient(configuration: MQTTConfiguration(
            host: options.broker.host, port: options.broker.port, clientID: "shoal-bench-count-\(getpid())",
            maxInflight: 65_535, receiveMaximum: 10_000),
            delivery: .handler { counter.add($0.payload.count) }, logger: logger)
        try await withDeadline(.seconds(30), "connecting", onTimeout: { client.abort() }) {
            try await client.start()
            try await client.subscribe([options.topic], qos: 0)
        }
        defer { client.stop() }
        let clock = ContinuousClock()
        let started = clock.now
        let (messages, bytes) = counter.read()
        FileHandle.standardOutput.write(Data("raw_start messages=\(messages) bytes=\(bytes)\n".utf8))
        var elapsed = 0
        while elapsed < options.seconds {
            let step = min(options.every, options.seconds - elapsed)
            try await Task.sleep(until: started + .seconds(elapsed + step), clock: clock)
            elapsed += step
            let (messages, bytes) = counter.read()
            // Unbuffered: the script reads each line as it comes.
            FileHandle.standardOutput.write(Data("raw_count t=\(elapsed) messages=\(messages) bytes=\(bytes)\n".utf8))
        }
    }

    /// Thread-safe: `add` runs on the network thread.
    private final class Counter: Sendable {
        private let state = Mutex<(messages: Int, bytes: Int)>((0, 0))
        func add(_ bytes: Int) { state.withLock { $0.messages += 1; $0.bytes += bytes } }
        func read() -> (Int, Int) { state.withLock { ($0.messages, $0.bytes) } }
    }
}
