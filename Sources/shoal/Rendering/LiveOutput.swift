import Foundation
import ShoalCore

/// Prints the output of many nodes as it arrives, one line at a time, each prefixed by its
/// node (`web-01 | ...`): stdout lines on stdout, stderr lines on stderr. A node's
/// incomplete last line waits for the rest of it (or for the node's end).
///
/// Output comes from chunks (`JobEvent.output`, `jobs.output` pages), each printed once by
/// (node, seq); a quick job sends no chunks, and its output arrives whole in its terminal
/// state, which is printed only for a node that sent none. Owned by one task; not shared.
final class LiveOutput {
    private struct Key: Hashable {
        var node: String
        var stream: OutputChannel
    }

    private var seen: Set<String> = []
    private var chunked: Set<String> = []
    private var partial: [Key: String] = [:]
    private var ended: Set<String> = []

    /// A chunk of a node's output.
    func take(_ chunk: OutputChunkView) {
        guard seen.insert("\(chunk.node)\u{0}\(chunk.seq)").inserted else { return }
        chunked.insert(chunk.node)
        append(chunk.data, node: chunk.node, stream: chunk.stream)
    }

    /// A node's state changed: at its end, its inline output (if it sent no chunks) and
    /// its last incomplete line are printed.
    func take(_ execution: ExecutionView) {
        guard execution.state.isTerminal, ended.insert(execution.node).inserted else { return }
        if !chunked.contains(execution.node) {
            append(execution.stdout ?? "", node: execution.node, stream: .stdout)
            append(execution.stderr ?? "", node: execution.node, stream: .stderr)
        }
        for stream in [OutputChannel.stdout, .stderr] {
            let key = Key(node: execution.node, stream: stream)
            if let rest = partial.removeValue(forKey: key), !rest.isEmpty { emit(rest, key) }
        }
    }

    /// Prints what is still incomplete (the follow ended).
    func flush() {
        for (key, rest) in partial.sorted(by: { $0.key.node < $1.key.node }) where !rest.isEmpty { emit(rest, key) }
        partial = [:]
    }

    private func append(_ text: String, node: String, stream: OutputChannel) {
        guard !text.isEmpty else { return }
        let key = Key(node: node, stream: stream)
        var pending = (partial[key] ?? "") + text
        while let newline = pending.firstIndex(of: "\n") {
            emit(String(pending[..<newline]), key)
            pending = String(pending[pending.index(after: newline)...])
        }
        partial[key] = pending
    }

    /// Written at once, unbuffered: a reader on a pipe sees each line as it is printed.
    private func emit(_ line: String, _ key: Key) {
        let data = Data("\(key.node) | \(line)\n".utf8)
        if key.stream == .stdout {
            FileHandle.standardOutput.write(data)
        } else {
            FileHandle.standardError.write(data)
        }
    }
}
