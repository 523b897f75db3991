import Foundation
import Glibc
import ShoalCore
import ShoalTestSupport
import Spawn
import Testing

/// Acceptance (issue 9, true states): where cgroups can be made, what a job starts with
/// `setsid` (leaving its process group) ends with the job, whether the job exits by itself
/// or is killed at its time limit.
@Suite struct JobTreeTests {
    private static var cgroupsHere: Bool {
        guard let probe = ProcessCgroup.create(name: "shoal-probe-\(getpid())") else { return false }
        return probe.remove()
    }

    private static func escapedPid(_ result: CommandResult) throws -> pid_t {
        let detail = try decodeJSON(JobDetail.self, result.stdout)
        let stdout = try #require(detail.executions.first?.stdout)
        return try #require(pid_t(stdout.trimmingCharacters(in: .whitespacesAndNewlines)), "\(stdout)")
    }

    @Test func setsidChildrenDoNotOutliveTheirJob() async throws {
        guard Self.cgroupsHere else { return }
        try await withFleet(agents: ["tree": ["role": "t"]]) { fleet in
            // Ends by itself, leaving a detached sleeper behind.
            let finished = try await fleet.shoal(
                "run", "--all", "-o", "json", "--", "sh", "-c", "setsid sleep 120 > /dev/null 2>&1 & echo $!")
            #expect(finished.exitCode == 0, "\(finished.stderr)")
            let left = try Self.escapedPid(finished)
            try await withTimeout(.seconds(10), "the detached child of a finished job to end") {
                while isAlive(left) { try? await Task.sleep(for: .milliseconds(20)) }
            }

            // Killed at its limit while a detached child keeps running.
            let killed = try await fleet.shoal(
                "run", "--all", "-o", "json", "--timeout", "2s", "--",
                "sh", "-c", "setsid sleep 120 > /dev/null 2>&1 & echo $!; sleep 60")
            let detail = try decodeJSON(JobDetail.self, killed.stdout)
            #expect(detail.executions.first?.state == .timedOut && detail.executions.first?.exitCode == 137)
            let escaped = try Self.escapedPid(killed)
            try await withTimeout(.seconds(10), "the detached child of a killed job to end") {
                while isAlive(escaped) { try? await Task.sleep(for: .milliseconds(20)) }
            }
        }
    }
}
