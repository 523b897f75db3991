/// Follows one file like `tail -F`, as a pure state machine: the shell stats the path and
/// the open file, asks `poll` what to do, does it (open, read), and hands the bytes it read
/// to `received`, which cuts them into numbered lines.
///
/// - Rotation (the path now names another file): the open file is read to its end first,
///   then the new file is opened at 0. No line is lost or repeated across a rotation, as
///   long as the writer has moved to the new file by the time the old one is drained.
/// - Truncation (the open file is shorter than what was read): read again from 0.
/// - Restart: `resume` (the position kept in the state directory) continues the same file
///   where it was; a file the agent sees for the first time is shipped from its end (its
///   history is not news), a file created while it watches from 0.
public struct LogFollower: Sendable {
    public let source: String
    public let maxLineBytes: Int
    /// After the last complete line handed out: what the agent keeps for its next start.
    public private(set) var position: LogPosition
    /// The file open now, and how far it has been read (past `position` by `partial`).
    public private(set) var openFile: FileIdentity?
    public private(set) var readOffset: UInt64 = 0
    private var partial: [UInt8] = []
    /// Nothing was known of this source before: a file found at the first look is old news.
    private var firstLook: Bool

    /// `firstSeq`: the number before a new source's first line. An agent that lost its
    /// state directory must not reuse numbers the dispatcher already stored (it would ignore
    /// the lines): the agent starts new sources from the time, in milliseconds, times 1,000.
    public init(source: String, resume: LogPosition?, firstSeq: UInt64 = 0, maxLineBytes: Int = Limits.logLineBytes) {
        self.source = source
        self.maxLineBytes = maxLineBytes
        self.position = resume ?? LogPosition(file: nil, offset: 0, seq: firstSeq)
        self.firstLook = resume == nil
    }

    public enum Step: Sendable, Equatable {
        /// Nothing new.
        case wait
        /// Open the file the path names now, read from `offset` (then call `opened`). If a
        /// file was open, close it: it has been read to its end; `ending` is its last line
        /// if that had no newline.
        case open(at: UInt64, ending: FollowedLine?)
        /// Read the open file from `offset` to its end (then call `received`).
        case read(from: UInt64)
    }

    /// What to do, given what `stat` says of the path (nil: missing) and `fstat` of the open
    /// file (nil when none is open).
    public mutating func poll(path: FileStatus?, open: FileStatus?) -> Step {
        defer { firstLook = false }
        guard let open, let openFile, open.identity == openFile else {
            guard let path else { return .wait }
            return .open(at: startOffset(for: path), ending: nil)
        }
        if open.size < readOffset {
            // Truncated in place (copytruncate, `> file`): what was cut is gone; start over.
            partial = []
            readOffset = 0
            position.offset = 0
        }
        if open.size > readOffset { return .read(from: readOffset) }
        guard let path, path.identity != openFile else { return .wait }
        // Rotated, and the old file read to its end: its unfinished last line ends here.
        let ending = partial.isEmpty ? nil : line(partial, endingAt: readOffset)
        partial = []
        return .open(at: 0, ending: ending)
    }

    private func startOffset(for path: FileStatus) -> UInt64 {
        if path.identity == position.file && position.offset <= path.size { return position.offset }
        return firstLook ? path.size : 0
    }

    /// The shell opened `file` at `offset` as `poll` asked.
    public mutating func opened(_ file: FileIdentity, at offset: UInt64) {
        openFile = file
        readOffset = offset
        partial = []
        position.file = file
        position.offset = offset
    }

    /// The shell could not open the path (it vanished, or is unreadable): try again later.
    public mutating func openFailed() {
        openFile = nil
    }

    /// Bytes read from the open file at `readOffset`: the lines they complete, in order.
    /// A line longer than `maxLineBytes` is cut into pieces of that size.
    public mutating func received(_ bytes: ArraySlice<UInt8>) -> [FollowedLine] {
        var lines: [FollowedLine] = []
        var start = bytes.startIndex
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == 0x0a {
                partial += bytes[start..<index]
                let end = readOffset + UInt64(index - bytes.startIndex + 1)
                lines.append(line(partial, endingAt: end))
                partial = []
                start = index + 1
            } else if partial.count + (index - start) >= maxLineBytes {
                partial += bytes[start..<index]
                lines.append(line(partial, endingAt: readOffset + UInt64(index - bytes.startIndex)))
                partial = []
                start = index
            }
            index += 1
        }
        partial += bytes[start..<bytes.endIndex]
        readOffset += UInt64(bytes.count)
        return lines
    }

    /// A numbered line (or a piece of a cut one) that ends at byte `end` of the open file.
    private mutating func line(_ bytes: [UInt8], endingAt end: UInt64) -> FollowedLine {
        position.seq += 1
        position.offset = end
        var content = bytes[...]
        if content.last == 0x0d { content = content.dropLast() }
        // NUL would be refused by the dispatcher (and cut C strings): shown as U+FFFD.
        var text = String(decoding: content, as: UTF8.self)
        if content.contains(0) { text = String(text.unicodeScalars.map { $0 == "\0" ? "\u{FFFD}" : Character($0) }) }
        return FollowedLine(text: Bounds.prefix(text, maxBytes: maxLineBytes).text, position: position)
    }
}

/// A line as read, with the source's position just after it.
public struct FollowedLine: Sendable, Equatable {
    public var text: String
    public var position: LogPosition

    public var seq: UInt64 { position.seq }

    public init(text: String, position: LogPosition) {
        self.text = text
        self.position = position
    }
}
