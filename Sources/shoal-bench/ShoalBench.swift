import Foundation
import Logging
import Mosquitto

/// Benchmark drivers used by the scripts in `bench/`: `raw-roundtrip`, the plain-MQTT
/// baseline that `bench/run-latency` divides by, and `raw-fanout`, bench/fanout's.
///
/// Output is machine-readable `key=value` lines on stdout; errors and usage go to stderr.
@main
enum ShoalBench {
    static let usage = """
        usage: shoal-bench raw-roundtrip [--broker mqtt://HOST:PORT] [--subscribers N] [--runs N] [--timeout SECONDS]
                      [--tls-ca PATH] [--username U] [--password-file PATH] [--topic-prefix P]
               shoal-bench raw-fanout --expect N --cells R/A/O,... [--broker URL] [--runs N] [--timeout SECONDS]
               shoal-bench raw-count [--topic FILTER] [--seconds N] [--every N] [--broker URL]
               shoal-bench fuzz [--payloads N] [--seed N] [--hang SECONDS]

          fuzz            Mutated payloads (bit flips, truncations, splices, huge numbers, deep
                          nesting) through every message and API decoder, the signature verifier
                          and the selector parser (default 100000, seed 1). A payload running past
                          --hang seconds (default 10) is a hang: exit 1. Prints `fuzz_*` lines.

          raw-fanout      The raw baseline for bench/fanout: one message (QoS 1) to each cell topic
                          bench/raw/job/{cell}; the simulated agents of `shoal simulate --raw-echo`
                          answer on bench/raw/reply; a run lasts until --expect answers are in.
                          One warm-up run, then --runs runs (default 5). Prints `raw_ms` lines and
                          `raw_median_ms`.

          raw-count       The raw subscriber for bench/ingest: subscribes to --topic (default
                          shoal/v1/node/+/metrics, QoS 0) and prints `raw_count t=S messages=M bytes=B`
                          every --every seconds (default 5) for --seconds (default 60).

          raw-roundtrip   The raw MQTT baseline for `shoal run --all`: N clients subscribe to one
                          job topic; each run publishes one message (QoS 1) to it, every subscriber
                          replies (QoS 1) on the requester's reply topic as soon as it gets it, and
                          the run's time is the wall time until all N replies are in. One warm-up
                          run, then --runs measured runs.

          --broker URL        broker to use (default mqtt://127.0.0.1:1883)
          --subscribers N     subscribing clients, 1-300 (default 20; libmosquitto's select()
                              loop cannot serve many more clients in one process)
          --runs N            measured runs, 1-100000 (default 10)
          --timeout SECONDS   upper bound for connecting, and again for all runs (default 60)
          -h, --help          show this help

        Prints `raw_ms run=I value=MS` per run, then `raw_median_ms=MS` (and min, max, the
        warm-up and one client's connect time). Exit codes: 0 done, 1 failed, 64 bad usage.
        """

    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.isEmpty {
            FileHandle.standardError.write(Data("error: missing subcommand\n\n\(usage)\n".utf8))
            exit(64)
        }
        if ["-h", "--help", "help"].contains(arguments[0]) {
            print(usage)
            exit(0)
        }
        let logger = Logger(label: "shoal-bench") { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        do {
            switch arguments[0] {
            case "raw-roundtrip":
                let options = try RawRoundTrip.Options(parsing: Array(arguments.dropFirst()))
                let result = try await RawRoundTrip.measure(options, logger: logger)
                result.report(options)
            case "fuzz":
                let options = try Fuzz.Options(parsing: Array(arguments.dropFirst()))
                exit(Fuzz.run(options))
            case "raw-fanout":
                let options = try RawFanOut.Options(parsing: Array(arguments.dropFirst()))
                let times = try await RawFanOut.measure(options, logger: logger)
                for (index, value) in times.enumerated() { print("raw_ms run=\(index + 1) value=\(formatted(value))") }
                print("raw_median_ms=\(formatted(median(times)))")
            case "raw-count":
                try await RawCount.measure(try RawCount.Options(parsing: Array(arguments.dropFirst())), logger: logger)
            default:
                throw UsageError("unknown subcommand '\(arguments[0])'")
            }
        } catch let error as UsageError {
            if error.helpRequested {
                print(usage)
                exit(0)
            }
            FileHandle.standardError.write(Data("error: \(error.message)\n\n\(usage)\n".utf8))
            exit(64)
        } catch {
            FileHandle.standardError.write(Data("error: \(arguments[0]): \(error)\n".utf8))
            exit(1)
        }
    }
}

struct UsageError: Error {
    var message: String
    var helpRequested = false
    init(_ message: String, helpRequested: Bool = false) {
        self.message = message
        self.helpRequested = helpRequested
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
