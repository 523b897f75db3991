import Foundation
import Glibc
import Mosquitto
import Spawn
import Synchronization

/// The built `shoal` binary, and helpers to run its agents and dispatchers as real
/// processes (so that tests can kill them with SIGKILL).
public enum ShoalBinary {
    /// `SHOAL_BINARY`, else `.build/debug/shoal` in this package.
    public static var path: String {
        if let path = ProcessInfo.processInfo.environment["SHOAL_BINARY"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        for candidate in [".build/debug/shoal", ".build/release/shoal", ".build/x86_64-unknown-linux-gnu/debug/shoal"]
        where FileManager.default.isExecutableFile(atPath: root + "/" + candidate) {
            return root + "/" + candidate
        }
        return root + "/.build/debug/shoal"
    }

    /// The standalone agent (`shoal-agent`), built next to `shoal`.
    public static var agentPath: String {
        URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("shoal-agent").path
    }

    /// Runs the CLI to completion and returns its exit code and output.
    public static func run(_ arguments: [String], broker: BrokerAddress, home: String) async throws -> CommandResult {
        let output = OutputCollector()
        let process = try ChildProcess.spawn(
            .init(arguments: [path] + arguments, environment: ["SHOAL_BROKER": broker.description, "SHOAL_HOME": home]),
            onOutput: { stream, bytes in output.append(stream, bytes) })
        let termination = await process.wait()
        return CommandResult(exitCode: termination.exitCode, stdout: output.text(.stdout), stderr: output.text(.stderr))
    }
}

public struct CommandResult: Sendable {
    public let exitCode: Int32
    public let stdout: String
    public let stderr: String
}

/// A long-running `shoal agent` or `shoal dispatcher` child process.
public final class ShoalProcess: Sendable {
    public let name: String
    public let process: ChildProcess
    private let output: OutputCollector

    private init(name: String, process: ChildProcess, output: OutputCollector) {
        self.name = name
        self.process = process
        self.output = output
    }

    public static func start(
        _ name: String, _ arguments: [String], broker: BrokerAddress, home: String, executable: String = ShoalBinary.path
    ) throws -> ShoalProcess {
        let output = OutputCollector()
        let process = try ChildProcess.spawn(
            .init(arguments: [executable] + arguments,
                  environment: ["SHOAL_BROKER": broker.description, "SHOAL_HOME": home]),
            onOutput: { stream, bytes in output.append(stream, bytes) })
        return ShoalProcess(name: name, process: process, output: output)
    }

    /// `shoal agent`, or with `standalone` the `shoal-agent` binary (same agent, same flags).
    /// Test agents run on the test machine itself: unless a test gives its own (inside a
    /// network namespace), their isolation action only leaves a mark in their data directory,
    /// never changes this machine's network rules.
    public static func agent(_ id: String, labels: [String: String], broker: BrokerAddress, home: String,
                             heartbeat: String = "1s", standalone: Bool = false,
                             isolateCommand: String? = nil, releaseCommand: String? = nil,
                             metricsInterval: String = "off", arguments extra: [String] = []) throws -> ShoalProcess {
        let labelArguments = labels.sorted { $0.key < $1.key }.flatMap { ["--label", "\($0.key)=\($0.value)"] }
        let data = home + "/agents/\(id)"
        let arguments = ["--id", id, "--data-dir", data, "--heartbeat", heartbeat,
                         "--log-level", "debug",
                         "--isolate-command", isolateCommand ?? "touch '\(data)/isolated'",
                         "--release-command", releaseCommand ?? "rm -f '\(data)/isolated'",
                         // Off unless a test is about metrics: replies stay as the tests expect them.
                         "--metrics-interval", metricsInterval] + labelArguments + extra
        if standalone {
            return try start(id, arguments, broker: broker, home: home, executable: ShoalBinary.agentPath)
        }
        return try start(id, ["agent"] + arguments, broker: broker, home: home)
    }

    public static func dispatcher(broker: BrokerAddress, home: String, arguments: [String] = []) throws -> ShoalProcess {
        try start("dispatcher", ["dispatcher", "--db", home + "/shoal.db", "--log-level", "debug"] + arguments,
                  broker: broker, home: home)
    }

    /// Everything the process wrote to stderr (its log).
    public var log: String { output.text(.stderr) }

    /// SIGTERM, then waits for the exit.
    public func stop() async {
        process.kill(SIGTERM)
        _ = await process.wait()
    }

    /// SIGKILL: a crash, as far as everyone else can tell.
    public func crash() async {
        process.kill(SIGKILL)
        _ = await process.wait()
    }
}

/// Collects a child's output, bounded, for assertions and failure messages.
final class OutputCollector: Sendable {
    private let buffers = Mutex<[ChildProcess.Stream: [UInt8]]>([:])

    func append(_ stream: ChildProcess.Stream, _ bytes: [UInt8]) {
        buffers.withLock { buffers in
            if buffers[stream, default: []].count < 4 << 20 { buffers[stream, default: []] += bytes }
        }
    }

    func text(_ stream: ChildProcess.Stream) -> String {
        String(decoding: buffers.withLock { $0[stream] ?? [] }, as: UTF8.self)
    }
}

/// Stops every process on every exit path of `body`.
public func withProcesses<Result>(_ body: (inout [ShoalProcess]) async throws -> Result) async throws -> Result {
    var processes: [ShoalProcess] = []
    do {
        let result = try await body(&processes)
        for process in processes { await process.stop() }
        return result
    } catch {
        for process in processes { await process.stop() }
        throw error
    }
}
