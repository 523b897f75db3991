import Foundation
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance 2 of issue 13: lines appended to a watched file on `role=web` nodes appear in
/// `shoal logs -f -s role=web --grep ERROR` within a second, prefixed with their node;
/// lines of other nodes, or not matching, do not; a rotation loses and repeats no line.
@Suite(.serialized) struct LogFollowTests {
    @Test func followedLinesArriveWithinASecondFilteredAndThroughARotation() async throws {
        try await withFleet(agents: [:]) { fleet in
            let logs = fleet.home + "/logs"
            try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
            let nodes = ["web-1": ["role": "web"], "web-2": ["role": "web"], "db-1": ["role": "db"]]
            var files: [String: AppendingFile] = [:]
            for (node, labels) in nodes.sorted(by: { $0.key < $1.key }) {
                let path = "\(logs)/\(node).log"
                files[node] = try AppendingFile(path, create: true)
                try fleet.startAgent(node, labels: labels, arguments: ["--log-file", path])
            }
            try await fleet.waitOnline(Set(nodes.keys))
            let opened = files
            try await fleet.shoalStreaming(["logs", "-f", "-s", "role=web", "--grep", "ERROR"]) { output in
                // One bound for the whole conversation: the iterator cannot cross into a task per wait.
                try await withTimeout(.seconds(120), "the shoal logs -f conversation") {
                    try await Self.converse(output, files: opened, logs: logs, fleet: fleet)
                }
            }
        }
    }

    private static func converse(
        _ output: AsyncStream<(line: String, at: Double)>, files: [String: AppendingFile], logs: String, fleet: Fleet
    ) async throws {
        var lines = output.makeAsyncIterator()
        var printed: [String] = []
        /// Reads the CLI's output until `line`; returns when it arrived.
        func awaitLine(_ line: String) async throws -> Double {
            while let next = await lines.next() {
                printed.append(next.line)
                if next.line == line { return next.at }
            }
            throw TimeoutError(description: "shoal logs ended before '\(line)'; it printed \(printed)")
        }
        // Once a first line is printed the follower is subscribed (it subscribes before reading).
        try files["web-1"]!.append("ERROR warm-up")
        _ = try await awaitLine("web-1 | ERROR warm-up")

        var latencies: [Double] = []
        for round in 1...10 {
            try files["db-1"]!.append("ERROR db-1 \(round)")
            try files["web-2"]!.append("INFO web-2 \(round)")
            let node = round % 2 == 0 ? "web-2" : "web-1"
            let written = Date().timeIntervalSince1970
            try files[node]!.append("ERROR \(node) \(round)")
            latencies.append(try await awaitLine("\(node) | ERROR \(node) \(round)") - written)
        }
        #expect(latencies.allSatisfy { $0 < 1.0 }, "latencies: \(latencies)")

        // Rotation: lines before, a line the writer adds to the renamed file before it
        // reopens, then lines in the new file.
        let web2 = "\(logs)/web-2.log"
        for n in 1...5 { try files["web-2"]!.append("ERROR rotate \(n)") }
        try FileManager.default.moveItem(atPath: web2, toPath: web2 + ".1")
        try files["web-2"]!.append("ERROR rotate 6")
        let reopened = try AppendingFile(web2, create: true)
        for n in 7...10 { try reopened.append("ERROR rotate \(n)") }
        _ = try await awaitLine("web-2 | ERROR rotate 10")

        // db-1's lines are stored (so their events were published before the last line's):
        // nothing of theirs, nor any INFO line, was printed.
        let stored = try await fleet.client { client in
            try await storedLogs(client, node: "db-1") { $0.count >= 10 }
        }
        #expect(stored.count == 10)
        try files["web-1"]!.append("ERROR last")
        _ = try await awaitLine("web-1 | ERROR last")
        let expected = ["web-1 | ERROR warm-up"]
            + (1...10).map { round in
                let node = round % 2 == 0 ? "web-2" : "web-1"
                return "\(node) | ERROR \(node) \(round)"
            }
            + (1...10).map { "web-2 | ERROR rotate \($0)" } + ["web-1 | ERROR last"]
        #expect(printed == expected)
    }
}

/// Flags of `shoal logs` and the agent's log flags are checked where they enter: a usage
/// error (exit 64) that names the flag, before anything is sent.
@Suite struct LogFlagTests {
    @Test(arguments: [
        (["logs", "--grep", "("], "--grep"),
        (["logs", "--since", "1e300s"], "--since"),
        (["logs", "--source", ""], "--source"),
        (["logs", "-s", "role=("], "selector"),
        (["logs", "-o", "yaml"], "-o yaml"),
        (["agent", "--log-rate", "0"], "--log-rate"),
        (["agent", "--log-rate", "1e300"], "--log-rate"),
        (["agent", "--log-outbox-kib", "1"], "--log-outbox-kib"),
        (["agent", "--log-outbox-kib", "9223372036854775807"], "--log-outbox-kib"),
        (["agent", "--log-file", ""], "--log-file"),
        (["dispatcher", "--keep-log-mib", "0"], "--keep-log-mib"),
        (["dispatcher", "--keep-logs", "-1s"], "--keep-logs"),
    ])
    func badFlagsAreUsageErrors(arguments: [String], flag: String) async throws {
        // Nothing listens there: validation must fail before any connection.
        let result = try await ShoalBinary.run(arguments, broker: BrokerAddress(host: "127.0.0.1", port: 9), home: "/nonexistent")
        #expect(result.exitCode == 64, "\(arguments): \(result.stderr)")
        #expect(result.stderr.contains(flag), "\(arguments): \(result.stderr)")
    }
}
