import Foundation
import ShoalSimulator
import Spawn
import Synchronization
import UnixSignals

/// The `shoal simulate` process itself: starts the workers, shows their progress, forwards
/// SIGTERM/SIGINT to them and waits for them to stop.
public struct SimulationSupervisor: Sendable {
    /// What to run: `total` agents in workers of at most `perProcess` each, every worker the
    /// current executable with `workerArguments` plus its shard.
    public struct Plan: Sendable {
        public var total: Int
        public var perProcess: Int
        public var workerArguments: [String]
        public var broker: String
        public var maxConnecting: Int

        public init(total: Int, perProcess: Int, workerArguments: [String], broker: String, maxConnecting: Int) {
            self.total = total
            self.perProcess = perProcess
            self.workerArguments = workerArguments
            self.broker = broker
            self.maxConnecting = maxConnecting
        }
    }

    /// Why the simulation ended other than by a signal; its description is for the user.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let plan: Plan
    /// A line for the person watching (stderr in the CLI).
    public let say: @Sendable (String) -> Void

    public init(plan: Plan, say: @escaping @Sendable (String) -> Void) {
        self.plan = plan
        self.say = say
    }

    private struct Worker {
        var first: Int
        var count: Int
        var process: ChildProcess
        var connected = 0
        var exited = false
    }

    private enum Event: Sendable {
        case report(worker: Int, FleetProgress)
        case log(worker: Int, String)
        case exited(worker: Int, ChildProcess.Termination)
        case signal
        case showProgress
    }

    public func run() async throws(Failure) {
        let total = plan.total
        let shards = stride(from: 1, through: total, by: plan.perProcess).map { ($0, min(plan.perProcess, total - $0 + 1)) }
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let broker = plan.broker
        // The workers share the broker's listen backlog.
        let connecting = max(1, plan.maxConnecting / shards.count)

        var workers: [Worker] = []
        for (index, shard) in shards.enumerated() {
            let arguments = [executable] + plan.workerArguments + [
                "--first", String(shard.0), "--count", String(shard.1), "--broker", broker,
                "--max-connecting", String(connecting),
            ]
            let lines = LineSplitter()
            do {
                let process = try ChildProcess.spawn(
                    .init(arguments: arguments),
                    onOutput: { stream, bytes in
                        for line in lines.append(stream, bytes) {
                            if stream == .stdout, let report = FleetProgress(reportLine: line) {
                                sink.yield(.report(worker: index, report))
                            } else {
                                sink.yield(.log(worker: index, line))
                            }
                        }
                    },
                    onExit: { termination in sink.yield(.exited(worker: index, termination)) })
                workers.append(Worker(first: shard.0, count: shard.1, process: process))
            } catch {
                await ChildProcess.terminate(workers.map(\.process), grace: .seconds(15))
                throw Failure(description: "cannot start a simulator worker: \(error)")
            }
        }
        say("simulating \(total) agents in \(workers.count) worker process(es) against \(broker)")

        var failure: String?
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals { sink.yield(.signal) }
            }
            var progress = ProgressLine(total: total, say: say)
            var stopping = false
            for await event in events {
                switch event {
                case .report(let index, let report):
                    workers[index].connected = report.connected
                    // While stopping, the count only falls: not worth showing.
                    if !stopping, progress.update(workers.reduce(0) { $0 + $1.connected }) {
                        group.addTask {
                            // A throttle for the display only: shows the latest count a moment later.
                            try? await Task.sleep(for: ProgressLine.interval)
                            sink.yield(.showProgress)
                        }
                    }
                case .showProgress:
                    if !stopping { progress.showPending() }
                case .log(let index, let line):
                    say("[worker \(index + 1)] \(line)")
                case .exited(let index, let termination):
                    workers[index].exited = true
                    workers[index].connected = 0
                    if !stopping {
                        let worker = workers[index]
                        failure = "worker \(index + 1) (agents \(worker.first)–\(worker.first + worker.count - 1)) "
                            + "stopped on its own (exit code \(termination.exitCode))"
                        stopping = true
                        let running = workers.filter { !$0.exited }.map(\.process)
                        group.addTask { await ChildProcess.terminate(running, grace: .seconds(15)) }
                    }
                case .signal:
                    guard !stopping else { continue }
                    stopping = true
                    say("stopping \(total) simulated agents…")
                    let running = workers.filter { !$0.exited }.map(\.process)
                    group.addTask { await ChildProcess.terminate(running, grace: .seconds(15)) }
                }
                if workers.allSatisfy(\.exited) { break }
            }
            group.cancelAll()
        }
        if let failure { throw Failure(description: failure) }
        say("stopped")
    }
}

/// "connected X/N" on stderr at most once per `interval`, and "ready: N agents connected"
/// on stdout the first time all are.
private struct ProgressLine {
    static let interval: Duration = .seconds(1)
    let total: Int
    let say: @Sendable (String) -> Void
    private var latest = 0
    private var shown: Int?
    private var lastShown = ContinuousClock.now - .seconds(60)
    private var pending = false
    private var ready = false

    init(total: Int, say: @escaping @Sendable (String) -> Void) {
        self.total = total
        self.say = say
    }

    /// Takes a new count; returns true when it had to hold it back and wants a later
    /// `showPending()`.
    mutating func update(_ connected: Int) -> Bool {
        latest = connected
        let now = ContinuousClock.now
        if connected == total || now - lastShown >= Self.interval {
            show()
            return false
        }
        defer { pending = true }
        return !pending
    }

    mutating func showPending() {
        pending = false
        show()
    }

    private mutating func show() {
        guard latest != shown else { return }
        shown = latest
        lastShown = .now
        say("connected \(latest)/\(total)")
        if latest == total && !ready {
            ready = true
            FileHandle.standardOutput.write(Data("ready: \(total) agents connected\n".utf8))
        }
    }
}

/// Splits a child's output into lines, per stream. Thread-safe (the reaper thread calls it).
private final class LineSplitter: Sendable {
    private let partial = Mutex<[ChildProcess.Stream: [UInt8]]>([:])

    func append(_ stream: ChildProcess.Stream, _ bytes: [UInt8]) -> [String] {
        partial.withLock { partial in
            var buffer = partial[stream, default: []] + bytes
            var lines: [String] = []
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: buffer[..<newline], as: UTF8.self))
                buffer.removeSubrange(...newline)
            }
            partial[stream] = buffer
            return lines
        }
    }
}
