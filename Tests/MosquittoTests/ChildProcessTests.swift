import Foundation
import Glibc
import ShoalTestSupport
import Spawn
import Synchronization
import Testing

/// Collects a child's output per stream; `firstLine` fires once stdout holds a full line.
private final class Output: Sendable {
    private let buffers = Mutex<[ChildProcess.Stream: [UInt8]]>([:])
    let firstLine = Signal()

    func append(_ stream: ChildProcess.Stream, _ bytes: [UInt8]) {
        buffers.withLock { buffers in buffers[stream, default: []] += bytes }
        if stream == .stdout && bytes.contains(UInt8(ascii: "\n")) { firstLine.fire() }
    }

    func bytes(_ stream: ChildProcess.Stream) -> [UInt8] {
        buffers.withLock { $0[stream] ?? [] }
    }

    func text(_ stream: ChildProcess.Stream) -> String {
        String(decoding: bytes(stream), as: UTF8.self)
    }

    /// The pid a script printed on its first line.
    func echoedPID() async throws -> pid_t {
        try await withTimeout(.seconds(10), "the script to print a pid") { [firstLine] in await firstLine.wait() }
        let line = text(.stdout).split(separator: "\n").first.map(String.init) ?? ""
        return try #require(pid_t(line.trimmingCharacters(in: .whitespaces)), "not a pid: '\(line)'")
    }
}

private func run(
    _ arguments: [String], environment: [String: String]? = nil
) async throws -> (ChildProcess.Termination, Output) {
    let output = Output()
    let process = try ChildProcess.spawn(.init(arguments: arguments, environment: environment),
                                         onOutput: { stream, bytes in output.append(stream, bytes) })
    let termination = try await withTimeout(.seconds(10), "\(arguments)") { await process.wait() }
    return (termination, output)
}

/// Gone means no such process, or a zombie nobody will reap (PID 1 of some containers does
/// not reap the orphans it adopts): either way it no longer runs.
private func isGone(_ pid: pid_t) -> Bool {
    if Glibc.kill(pid, 0) != 0 && errno == ESRCH { return true }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let afterName = stat.range(of: ") ", options: .backwards) else { return true }
    let state = stat[afterName.upperBound...].prefix(1)
    return state == "Z" || state == "X"
}

@Suite("Child process")
struct ChildProcessTests {
    @Test func stdoutAndStderrAreCapturedSeparately() async throws {
        let (termination, output) = try await run(
            ["/bin/sh", "-c", "printf out1; printf err1 >&2; printf 'out2\\n'; printf 'err2 é\\n' >&2"])
        #expect(termination == .exited(0))
        #expect(output.text(.stdout) == "out1out2\n")
        #expect(output.text(.stderr) == "err1err2 é\n")
    }

    @Test func largeOutputIsCapturedCompletely() async throws {
        let size = 3 << 20
        let (termination, output) = try await run(["/bin/sh", "-c", "head -c \(size) /dev/zero; head -c 1000 /dev/zero >&2"])
        #expect(termination == .exited(0))
        #expect(output.bytes(.stdout).count == size)
        #expect(output.bytes(.stderr).count == 1000)
    }

    @Test("exit codes", arguments: [Int32(0), 1, 2, 42, 127, 255])
    func exitCodes(code: Int32) async throws {
        let (termination, output) = try await run(["/bin/sh", "-c", "exit \(code)"])
        #expect(termination == .exited(code))
        #expect(termination.exitCode == code)
        #expect(output.bytes(.stdout).isEmpty && output.bytes(.stderr).isEmpty)
    }

    @Test("a killed process reports the signal", arguments: [SIGTERM, SIGKILL, SIGHUP, SIGINT])
    func killedBySignal(signal: Int32) async throws {
        let process = try ChildProcess.spawn(.init(arguments: ["sleep", "1000"]))
        #expect(process.termination == nil)
        process.kill(signal)
        let termination = try await withTimeout(.seconds(10)) { await process.wait() }
        #expect(termination == .signaled(signal))
        #expect(termination.exitCode == 128 + signal)
        #expect(process.termination == termination)
    }

    @Test func aProcessThatSignalsItselfReportsTheSignal() async throws {
        let (termination, _) = try await run(["/bin/sh", "-c", "kill -TERM $$; sleep 1000"])
        #expect(termination == .signaled(SIGTERM))
        #expect(termination.exitCode == 143)
    }

    @Test(
        "a missing executable throws SpawnError",
        arguments: ["/nonexistent/shoal-no-such-binary", "shoal-no-such-command-on-path"]
    )
    func missingExecutable(path: String) {
        let error = #expect(throws: SpawnError.self) { try ChildProcess.spawn(.init(arguments: [path, "x"])) }
        #expect(error?.errno == ENOENT)
        #expect(error?.description.contains(path) == true)
    }

    @Test func aFileThatIsNotExecutableThrowsSpawnError() throws {
        try #require(FileManager.default.fileExists(atPath: "/etc/passwd"))
        let error = #expect(throws: SpawnError.self) { try ChildProcess.spawn(.init(arguments: ["/etc/passwd"])) }
        #expect(error?.errno == EACCES)
    }

    @Test("no command throws SpawnError", arguments: [[String](), [""]])
    func noCommand(arguments: [String]) {
        #expect(throws: SpawnError.self) { try ChildProcess.spawn(.init(arguments: arguments)) }
    }

    @Test func environmentOverridesAreAddedToTheParentEnvironment() async throws {
        let (termination, output) = try await run(
            ["/bin/sh", "-c", #"printf '%s|%s' "$SHOAL_TEST_VALUE" "${PATH:+has-path}""#],
            environment: ["SHOAL_TEST_VALUE": "é x"])
        #expect(termination == .exited(0))
        #expect(output.text(.stdout) == "é x|has-path")
    }

    @Test func stdinIsEmpty() async throws {
        let (termination, output) = try await run(["cat"])
        #expect(termination == .exited(0))
        #expect(output.bytes(.stdout).isEmpty)
    }

    @Test func theChildLeadsItsOwnProcessGroup() async throws {
        let process = try ChildProcess.spawn(.init(arguments: ["sleep", "1000"]))
        #expect(process.processGroup == process.pid)
        #expect(getpgid(process.pid) == process.pid)
        process.kill()
        _ = try await withTimeout(.seconds(10)) { await process.wait() }

        let shared = try ChildProcess.spawn(.init(arguments: ["sleep", "1000"], newProcessGroup: false))
        #expect(shared.processGroup == nil)
        #expect(getpgid(shared.pid) == getpgrp())
        shared.kill()
        #expect(try await withTimeout(.seconds(10)) { await shared.wait() } == .signaled(SIGKILL))
    }

    @Test func killKillsTheWholeProcessGroup() async throws {
        let output = Output()
        let process = try ChildProcess.spawn(
            .init(arguments: ["/bin/sh", "-c", "sleep 1000 & echo $!; wait"]),
            onOutput: { stream, bytes in output.append(stream, bytes) })
        let grandchild = try await output.echoedPID()
        defer { _ = Glibc.kill(grandchild, SIGKILL) }
        #expect(!isGone(grandchild))
        #expect(getpgid(grandchild) == process.pid)

        process.kill()
        let termination = try await withTimeout(.seconds(10)) { await process.wait() }
        #expect(termination == .signaled(SIGKILL))
        // The group's SIGKILL is sent at once, but a loaded machine may take a moment to
        // finish the grandchild after its parent has been reaped.
        try await withTimeout(.seconds(5), "the background sleep to die") {
            while !isGone(grandchild) { try? await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(isGone(grandchild), "the background sleep outlived kill()")
    }

    @Test func waitReturnsWhenTheChildExitsEvenIfAGrandchildKeepsThePipesOpen() async throws {
        let output = Output()
        let process = try ChildProcess.spawn(
            .init(arguments: ["/bin/sh", "-c", "sleep 1000 & echo $!"]),
            onOutput: { stream, bytes in output.append(stream, bytes) })
        let grandchild = try await output.echoedPID()
        defer { _ = Glibc.kill(grandchild, SIGKILL) }
        let termination = try await withTimeout(.seconds(10)) { await process.wait() }
        #expect(termination == .exited(0))
        #expect(!isGone(grandchild), "the grandchild was not meant to be killed")
    }

    @Test func waitAndOnExitAgreeAndRepeat() async throws {
        let exited = Mutex<[ChildProcess.Termination]>([])
        let process = try ChildProcess.spawn(
            .init(arguments: ["/bin/sh", "-c", "exit 7"]),
            onExit: { termination in exited.withLock { $0.append(termination) } })
        let first = try await withTimeout(.seconds(10)) { await process.wait() }
        let second = await process.wait()
        #expect(first == .exited(7))
        #expect(second == first)
        #expect(process.termination == first)
        #expect(exited.withLock { $0 } == [first])
    }

    @Test func outputIsNotCapturedWhenNotAskedFor() async throws {
        let calls = Mutex(0)
        let process = try ChildProcess.spawn(
            .init(arguments: ["/bin/sh", "-c", "exit 3"], captureOutput: false),
            onOutput: { _, _ in calls.withLock { $0 += 1 } })
        #expect(try await withTimeout(.seconds(10)) { await process.wait() } == .exited(3))
        #expect(calls.withLock { $0 } == 0)
    }

    @Test func killAfterExitDoesNothing() async throws {
        let process = try ChildProcess.spawn(.init(arguments: ["true"]))
        #expect(try await withTimeout(.seconds(10)) { await process.wait() } == .exited(0))
        process.kill()
        #expect(process.termination == .exited(0))
    }
}
