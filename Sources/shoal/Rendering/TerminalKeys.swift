import Foundation
import Glibc

/// Single keypresses from a terminal, for `shoal top`: the terminal is put in
/// non-canonical mode without echo while the view runs, and restored after.
///
/// Thread-safe. Keys are read on a thread of their own, because a read of standard input
/// blocks: on Swift's two cooperative threads here it would stall the view's requests.
/// The thread ends when standard input closes or the process exits.
final class TerminalKeys: Sendable {
    private let saved: termios?

    /// `onKey` is called on the reading thread with each key pressed.
    init(onKey: @escaping @Sendable (Character) -> Void) {
        guard isatty(STDIN_FILENO) == 1 else {
            saved = nil
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
                onKey(Character(Unicode.Scalar(byte)))
            }
        }
    }

    func restore() {
        guard var saved else { return }
        tcsetattr(STDIN_FILENO, TCSANOW, &saved)
        FileHandle.standardOutput.write(Data("\u{1B}[?25h\n".utf8))
    }

    /// Columns and rows of the terminal on standard output (80×24 when it is not one).
    static func size() -> (columns: Int, rows: Int) {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return (80, 24) }
        return (Int(size.ws_col), Int(size.ws_row))
    }
}
