import Foundation
import Glibc

/// Single keypresses from a terminal, for `shoal top`: the terminal is put in
/// non-canonical mode without echo while the view runs, and restored after.
///
/// Thread-safe. Keys are read on a thread of their own, because a read of standard input
/// blocks: on Swift's two cooperative threads here it would stall the view's requests.
/// The thread ends when standard input closes or the process exits.
final class TerminalKeys: Sendable {
    private let keys: AsyncStream<Character>
    private let saved: termios?

    init() {
        let (keys, sink) = AsyncStream.makeStream(of: Character.self, bufferingPolicy: .bufferingNewest(8))
        self.keys = keys
        guard isatty(STDIN_FILENO) == 1 else {
            saved = nil
            sink.finish()
            return
        }
        var original = termios()
        tcgetattr(STDIN_FILENO, &original)
        var raw = original
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        saved = original
        // Hides the cursor and clears the screen once; `restore` shows it again.
        FileHandle.standardOutput.write(Data("\u{1B}[?25l\u{1B}[2J".utf8))
        Thread.detachNewThread {
            var byte: UInt8 = 0
            while read(STDIN_FILENO, &byte, 1) == 1 {
                sink.yield(Character(Unicode.Scalar(byte)))
            }
            sink.finish()
        }
    }

    func restore() {
        guard var saved else { return }
        tcsetattr(STDIN_FILENO, TCSANOW, &saved)
        FileHandle.standardOutput.write(Data("\u{1B}[?25h\n".utf8))
    }

    /// The next key pressed within `timeout`, or nil (after the whole timeout when there
    /// is no terminal to read keys from).
    func next(within timeout: Duration) async -> Character? {
        enum Outcome: Sendable { case key(Character?), timedOut }
        let keys = self.keys
        return await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                var iterator = keys.makeAsyncIterator()
                guard let key = await iterator.next() else {
                    // No more keys (no terminal, or it closed): only the timeout ends the wait.
                    try? await Task.sleep(for: timeout)
                    return .timedOut
                }
                return .key(key)
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .timedOut
            }
            let first = await group.next()
            group.cancelAll()
            if case .key(let key)? = first { return key }
            return nil
        }
    }

    /// Columns and rows of the terminal on standard output (80×24 when it is not one).
    static func size() -> (columns: Int, rows: Int) {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return (80, 24) }
        return (Int(size.ws_col), Int(size.ws_row))
    }
}
