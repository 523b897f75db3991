/// The lines an agent has read and not yet had acknowledged by the broker, bounded by a
/// size cap. Pure: the shell appends what its followers read, takes one batch at a time to
/// publish, and reports its acknowledgement.
///
/// - Past the cap the oldest lines waiting are dropped (never the batch in flight) and
///   counted; the count goes out with the next batch (`LogBatchMessage.dropped`), so a
///   loss is never silent.
/// - Lines a rate limit refused are counted the same way, in order with the lines around them.
/// - `acknowledged()` returns, per source, the position after the last line that left the
///   outbox (sent or reported dropped): what the agent keeps for its next start. A restart
///   re-reads from there, so what was only in memory is read again, with the same numbers.
public struct LogOutbox: Sendable {
    public let capacityBytes: Int
    /// What a batch may carry.
    public let batchLines: Int
    public let batchBytes: Int

    public struct Batch: Sendable, Equatable {
        public var lines: [LogLineMessage]
        public var dropped: [LogDropMessage]
        /// Per source, the position after its last line in this batch (sent or dropped).
        public var positions: [String: LogPosition]
    }

    private enum Entry: Sendable {
        case line(LogLineMessage, LogPosition)
        /// Consecutive lines of one source refused by its rate limit.
        case skipped(LogDropMessage, LogPosition)
        /// A slot already taken or dropped, until `compact` reclaims it (its text is freed now).
        case gone

        var bytes: Int {
            switch self {
            case .line(let line, _): line.text.utf8.count + line.source.utf8.count + LogOutbox.overheadBytes
            case .skipped(let drop, _): drop.source.utf8.count + LogOutbox.overheadBytes
            case .gone: 0
            }
        }
    }

    /// What an entry costs in memory beyond its text: the entry itself (about 100 bytes)
    /// and the text's allocation, so that the cap is about what the outbox holds.
    public static let overheadBytes = 160

    private var queue: [Entry] = []
    private var head = 0
    public private(set) var queuedBytes = 0
    /// Dropped for room since the last batch, per source and reason, to be reported.
    private var evicted: [DropKey: (drop: LogDropMessage, position: LogPosition)] = [:]
    private var evictedOrder: [DropKey] = []
    public private(set) var inFlight: Batch?

    private struct DropKey: Hashable, Sendable {
        var source: String
        var reason: LogDropReason
    }

    public init(capacityBytes: Int, batchLines: Int = 500, batchBytes: Int = 64 * 1024) {
        self.capacityBytes = capacityBytes
        self.batchLines = max(1, min(batchLines, Limits.logBatchLines / 2))
        self.batchBytes = batchBytes
    }

    /// Lines waiting (not in flight).
    public var queuedLines: Int {
        queue[head...].reduce(0) { count, entry in if case .line = entry { count + 1 } else { count } }
    }

    public var isEmpty: Bool { head == queue.count && evicted.isEmpty }

    public mutating func append(_ line: FollowedLine, source: String, at time: Double) {
        push(.line(LogLineMessage(seq: line.seq, at: time, source: source, text: line.text), line.position))
    }

    /// A line its source's rate limit refused: counted, in order.
    public mutating func skip(_ line: FollowedLine, source: String, at time: Double) {
        if head < queue.count, case .skipped(var drop, _) = queue[queue.count - 1], drop.source == source {
            drop.count += 1
            drop.seq = line.seq
            queue[queue.count - 1] = .skipped(drop, line.position)
            return
        }
        push(.skipped(LogDropMessage(source: source, seq: line.seq, count: 1, reason: .rateLimited, at: time), line.position))
    }

    private mutating func push(_ entry: Entry) {
        queue.append(entry)
        queuedBytes += entry.bytes
        while queuedBytes > capacityBytes && head < queue.count { evictOldest() }
    }

    private mutating func evictOldest() {
        let entry = queue[head]
        queue[head] = .gone
        head += 1
        queuedBytes -= entry.bytes
        let drop: LogDropMessage, position: LogPosition
        switch entry {
        case .gone:
            return
        case .line(let line, let after):
            drop = LogDropMessage(source: line.source, seq: line.seq, count: 1, reason: .outboxFull, at: line.at)
            position = after
        case .skipped(let skipped, let after):
            (drop, position) = (skipped, after)
        }
        let key = DropKey(source: drop.source, reason: drop.reason)
        if var known = evicted[key] {
            known.drop.count += drop.count
            known.drop.seq = drop.seq
            known.position = position
            evicted[key] = known
        } else {
            evicted[key] = (drop, position)
            evictedOrder.append(key)
        }
        compact()
    }

    private mutating func compact() {
        if head > 1024 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
    }

    /// The next batch to publish, or nil while one is in flight or nothing waits. It stays
    /// in flight (and is offered by `inFlight`) until `acknowledged()`.
    public mutating func nextBatch() -> Batch? {
        guard inFlight == nil, !isEmpty else { return nil }
        var batch = Batch(lines: [], dropped: [], positions: [:])
        // Dropped lines were older than anything still queued: their positions come first.
        for key in evictedOrder {
            guard let evictedLines = evicted[key] else { continue }
            batch.dropped.append(evictedLines.drop)
            batch.positions[key.source] = evictedLines.position
        }
        evicted = [:]
        evictedOrder = []
        var bytes = 0
        while head < queue.count, batch.lines.count + batch.dropped.count < batchLines {
            let entry = queue[head]
            guard bytes == 0 || bytes + entry.bytes <= batchBytes else { break }
            bytes += entry.bytes
            switch entry {
            case .line(let line, let position):
                batch.lines.append(line)
                batch.positions[line.source] = position
            case .skipped(let drop, let position):
                batch.dropped.append(drop)
                batch.positions[drop.source] = position
            case .gone:
                break
            }
            queue[head] = .gone
            head += 1
            queuedBytes -= entry.bytes
        }
        compact()
        inFlight = batch
        return batch
    }

    /// The dispatcher has stored lines up to `stored` (per source). When that covers the
    /// batch in flight, it is done: returns the positions to keep, per source; nil while
    /// it is not covered (the ack of an earlier send, or of another batch).
    public mutating func acknowledged(stored: [String: UInt64]) -> [String: LogPosition]? {
        guard let inFlight, inFlight.positions.allSatisfy({ source, position in (stored[source] ?? 0) >= position.seq }) else {
            return nil
        }
        self.inFlight = nil
        return inFlight.positions
    }
}
