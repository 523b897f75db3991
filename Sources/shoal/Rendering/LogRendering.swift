import Foundation
import ShoalCore
import Synchronization

/// Prints log entries as `shoal logs` shows them, each once. Stored pages do not overlap
/// and are printed whole; a live event's line whose number is not above the highest seen
/// for its node and source was printed already (the dispatcher stores a source's lines in
/// increasing numbers, so anything stored after the pages were read is numbered higher).
/// Stored lines are ordered by the node's clock, which may step back: only live lines are
/// filtered by number. Flushed per line: a follower reads them as they come.
///
/// Thread-safe: entries may come from any task.
final class LogPrinter: Sendable {
    private let format: OutputFormat
    private struct State {
        /// The last number printed per node and source.
        var printed: [String: UInt64] = [:]
        /// Not Sendable: used only under the lock.
        var grep: Regex<AnyRegexOutput>?
    }
    private let state: Mutex<State>

    /// `grep`: a regular expression lines must match (drop notes are always printed).
    init(format: OutputFormat, grep pattern: String?) throws {
        self.format = format
        state = Mutex(State(grep: try pattern.map { try Regex($0) }))
        if format == .csv { Self.emit("node,source,seq,at,text,dropped,reason") }
    }

    /// A line of a `logs.query` page.
    func takeStored(_ entry: LogEntryView) {
        take(entry, live: false)
    }

    /// A line of a log event.
    func takeLive(_ entry: LogEntryView) {
        take(entry, live: true)
    }

    private func take(_ entry: LogEntryView, live: Bool) {
        let key = entry.node + "\u{0}" + entry.source
        let shown = state.withLock { state in
            let highest = state.printed[key] ?? 0
            if live && entry.seq <= highest { return false }
            state.printed[key] = max(highest, entry.seq)
            guard entry.dropped == nil, let grep = state.grep else { return true }
            return (try? grep.firstMatch(in: entry.text)) != nil
        }
        guard shown else { return }
        switch format {
        case .json, .yaml:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            Self.emit((try? encoder.encode(entry)).map { String(decoding: $0, as: UTF8.self) } ?? "{}")
        case .csv:
            Self.emit([entry.node, entry.source, "\(entry.seq)", "\(entry.at)", entry.text,
                       entry.dropped.map { "\($0)" } ?? "", entry.reason?.rawValue ?? ""].map(Self.csvField).joined(separator: ","))
        case .table:
            Self.emit(entry.rendered)
        }
    }

    private static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Unbuffered: a follower (or a pipe) sees each line when it is printed. A reader that
    /// went away (`shoal logs | head`) ends the command quietly, as SIGPIPE would.
    private static func emit(_ line: String) {
        do {
            try FileHandle.standardOutput.write(contentsOf: Data((line + "\n").utf8))
        } catch {
            exit(0)
        }
    }
}

/// Which nodes a follower prints: those its selector matches, as node events change them.
///
/// Thread-safe.
final class NodeMatch: Sendable {
    private let selector: Selector
    private let nodes: Mutex<Set<String>>

    init(selector text: String, nodes: [NodeView]) throws {
        selector = try Selector(parsing: text)
        self.nodes = Mutex(Set(nodes.map(\.id)))
    }

    func update(_ view: NodeView) {
        let matches = selector.matches(view.labels)
        nodes.withLock { nodes in
            if matches { nodes.insert(view.id) } else { nodes.remove(view.id) }
        }
    }

    func contains(_ node: String) -> Bool {
        nodes.withLock { $0.contains(node) }
    }
}
