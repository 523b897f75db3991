import Foundation
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance 3 of issue 13: agents cut off from the broker for 30 s while their files
/// grow. After reconnecting every line arrives once and in order; past a small outbox cap
/// the number dropped is reported, and `shoal logs` prints it.
@Suite(.serialized) struct LogOutageTests {
    @Test func linesWrittenDuringAnOutageArriveOnceInOrderOrAreReportedDropped() async throws {
        try await withFleet(agents: [:]) { fleet in
            let logs = fleet.home + "/logs"
            try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
            // node-01 keeps everything (1 MiB outbox); node-02 only 4 KiB of it.
            let outboxes = ["node-01": "1024", "node-02": "4"]
            for (node, kib) in outboxes.sorted(by: { $0.key < $1.key }) {
                _ = FileManager.default.createFile(atPath: "\(logs)/\(node).log", contents: nil)
                try fleet.startAgent(node, labels: ["role": "worker"],
                                     arguments: ["--log-file", "\(logs)/\(node).log", "--log-outbox-kib", kib])
            }
            try await fleet.waitOnline(Set(outboxes.keys))
            let files = try outboxes.keys.map { try AppendingFile("\(logs)/\($0).log") }
            let total = 600

            await fleet.broker.stop()
            // 30 s without a broker, the files growing all along (20 lines a second each).
            let outage = ContinuousClock.now
            for n in 1...total {
                for file in files { try file.append("line \(n) " + String(repeating: "x", count: 40)) }
                // Pacing the writer, not synchronisation: the files grow through the outage.
                try await Task.sleep(until: outage + .milliseconds(50 * n))
            }
            let restarted = try await restart(fleet.broker)
            do {
                try await fleet.client { client in
                    // node-01: every line, once, in order.
                    let all = try await storedLogs(client, node: "node-01", within: .seconds(60)) { $0.count >= total }
                    #expect(all.allSatisfy { $0.dropped == nil })
                    #expect(all.map(\.text) == (1...total).map { "line \($0) " + String(repeating: "x", count: 40) })
                    #expect(zip(all, all.dropFirst()).allSatisfy { $0.seq + 1 == $1.seq })

                    // node-02: the lines it kept, and notes for all the others.
                    let kept = try await storedLogs(client, node: "node-02", within: .seconds(60)) { entries in
                        entries.reduce(0) { $0 + Int($1.dropped ?? 1) } >= total
                    }
                    let drops = kept.filter { $0.dropped != nil }
                    #expect(!drops.isEmpty && drops.allSatisfy { $0.reason == .outboxFull })
                    #expect(kept.reduce(0) { $0 + Int($1.dropped ?? 1) } == total, "every line is stored or counted, once")
                    let lines = kept.filter { $0.dropped == nil }.map(\.text)
                    #expect(lines.last == "line \(total) " + String(repeating: "x", count: 40), "the newest lines are kept")
                }
                let shown = try await fleet.shoal("logs", "-s", "name=node-02", "--since", "10m")
                #expect(shown.exitCode == 0, "\(shown.stderr)")
                #expect(shown.stdout.split(separator: "\n").contains { $0.hasPrefix("node-02: ") && $0.contains(" lines dropped (outbox full)") },
                        "\(shown.stdout.prefix(2000))")
            } catch {
                await fleet.stopAll()
                await restarted.stop()
                throw error
            }
            await fleet.stopAll()
            await restarted.stop()
        }
    }

    /// The position kept in the data directory: an agent killed (SIGKILL) while its file
    /// grows, and started again, ships every line once and in order.
    @Test func anAgentKilledAndRestartedResumesWhereItWas() async throws {
        try await withFleet(agents: [:]) { fleet in
            let path = fleet.home + "/app.log"
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            try fleet.startAgent("restarted", labels: ["role": "worker"], arguments: ["--log-file", path])
            try await fleet.waitOnline(["restarted"])
            let file = try AppendingFile(path)
            for n in 1...50 { try file.append("line \(n)") }
            try await fleet.client { client in
                _ = try await storedLogs(client, node: "restarted") { $0.count >= 50 }
            }
            // Killed while lines keep coming: some are read but not yet acknowledged.
            for n in 51...80 { try file.append("line \(n)") }
            await fleet.agents["restarted"]!.crash()
            for n in 81...100 { try file.append("line \(n)") }
            try fleet.restartAgent("restarted")
            for n in 101...120 { try file.append("line \(n)") }
            let entries = try await fleet.client { client in
                try await storedLogs(client, node: "restarted", within: .seconds(30)) { $0.count >= 120 }
            }
            #expect(entries.map(\.text) == (1...120).map { "line \($0)" })
            #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.seq + 1 == $1.seq })
        }
    }

    /// The broker's PUBACK is not the dispatcher's: a broker restarted without its sessions
    /// (persistence file lost) drops what arrives before the dispatcher has subscribed
    /// again. The agent keeps each batch until the dispatcher says it is stored.
    @Test func linesSurviveABrokerThatLostItsSessions() async throws {
        try await withFleet(agents: [:]) { fleet in
            let path = fleet.home + "/app.log"
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            try fleet.startAgent("amnesia", labels: ["role": "worker"], arguments: ["--log-file", path])
            try await fleet.waitOnline(["amnesia"])
            let file = try AppendingFile(path)
            for n in 1...20 { try file.append("line \(n)") }
            try await fleet.client { client in
                _ = try await storedLogs(client, node: "amnesia") { $0.count >= 20 }
            }
            await fleet.broker.stop()
            try? FileManager.default.removeItem(atPath: fleet.broker.configuration.directory + "/mosquitto.db")
            for n in 21...60 { try file.append("line \(n)") }
            let restarted = try await restart(fleet.broker)
            do {
                for n in 61...80 { try file.append("line \(n)") }
                // The dispatcher's subscriptions went with the sessions: it makes them again on reconnect.
                try await fleet.waitForDispatcher()
                let entries = try await fleet.client { client in
                    try await storedLogs(client, node: "amnesia", within: .seconds(60)) { $0.count >= 80 }
                }
                #expect(entries.map(\.text) == (1...80).map { "line \($0)" })
            } catch {
                await fleet.stopAll()
                await restarted.stop()
                throw error
            }
            await fleet.stopAll()
            await restarted.stop()
        }
    }
}
