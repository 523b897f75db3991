import Foundation
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
            for (node, labels) in nodes.sorted(by: { $0.key < $1.key }) {
                let path = "\(logs)/\(node).log"
                _ = FileManager.default.createFile(atPath: path, contents: nil)
                try fleet.startAgent(node, labels: labels, arguments: ["--log-file", path])
            }
            try await fleet.waitOnline(Set(nodes.keys))
            let files = Dictionary(uniqueKeysWithValues: nodes.keys.map { ($0, try! AppendingFile("\(logs)/\($0).log")) })

            try await fleet.shoalStreaming(["logs", "-f", "-s", "role=web", "--grep", "ERROR"]) { output in
              // One bound for the whole conversation: the iterator cannot cross into a task per wait.
              try await withTimeout(.seconds(120), "the shoal logs -f conversation") {
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

                // db-1's lines are stored (so their events were published before the last
                // line's): nothing of theirs, nor any INFO line, was printed.
                let stored = try await fleet.client { client in
                    try await storedLogs(client, node: "db-1") { $0.count >= 10 }
                }
                #expect(stored.count == 10)
                try files["web-1"]!.append("ERROR last")
                _ = try await awaitLine("web-1 | ERROR last")
                let expected = ["web-1 | ERROR warm-up"] + (1...10).map { "\($0 % 2 == 0 ? "web-2" : "web-1") | ERROR \($0 % 2 == 0 ? "web-2" : "web-1") \($0)" }
                    + (1...10).map { "web-2 | ERROR rotate \($0)" } + ["web-1 | ERROR last"]
                #expect(printed == expected)
              }
            }
        }
    }
}
