import Foundation
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance (issue 11, 8): every operator action has its audit entry with who did it,
/// through the CLI as an operator uses it; the record survives a dispatcher restart.
@Suite struct AuditTests {
    @Test func everyActionIsRecordedWithItsActor() async throws {
        try await withFleet(agents: ["a1": ["role": "audit"], "a2": ["role": "audit"]]) { fleet in
            func shoal(_ arguments: String...) async throws -> CommandResult {
                let result = try await ShoalBinary.run(arguments, broker: fleet.address, home: fleet.home)
                #expect(result.exitCode == 0, "shoal \(arguments.joined(separator: " ")): \(result.stderr)")
                return result
            }
            _ = try await shoal("run", "-s", "role=audit", "--id", "audit-run", "--", "true")
            _ = try await shoal("run", "-s", "role=audit", "--id", "audit-long", "--detach", "--", "sleep", "300")
            _ = try await shoal("jobs", "cancel", "audit-long")
            _ = try await shoal("nodes", "cordon", "a1")
            _ = try await shoal("nodes", "uncordon", "a1")
            _ = try await shoal("nodes", "quarantine", "a1")
            _ = try await shoal("nodes", "release", "a1")
            _ = try await shoal("nodes", "label", "a1", "tier=gold", "role-")
            await fleet.agents["a2"]!.stop()
            try await fleet.waitOffline(["a2"])
            _ = try await shoal("nodes", "forget", "a2")
            // Durable: read by a dispatcher started afterwards.
            await fleet.dispatcher.stop()
            try fleet.restartDispatcher()
            try await fleet.waitForDispatcher()

            let listed = try await shoal("audit", "-o", "json")
            let entries = try decodeJSON([AuditEntry].self, listed.stdout)
            #expect(entries.map(\.action) == ["submit", "submit", "cancel", "cordon", "uncordon", "quarantine", "release", "label", "forget"])
            #expect(entries.map(\.target) == ["audit-run", "audit-long", "audit-long", "a1", "a1", "a1", "a1", "a1", "a2"])
            #expect(entries.map(\.seq) == Array(1...9))
            let host = ProcessInfo.processInfo.hostName
            for entry in entries {
                #expect(entry.actor?.hasSuffix("@" + host) == true, "\(entry)")
            }
            #expect(entries.first { $0.action == "label" }?.detail == "tier=gold role-")
            // --since leaves out what came before; csv and table render.
            let none = try await shoal("audit", "--since", "1ms", "-o", "json")
            #expect(try decodeJSON([AuditEntry].self, none.stdout).isEmpty)
            let csv = try await shoal("audit", "-o", "csv", "--limit", "2")
            #expect(csv.stdout.split(separator: "\n").count == 3 && csv.stdout.contains("forget"))
        }
    }

    @Test func anActorIsCheckedWhereItEnters() async throws {
        try await withFleet(agents: [:]) { fleet in
            try await fleet.client { client in
                for (actor, problem) in [("", "is empty"), (String(repeating: "a", count: 257), "over the limit"),
                                         ("me\nforged", "control character"), ("me\u{0}", "NUL")] {
                    do {
                        _ = try await client.request(.submitJob, SubmitJobRequest(
                            selector: "role=none", task: .exec(["true"]), actor: actor), as: JobDetail.self,
                            userProperties: [ContractRecording.offContract])
                        Issue.record("accepted actor \(actor.debugDescription)")
                    } catch let failure as DispatcherClient.Failure {
                        #expect(failure.description.hasPrefix("actor: ") && failure.description.contains(problem), "\(failure)")
                    }
                }
                for (since, limit) in [(-1.0, 1), (1e300, 1), (0, 0), (0, 1001)] {
                    do {
                        _ = try await client.request(.listAudit, ListAuditRequest(since: since, limit: limit), as: [AuditEntry].self,
                                                     userProperties: [ContractRecording.offContract])
                        Issue.record("accepted since \(since) limit \(limit)")
                    } catch let failure as DispatcherClient.Failure {
                        #expect(failure.description.hasPrefix("since: ") || failure.description.hasPrefix("limit: "), "\(failure)")
                    }
                }
                #expect(try await client.request(.listAudit, ListAuditRequest(), as: [AuditEntry].self).isEmpty)
            }
        }
    }
}

/// The new flags and arguments are checked before anything is sent: a usage error (64)
/// that names what is wrong, never a crash.
@Suite struct IncidentCommandLineTests {
    @Test func hostileFlagsAreUsageErrors() async throws {
        try await withTemporaryDirectory("shoal-cli") { home in
            let nowhere = BrokerAddress(host: "127.0.0.1", port: 1)
            for arguments in [
                ["audit", "--since", "1e300"], ["audit", "--since", "-1s"], ["audit", "--since", "0x10"],
                ["audit", "--limit", "0"], ["audit", "--limit", "1001"], ["audit", "--limit", "9223372036854775808"],
                ["jobs", "cancel", "a/b"], ["jobs", "cancel", ""], ["jobs", "cancel", "j", "--node", "a/b"],
                ["jobs", "logs", "x#y"],
                ["nodes", "cordon", "a+b"], ["nodes", "quarantine", ""], ["nodes", "release", "a/b"],
                ["nodes", "label", "n"], ["nodes", "label", "n", "bare"], ["nodes", "label", "n", "-"],
                ["nodes", "label", "n", "k=v", "k-"], ["nodes", "label", "n", "=v"],
                ["nodes", "label", "n", "k=" + String(repeating: "v", count: 2000)],
                ["run", "-f", "--detach", "--all", "--", "true"],
                // (A NUL cannot be passed in argv at all: the kernel ends the argument there.)
                ["agent", "--isolate-command", ""], ["agent", "--release-command", ""],
            ] {
                let result = try await ShoalBinary.run(arguments, broker: nowhere, home: home)
                #expect(result.exitCode == 64, "shoal \(arguments.joined(separator: " ")): \(result.stderr)")
            }
        }
    }
}
