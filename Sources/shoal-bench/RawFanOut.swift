import Foundation
import Logging
import Mosquitto

/// The floor under `bench/fanout`: the same fan-out with no Shoal in it. One raw message
/// per cell topic (`bench/raw/job/{cell}`) reaches every simulated agent of that cell
/// (`shoal simulate --raw-echo` subscribes its agents there), each answers once on
/// `bench/raw/reply`, and a run lasts until all expected answers are counted. Same broker,
/// same client connections as the Shoal job it is compared with.
enum RawFanOut {
    struct Options: Sendable {
        var broker: BrokerAddress
        var expect: Int
        var cells: [String]
        var runs: Int
        var timeout: Duration

        init(parsing arguments: [String]) throws(UsageError) {
            let values = try Flags.parse(arguments, allowed: ["broker", "expect", "cells", "runs", "timeout"])
            broker = try Flags.broker(values)
            expect = try Flags.integer(values, "expect", default: 0, in: 1...1_000_000)
            cells = (values["cells"] ?? "").split(separator: ",").map(String.init)
            guard !cells.isEmpty else { throw UsageError("--cells needs a comma-separated list of region/arch/role") }
            runs = try Flags.integer(values, "runs", default: 5, in: 1...1000)
            timeout = .seconds(try Flags.integer(values, "timeout", default: 60, in: 1...86_400))
        }
    }

    static let replyTopic = "bench/raw/reply"

    static func measure(_ options: Options, logger: Logger) async throws -> [Double] {
        let client = try MQTTClient(configuration: MQTTConfiguration(
            host: options.broker.host, port: options.broker.port,
            clientID: "shoal-bench-fanout-\(getpid())", maxInflight: 65_535), logger: logger)
        try await withDeadline(options.timeout, "connecting", onTimeout: { client.abort() }) {
            try await client.start()
            try await client.subscribe([replyTopic], qos: 1)
        }
        defer { client.stop() }
        let limit = options.timeout * (options.runs + 1)
        return try await withDeadline(limit, "waiting for the replies", onTimeout: { client.abort() }) {
            var times: [Double] = []
            var replies = client.messages.makeAsyncIterator()
            for run in 0...options.runs {
                let nonce = "run-\(run)-\(UInt64.random(in: 0...UInt64.max))"
                let clock = ContinuousClock()
                let started = clock.now
                for cell in options.cells {
                    try client.publish("bench/raw/job/\(cell)", Array(nonce.utf8), qos: 1)
                }
                var counted = 0
                while counted < options.expect {
                    guard let message = await replies.next() else { throw BenchError("connection closed") }
                    if message.payload.starts(with: Array(nonce.utf8)) { counted += 1 }
                }
                // Run 0 is the warm-up.
                if run > 0 { times.append((clock.now - started).milliseconds) }
            }
            return times
        }
    }
}
