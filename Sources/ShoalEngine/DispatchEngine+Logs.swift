import ShoalCore

/// Log lines agents ship (`node/{id}/logs`): checked, numbered lines kept once, queued to
/// be stored with the batch they arrived in and announced to followers after its commit.
extension DispatchEngine {
    func ingestLogs(node: String, payload: [UInt8]) {
        let batch: LogBatchMessage
        do {
            batch = try Wire.decode(LogBatchMessage.self, from: payload)
            guard batch.node == node, TopicTree.isValidLevel(node) else {
                throw WireError(description: "node id in payload does not match the topic")
            }
            try batch.validate()
        } catch {
            reject("a log batch", error, topic: topics.logs(node))
            return
        }
        let time = now()
        // Numbers only grow per source, so a batch delivered again (the agent did not see the
        // acknowledgement) adds nothing. Drop notes and lines interleave by number.
        var candidates: [LogEntryRecord] = []
        candidates.reserveCapacity(batch.lines.count + (batch.dropped?.count ?? 0))
        for line in batch.lines {
            candidates.append(LogEntryRecord(node: node, source: line.source, seq: Int64(line.seq), at: line.at,
                                             storedAt: time, text: line.text))
        }
        for drop in batch.dropped ?? [] {
            candidates.append(LogEntryRecord(node: node, source: drop.source, seq: Int64(drop.seq), at: drop.at, storedAt: time,
                                             text: "", dropped: Int64(drop.count), reason: drop.reason.rawValue))
        }
        candidates.sort { $0.seq < $1.seq }
        // Acknowledged once committed, duplicates included: the agent keeps a batch until then.
        for candidate in candidates {
            pending.logAcks[node, default: [:]][candidate.source] = max(
                pending.logAcks[node]?[candidate.source] ?? 0, UInt64(candidate.seq))
        }
        let entries = candidates.filter { isNew(node: node, source: $0.source, seq: UInt64($0.seq)) }
        guard !entries.isEmpty else { return }
        // In number order, which is the order they were read: followers rely on it.
        pending.logEntries += entries
    }

    /// True once per (node, source, seq) since this dispatcher started; the store's unique
    /// key catches what a restart let through. At most `rememberedSources` sources are
    /// remembered per node, so a node inventing sources cannot grow this map without
    /// bound: past them lines go to the store, which still keeps each once.
    private func isNew(node: String, source: String, seq: UInt64) -> Bool {
        let last = logSeqs[node]?[source]
        if let last, seq <= last { return false }
        if last != nil || (logSeqs[node]?.count ?? 0) < Self.rememberedSources {
            logSeqs[node, default: [:]][source] = seq
        }
        return true
    }

    static let rememberedSources = 256

    /// The acknowledgements a commit makes true, one per node.
    func logAcks(_ acks: [String: [String: UInt64]]) -> [Announcement] {
        acks.keys.sorted().map { node in .logAck(LogAckMessage(node: node, stored: acks[node] ?? [:])) }
    }

    /// The events announcing stored lines, per node in order.
    func logEvents(_ entries: [LogEntryRecord]) -> [Announcement] {
        var byNode: [String: [LogEntryView]] = [:]
        var order: [String] = []
        for entry in entries {
            if byNode[entry.node] == nil { order.append(entry.node) }
            byNode[entry.node, default: []].append(entry.view)
        }
        return order.flatMap { node in NodeLogEvent.pack(node: node, entries: byNode[node] ?? []).map(Announcement.logs) }
    }
}
