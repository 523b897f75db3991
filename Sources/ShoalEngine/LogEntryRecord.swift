import ShoalCore

/// A row of `log_line`: a line one node shipped, or a note of lines it dropped.
package struct LogEntryRecord: Sendable, Equatable {
    package var node: String
    package var source: String
    package var seq: Int64
    /// When the agent read it (the node's clock).
    package var at: Double
    /// When the dispatcher received it (its own clock): what retention goes by.
    package var storedAt: Double
    package var text: String
    package var dropped: Int64?
    package var reason: String?

    package init(node: String, source: String, seq: Int64, at: Double, storedAt: Double, text: String,
                 dropped: Int64? = nil, reason: String? = nil) {
        self.node = node
        self.source = source
        self.seq = seq
        self.at = at
        self.storedAt = storedAt
        self.text = text
        self.dropped = dropped
        self.reason = reason
    }

    package var view: LogEntryView {
        LogEntryView(node: node, source: source, seq: UInt64(clamping: seq), at: at, text: text,
                     dropped: dropped.map { UInt64(clamping: $0) }, reason: reason.flatMap(LogDropReason.init(rawValue:)))
    }
}
