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

    /// In a v2 cgroup the child is created inside it (clone3): it is a member before its
    /// first instruction and the command itself is the child, with no joining shell before it.
    @Test func theChildStartsInsideItsCgroupAndIsTheCommandItself() async throws {
        guard let cgroup = ProcessCgroup.create(name: "shoal-test-\(getpid())-clone"), cgroup.kind == .v2 else { return }
        defer { _ = cgroup.remove() }
        #expect(cgroup.takesChildrenAtCreation)
        #expect(throws: SpawnError.self) {
            try ChildProcess.spawn(.init(arguments: ["shoal-no-such-command"], cgroup: cgroup))
        }
        let output = OutputText()
        let process = try ChildProcess.spawn(
            .init(arguments: ["cat", "/proc/self/cgroup", "/proc/self/cmdline"], environment: ["SHOAL_PROBE": "1"], cgroup: cgroup),
            onOutput: { _, bytes in output.append(bytes) })
        #expect(try await withTimeout(.seconds(10), "the child") { await process.wait() } == .exited(0))
        let name = cgroup.path.split(separator: "/").last.map(String.init) ?? ""
        #expect(output.text.split(separator: "\n").contains { $0.hasPrefix("0::") && $0.hasSuffix("/" + name) })
        #expect(output.text.contains("cat\0/proc/self/cgroup\0"))
        #expect(!output.text.contains("/bin/sh"))
        #expect(cgroup.members().isEmpty)

        // A child that leaves nothing behind needs no kill, and the cgroup stays usable.
        #expect(cgroup.takesChildrenAtCreation)
        // Killed once, the cgroup takes the next child through the joining shell: Linux
        // would kill a child created inside it.
        cgroup.killAll()
        #expect(!cgroup.takesChildrenAtCreation)
        let again = try ChildProcess.spawn(.init(arguments: ["true"], cgroup: cgroup))
        #expect(try await withTimeout(.seconds(10), "the second child") { await again.wait() } == .exited(0))
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
