import Foundation
import Glibc
import ShoalTestSupport
import Spawn
import Synchronization
import Testing

/// A job's whole process tree in one cgroup: what `setsid` takes out of the process group
/// still dies with the job. Skipped where no cgroup can be made (the agent then says so in
/// the execution's note).
@Suite("Process cgroup")
struct ProcessCgroupTests {
    private static func alive(_ pid: pid_t) -> Bool {
        // A zombie still answers kill(0): look at its state as well.
        guard kill(pid, 0) == 0 else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !(stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true)
    }

    @Test func aSetsidChildDiesWhenTheJobEnds() async throws {
        guard let cgroup = ProcessCgroup.create(name: "shoal-test-\(getpid())-exit") else { return }
        defer { _ = cgroup.remove() }
        let printed = Signal()
        let output = OutputText()
        let process = try ChildProcess.spawn(
            .init(arguments: ["/bin/sh", "-c", "setsid sleep 60 & echo $!"], cgroup: cgroup),
            onOutput: { _, bytes in
                output.append(bytes)
                printed.fire()
            })
        let termination = try await withTimeout(.seconds(10), "the job") { await process.wait() }
        #expect(termination == .exited(0))
        try await withTimeout(.seconds(5), "the pid") { await printed.wait() }
        let escaped = try #require(pid_t(output.text.trimmingCharacters(in: .whitespacesAndNewlines)))
        try await withTimeout(.seconds(5), "the setsid child to die") {
            while Self.alive(escaped) { try? await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(!Self.alive(escaped))
    }

    @Test func killIfRunningEndsAChattySetsidTree() async throws {
        guard let cgroup = ProcessCgroup.create(name: "shoal-test-\(getpid())-kill") else { return }
        defer { _ = cgroup.remove() }
        // `yes` outlives its parent's process group and keeps the pipe busy.
        let process = try ChildProcess.spawn(
            .init(arguments: ["/bin/sh", "-c", "setsid yes > /dev/null & setsid yes; sleep 60"], cgroup: cgroup))
        try await withTimeout(.seconds(5), "the tree to start") {
            while cgroup.members().count < 3 { try? await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(process.killIfRunning(cgroup: cgroup))
        let termination = try await withTimeout(.seconds(10), "the killed job") { await process.wait() }
        #expect(termination == .signaled(SIGKILL))
        try await withTimeout(.seconds(5), "the cgroup to empty") {
            while !cgroup.members().isEmpty { try? await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(!process.killIfRunning(cgroup: cgroup))
    }
}

private final class OutputText: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    func append(_ more: [UInt8]) { bytes.withLock { $0 += more } }
    var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }
}
