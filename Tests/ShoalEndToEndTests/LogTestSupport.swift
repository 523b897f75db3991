import Foundation
import ShoalClient
import ShoalCore
import ShoalTestSupport

/// A file a test appends whole lines to, as a logging program would: one write per line.
final class AppendingFile: Sendable {
    private let handle: FileHandle

    init(_ path: String, create: Bool = false) throws {
        if create { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    func append(_ line: String) throws {
        try handle.write(contentsOf: Data((line + "\n").utf8))
    }
}

/// A node's stored log entries (lines and drop notes), in the order `logs.query` gives,
/// once `done` accepts them: read once, then again at each of the node's log events (never
/// polled), each entry once.
func storedLogs(
    _ client: DispatcherClient, node: String, within limit: Duration = .seconds(20),
    until done: @escaping @Sendable ([LogEntryView]) -> Bool
) async throws -> [LogEntryView] {
    try await client.followLogs()
    return try await withTimeout(limit, "\(node)'s stored log lines") {
        var events = client.logEvents.makeAsyncIterator()
        while true {
            let entries = try await queryAll(client, selector: "name=\(node)")
            if done(entries) { return entries }
            // Something new for this node is stored: read again.
            while true {
                guard let event = await events.next() else { throw TimeoutError(description: "the client closed") }
                if event.node == node { break }
            }
        }
    }
}

func queryAll(_ client: DispatcherClient, selector: String) async throws -> [LogEntryView] {
    var request = LogQueryRequest(selector: selector, limit: 5_000)
    var entries: [LogEntryView] = []
    while true {
        let page = try await client.request(.queryLogs, request, as: LogPage.self)
        entries += page.entries
        guard let next = page.next else { return entries }
        request.after = next
    }
}
