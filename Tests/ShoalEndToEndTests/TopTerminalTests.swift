import Foundation
import ShoalCore
import ShoalTestSupport
import Testing

/// Issue 13, acceptance 4: `shoal top` in a real terminal (tmux), read back with
/// capture-pane: it lists the nodes with their metrics, redraws, and follows a key.
@Suite(.serialized) struct TopTerminalTests {
    @Test func topRefreshesInATmuxPaneAndSortsOnAKey() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            print("SKIP topRefreshesInATmuxPaneAndSortsOnAKey: tmux is not installed (scripts/lib/common.sh installs it)")
            return
        }
        try await withFleet(agents: [:]) { fleet in
            try await TelemetryTests.startReportingAgents(fleet, ["t1", "t2"])
            try await withTemporaryDirectory("shoal-tmux") { directory in
                let socket = directory + "/tmux.sock"
                func tmux(_ arguments: String...) async throws -> String {
                    let result = try await TelemetryTests.run(["/usr/bin/tmux", "-S", socket] + arguments)
                    return result.output
                }
                defer { _ = try? Process.run(URL(fileURLWithPath: "/usr/bin/tmux"), arguments: ["-S", socket, "kill-server"]).waitUntilExit() }
                _ = try await tmux("new-session", "-d", "-x", "120", "-y", "30",
                                   "-e", "SHOAL_BROKER=\(fleet.address)", "-e", "SHOAL_HOME=\(fleet.home)",
                                   "\(ShoalBinary.path) top --interval 500ms")
                // Frames come every 500 ms: read the pane until one shows what is awaited
                // (bounded by the timeout; tmux has no event for "the pane changed").
                func awaitPane(_ what: String, _ holds: @escaping @Sendable (String) -> Bool) async throws -> String {
                    try await withTimeout(.seconds(20), what) {
                        while true {
                            let pane = try await TelemetryTests.run(["/usr/bin/tmux", "-S", socket, "capture-pane", "-p"]).output
                            if holds(pane) { return pane }
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }
                }
                let first = try await awaitPane("a frame with both nodes and their CPU") { pane in
                    pane.contains("shoal top — 2 nodes, 2 online") && pane.contains("CPU▼")
                        && ["t1", "t2"].allSatisfy { node in
                            pane.split(separator: "\n").contains { $0.hasPrefix(node) && $0.contains("%") }
                        }
                }
                // Redrawn: the SEEN column (heartbeats every second) changes between frames.
                _ = try await awaitPane("a different frame") { $0.contains("shoal top") && $0 != first }
                _ = try await tmux("send-keys", "n")
                let byName = try await awaitPane("sorted by name") { $0.contains("sorted by NODE") && $0.contains("NODE▼") }
                let rows = byName.split(separator: "\n").filter { $0.hasPrefix("t1") || $0.hasPrefix("t2") }
                #expect(rows.map { $0.prefix(2) } == ["t1", "t2"])
                _ = try await tmux("send-keys", "q")
                try await withTimeout(.seconds(10), "top quits on q") {
                    while try await TelemetryTests.run(["/usr/bin/tmux", "-S", socket, "has-session"]).status == 0 {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
        }
    }
}
