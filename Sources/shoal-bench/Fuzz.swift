import Foundation
import ShoalCore
import ShoalFuzzing
import Synchronization

/// `shoal-bench fuzz`: acceptance 9 of issue 11. Mutated payloads through every decoder,
/// the signature verifier and the selector parser (`MessageFuzzer`); a crash ends the
/// process (scripts/fuzz reports it), a hang is caught by a watchdog thread that names
/// the payload stuck for longer than `--hang` seconds and exits 1.
enum Fuzz {
    struct Options: Sendable {
        var payloads: Int
        var seed: UInt64
        var hang: Double
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    static func run(_ options: Options) -> Int32 {
        let start = ContinuousClock.now
        // The index of the payload in progress and when it began, for the watchdog.
        let current = InProgress()
        let hangLimit = options.hang
        let watchdog = Thread {
            while true {
                Thread.sleep(forTimeInterval: 0.5)
                let (index, since) = current.state.withLock { $0 }
                if seconds(since: start) - since > hangLimit {
                    FileHandle.standardError.write(Data("error: payload \(index) (seed \(options.seed)) has run for over \(hangLimit) s: a hang\n".utf8))
                    exit(1)
                }
            }
        }
        watchdog.start()
        let fuzzer = MessageFuzzer(seed: options.seed)
        var slow = 0
        let outcome = fuzzer.run(
            count: options.payloads,
            clock: {
                let now = seconds(since: start)
                current.state.withLock { $0.since = now }
                return now
            },
            slowLimit: 0.25,
            onSlowCase: { index, payload, elapsed in
                slow += 1
                FileHandle.standardError.write(Data("slow: payload \(index), \(payload.count) bytes, \(Int(elapsed * 1000)) ms\n".utf8))
            },
            progress: { index in current.state.withLock { $0.index = index } })
        let total = seconds(since: start)
        print("fuzz_seed=\(options.seed)")
        print("fuzz_payloads=\(outcome.payloads)")
        print("fuzz_calls=\(outcome.calls)")
        print("fuzz_decoded=\(outcome.decoded)")
        print("fuzz_verified=\(outcome.verified)")
        print("fuzz_forgeries=\(outcome.forgeries)")
        print("fuzz_selectors_parsed=\(outcome.selectorsParsed)")
        print("fuzz_slow_payloads=\(slow)")
        print("fuzz_slowest_ms=\(formatted(outcome.slowest * 1000)) index=\(outcome.slowestIndex)")
        print("fuzz_seconds=\(formatted(total))")
        return outcome.forgeries == 0 ? 0 : 1
    }
}

/// Shared by the fuzzing loop and its watchdog thread.
private final class InProgress: Sendable {
    let state = Mutex<(index: Int, since: Double)>((0, 0))
}

extension Fuzz.Options {
    init(parsing arguments: [String]) throws(UsageError) {
        let values = try Flags.parse(arguments, allowed: ["payloads", "seed", "hang"])
        self.init(
            payloads: try Flags.integer(values, "payloads", default: 100_000, in: 1...100_000_000),
            seed: UInt64(try Flags.integer(values, "seed", default: 1, in: 0...Int.max)),
            hang: Double(try Flags.integer(values, "hang", default: 10, in: 1...3_600)))
    }
}
