/// `node/{id}/logs`: lines an agent read from the files (and other sources) it follows,
/// with what it had to drop since its last batch. Lines of one source carry increasing
/// `seq` numbers, which survive agent restarts; the dispatcher stores each
/// (node, source, seq) once, so a batch delivered twice is stored once.
public struct LogBatchMessage: Sendable, Codable, Equatable {
    public var v: Int = Wire.version
    public var node: String
    public var lines: [LogLineMessage]
    /// Lines that were read but never sent: never silent, always reported here.
    public var dropped: [LogDropMessage]?

    public init(node: String, lines: [LogLineMessage], dropped: [LogDropMessage]? = nil) {
        self.node = node
        self.lines = lines
        self.dropped = dropped
    }
}

/// One line, without its newline.
public struct LogLineMessage: Sendable, Codable, Equatable {
    /// The source's line number for Shoal (not the file's): 1, 2, 3 ... across rotations and restarts.
    public var seq: UInt64
    /// When the agent read it (UNIX seconds).
    public var at: Double
    /// Where it came from: the followed path, or `journal`.
    public var source: String
    public var text: String

    public init(seq: UInt64, at: Double, source: String, text: String) {
        self.seq = seq
        self.at = at
        self.source = source
        self.text = text
    }
}

/// `count` lines of `source`, the last of them numbered `seq`, that were not sent.
public struct LogDropMessage: Sendable, Codable, Equatable {
    public var source: String
    public var seq: UInt64
    public var count: UInt64
    public var reason: LogDropReason
    public var at: Double

    public init(source: String, seq: UInt64, count: UInt64, reason: LogDropReason, at: Double) {
        self.source = source
        self.seq = seq
        self.count = count
        self.reason = reason
        self.at = at
    }
}

public enum LogDropReason: String, Sendable, Codable, CaseIterable {
    /// The broker was unreachable for longer than the agent's outbox could hold.
    case outboxFull = "outbox_full"
    /// The source wrote faster than its rate limit.
    case rateLimited = "rate_limited"

    /// As `shoal logs` prints it: "node-02: 1234 lines dropped (outbox full)".
    public var phrase: String {
        switch self {
        case .outboxFull: "outbox full"
        case .rateLimited: "rate limit"
        }
    }
}

extension LogBatchMessage {
    public func validate() throws(BoundsError) {
        try Bounds.check(lines.count, "lines count", in: 0...Limits.logBatchLines)
        for (index, line) in lines.enumerated() {
            try line.validate(field: "lines[\(index)]")
        }
        let drops = dropped ?? []
        try Bounds.check(drops.count, "dropped count", in: 0...Limits.logBatchLines)
        for (index, drop) in drops.enumerated() {
            try drop.validate(field: "dropped[\(index)]")
        }
    }
}

extension LogLineMessage {
    public func validate(field: String) throws(BoundsError) {
        try Bounds.check(Int(clamping: seq), field + ".seq", in: 1...Limits.logSeq)
        try Bounds.checkTimestamp(at, field + ".at")
        try Bounds.checkLogSource(source, field + ".source")
        try Bounds.check(text, field + ".text", maxBytes: Limits.logLineBytes)
    }
}

extension LogDropMessage {
    public func validate(field: String) throws(BoundsError) {
        try Bounds.check(Int(clamping: seq), field + ".seq", in: 1...Limits.logSeq)
        try Bounds.check(Int(clamping: count), field + ".count", in: 1...Limits.logSeq)
        try Bounds.checkTimestamp(at, field + ".at")
        try Bounds.checkLogSource(source, field + ".source")
    }
}

extension Bounds {
    /// A source names a file or `journal`: printable, no NUL, no newline (it is shown on one line).
    public static func checkLogSource(_ source: String, _ field: String) throws(BoundsError) {
        try check(source, field, maxBytes: Limits.logSourceBytes)
        if source.isEmpty { throw BoundsError(field: field, "is empty") }
        if source.utf8.contains(where: { $0 == 0x0a || $0 == 0x0d }) { throw BoundsError(field: field, "contains a line break") }
    }
}

/// `node/{id}/logs/ack`: the dispatcher has stored (committed) the lines of this node up
/// to these numbers, per source. The agent keeps a batch until this covers it: the broker's
/// PUBACK only says the broker has it, and a broker restarted without its sessions, or a
/// dispatcher that was not subscribed yet, would lose it.
public struct LogAckMessage: Sendable, Codable, Equatable {
    public var v: Int = Wire.version
    public var node: String
    public var stored: [String: UInt64]

    public init(node: String, stored: [String: UInt64]) {
        self.node = node
        self.stored = stored
    }

    public func validate() throws(BoundsError) {
        try Bounds.check(stored.count, "stored count", in: 0...Limits.logBatchLines * 2)
        for (source, seq) in stored {
            try Bounds.checkLogSource(source, "stored key")
            try Bounds.check(Int(clamping: seq), "stored[\(Bounds.prefix(source, maxBytes: 80).text)]", in: 1...Limits.logSeq)
        }
    }
}
