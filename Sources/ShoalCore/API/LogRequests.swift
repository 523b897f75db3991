/// `logs.query`: stored log lines of the nodes a selector matches, in time order, a page
/// at a time.
public struct LogQueryRequest: Sendable, Codable, Equatable {
    /// Nodes whose lines to return; empty: every node.
    public var selector: String
    /// Only this source (a followed path, or `journal`).
    public var source: String?
    /// Only lines read at or after this UNIX time.
    public var since: Double?
    /// The `next` of the previous page; from the start when absent.
    public var after: LogCursor?
    /// Lines per page, `Limits.logPageLines`; default 1,000.
    public var limit: Int

    public init(selector: String = "", source: String? = nil, since: Double? = nil, after: LogCursor? = nil, limit: Int = 1_000) {
        self.selector = selector
        self.source = source
        self.since = since
        self.after = after
        self.limit = limit
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(selector: try container.decodeIfPresent(String.self, forKey: .selector) ?? "",
                  source: try container.decodeIfPresent(String.self, forKey: .source),
                  since: try container.decodeIfPresent(Double.self, forKey: .since),
                  after: try container.decodeIfPresent(LogCursor.self, forKey: .after),
                  limit: try container.decodeIfPresent(Int.self, forKey: .limit) ?? 1_000)
    }

    public func validate() throws(BoundsError) {
        try Bounds.check(selector, "selector", maxBytes: Limits.selectorBytes)
        if let source { try Bounds.checkLogSource(source, "source") }
        if let since { try Bounds.check(since, "since", in: 0...Limits.timestamp.upperBound, unit: " (UNIX seconds)") }
        if let after {
            try Bounds.check(after.at, "after.at", in: -Limits.timestamp.upperBound...Limits.timestamp.upperBound)
            try Bounds.check(Int(clamping: after.row), "after.row", in: 0...Int(Int64.max))
        }
        try Bounds.check(limit, "limit", in: Limits.logPageLines)
    }
}

/// Where a page of log lines ended: lines are ordered by (time, row).
public struct LogCursor: Sendable, Codable, Equatable {
    public var at: Double
    public var row: Int64

    public init(at: Double, row: Int64) {
        self.at = at
        self.row = row
    }
}

public struct LogPage: Sendable, Codable, Equatable {
    public var entries: [LogEntryView]
    /// Absent on the last page.
    public var next: LogCursor?

    public init(entries: [LogEntryView], next: LogCursor?) {
        self.entries = entries
        self.next = next
    }
}

/// A stored line, or (with `dropped`) a note that lines were lost before they were sent.
public struct LogEntryView: Sendable, Codable, Equatable {
    public var node: String
    public var source: String
    public var seq: UInt64
    public var at: Double
    public var text: String
    /// Lines not sent, the last of them numbered `seq`; absent for a line.
    public var dropped: UInt64?
    public var reason: LogDropReason?

    public init(node: String, source: String, seq: UInt64, at: Double, text: String,
                dropped: UInt64? = nil, reason: LogDropReason? = nil) {
        self.node = node
        self.source = source
        self.seq = seq
        self.at = at
        self.text = text
        self.dropped = dropped
        self.reason = reason
    }

    /// One line of `shoal logs`: `node | text`, or `node: 1234 lines dropped (outbox full)`.
    public var rendered: String {
        if let dropped {
            return "\(node): \(dropped) line\(dropped == 1 ? "" : "s") dropped (\(reason?.phrase ?? "unknown reason")) from \(source)"
        }
        return "\(node) | \(text)"
    }
}

/// `events/logs/{node}`: the lines of one node that one commit of the dispatcher stored,
/// in order, for followers (`shoal logs -f`). Large batches are split so each event stays
/// under `NodeLogEvent.maximumBytes`.
public struct NodeLogEvent: Sendable, Codable, Equatable {
    public var v: Int = Wire.version
    public var node: String
    public var entries: [LogEntryView]

    public init(node: String, entries: [LogEntryView]) {
        self.node = node
        self.entries = entries
    }

    /// Text one event carries at most (lines are at most `Limits.logLineBytes` each).
    public static let maximumBytes = 512 * 1024

    /// `entries` split into events of at most `maximumBytes` of text and source each.
    public static func pack(node: String, entries: [LogEntryView]) -> [NodeLogEvent] {
        var events: [NodeLogEvent] = []
        var current: [LogEntryView] = []
        var bytes = 0
        for entry in entries {
            let size = entry.text.utf8.count + entry.source.utf8.count + 96
            if !current.isEmpty && bytes + size > maximumBytes {
                events.append(NodeLogEvent(node: node, entries: current))
                current = []
                bytes = 0
            }
            current.append(entry)
            bytes += size
        }
        if !current.isEmpty { events.append(NodeLogEvent(node: node, entries: current)) }
        return events
    }
}
