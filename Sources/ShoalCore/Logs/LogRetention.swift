/// Which stored log lines the dispatcher deletes: those older than `maxAge`, then the
/// oldest until the text kept fits `maxBytes`. Pure: the caller gives the time, the total
/// kept and the oldest lines (in storage order); lines are deleted oldest first, a prefix
/// at a time, so the store deletes "everything up to this row".
public struct LogRetention: Sendable, Equatable {
    /// Seconds a line is kept.
    public var maxAge: Double
    /// Bytes of text kept over all nodes.
    public var maxBytes: Int

    /// What `shoal dispatcher` keeps unless told otherwise: 7 days, 1 GiB of text.
    public static let defaultMaxAge: Double = 7 * 86_400
    public static let defaultMaxBytes = 1 << 30

    public init(maxAge: Double = defaultMaxAge, maxBytes: Int = defaultMaxBytes) {
        self.maxAge = maxAge
        self.maxBytes = maxBytes
    }

    public struct StoredLine: Sendable, Equatable {
        public var row: Int64
        public var at: Double
        public var bytes: Int

        public init(row: Int64, at: Double, bytes: Int) {
            self.row = row
            self.at = at
            self.bytes = bytes
        }
    }

    /// Of `oldest` (the first stored lines, in row order), the last row to delete, or nil
    /// for none; `totalBytes` is the text of every stored line. When the answer is the
    /// last of `oldest`, the caller asks again with the next ones.
    public func lastExpired(oldest: [StoredLine], totalBytes: Int, now: Double) -> Int64? {
        var total = totalBytes
        var last: Int64?
        for line in oldest {
            guard now - line.at > maxAge || total > maxBytes else { break }
            last = line.row
            total -= line.bytes
        }
        return last
    }
}
