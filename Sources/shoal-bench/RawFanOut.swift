import Foundation
import Logging
import Mosquitto
import Synchronization

/// The floor under `bench/fanout`: the same fan-out with no Shoal in it. One raw message
/// per cell topic (`{prefix}/bench/raw/job/{cell}`) reaches every simulated agent of that cell
/// (`shoal simulate --raw-echo` subscribes its agents there), each answers once on
/// `{prefix}/bench/raw/reply`, and a run lasts until all expected answers are counted. Same broker,
/// same client connections as the Shoal job it is compared with.
enum RawFanOut {
    struct Options: Sendable {
        var broker: BrokerAddress
        var login: BrokerLogin
        /// The topic tree's prefix (`shoal/v1`): the raw topics are under it.
        var topicPrefix: String
        var expect: Int
        var cells: [String]
        var runs: Int
        var timeout: Duration

        init(parsing arguments: [String]) throws(UsageError) {
            let values = try Flags.parse(arguments, allowed: Set(["broker", "expect", "cells", "runs", "timeout", "topic-prefix"])
                                         .union(BrokerLogin.flags))
            broker = try Flags.broker(values)
            login = try BrokerLogin(values)
            topicPrefix = try Flags.topicPrefix(values, default: "shoal/v1")
            expect = try Flags.integer(values, "expect", default: 0, in: 1...1_000_000)
            cells = (values["cells"] ?? "").split(separator: ",").map(String.init)
            guard !cells.isEmpty else { throw UsageError("--cells needs a comma-separated list of region/arch/role") }
            runs = try Flags.integer(values, "runs", default: 5, in: 1...1000)
            timeout = .seconds(try Flags.integer(values, "timeout", default: 60, in: 1...86_400))
        }
    }


    static func measure(_ options: Options, logger: Logger) async throws -> [Double] {
        // The replies are counted on libmosquitto's thread as they arrive (the lightest
        // consumer the wrapper offers, the same delivery the dispatcher uses).
        let tally = ReplyTally()
        let replyTopic = options.topicPrefix + "/bench/raw/reply"
        // As the dispatcher: a window of 20 would throttle the replies.
        let client = try MQTTClient(configuration: options.login.configuration(
            options.broker, clientID: "shoal-bench-fanout-\(getpid())", maxInflight: 65_535, receiveMaximum: 10_000),
            delivery: .handler { tally.count($0.payload) }, logger: logger)
        try await withDeadline(options.timeout, "connecting", onTimeout: { client.abort() }) {
            try await client.start()
            try await client.subscribe([replyTopic], qos: 1)
        }
        defer { client.stop() }
        let limit = options.timeout * (options.runs + 1)
        return try await withDeadline(limit, "waiting for the replies", onTimeout: { client.abort() }) {
            var times: [Double] = []
            for run in 0...options.runs {
                let nonce = Array("run-\(run)-\(UInt64.random(in: 0...UInt64.max))".utf8)
                let clock = ContinuousClock()
                let started = clock.now
                try await tally.waitForReplies(options.expect, startingWith: nonce) {
                    for cell in options.cells {
                        try client.publish(options.topicPrefix + "/bench/raw/job/\(cell)", nonce, qos: 1)
                    }
                }
                // Run 0 is the warm-up.
                if run > 0 { times.append((clock.now - started).milliseconds) }
            }
            return times
        }
    }
}

/// Counts the replies of the current run; thread-safe (`count` runs on the network thread).
private final class ReplyTally: Sendable {
    private struct Run {
        var nonce: [UInt8]
        var expected: Int
        var counted = 0
        var done: CheckedContinuation<Void, any Error>
    }

    private let current = Mutex<Run?>(nil)

    func count(_ payload: [UInt8]) {
        let done = current.withLock { run -> CheckedContinuation<Void, any Error>? in
            guard var active = run, payload.starts(with: active.nonce) else { return nil }
            active.counted += 1
            guard active.counted == active.expected else {
                run = active
                return nil
            }
            run = nil
            return active.done
        }
        done?.resume()
    }

    /// Runs `send`, then waits until `expected` replies that start with `nonce` are counted.
    func waitForReplies(_ expected: Int, startingWith nonce: [UInt8], send: () throws -> Void) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                current.withLock { $0 = Run(nonce: nonce, expected: expected, done: done) }
                // Cancelled before the run was installed: the handler found nothing to end.
                if Task.isCancelled { return abandon(with: CancellationError()) }
                do {
                    try send()
                } catch {
                    abandon(with: error)
                }
            }
        } onCancel: {
            abandon(with: CancellationError())
        }
    }

    private func abandon(with error: any Error) {
        current.withLock { run in
            defer { run = nil }
            return run?.done
        }?.resume(throwing: error)
    }
}
