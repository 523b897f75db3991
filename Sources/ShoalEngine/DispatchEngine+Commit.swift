import ShoalCore

/// Committing a batch is the owner's I/O; what the engine decides is what a batch holds and
/// what its commit makes true. Nothing is announced that a crash could still take back.
extension DispatchEngine {
    /// The changes to commit in one transaction, or nil when there are none. The engine
    /// starts a new batch; hand the batch back with `committed` or `restore`.
    package func takePending() -> PendingWrites? {
        guard !pending.isEmpty || !pending.nodeEvents.isEmpty || !pending.executionEvents.isEmpty else { return nil }
        defer { pending = PendingWrites() }
        return pending
    }

    /// The commit failed: the batch comes back to be committed with the next one.
    /// (Nothing ran in between on the one loop, so `pending` is still empty.)
    package func restore(_ batch: PendingWrites) {
        pending = batch
    }

    /// What the commit of `batch` made true: the events to announce, in order of change
    /// (one per job per commit, split when large: `JobEventPacker`), and the jobs it
    /// finished with their final executions, which the owner folds into its table later.
    package func committed(_ batch: PendingWrites) -> (announcements: [Announcement], finished: [(job: String, executions: [ExecutionRecord])]) {
        var finished: [(job: String, executions: [ExecutionRecord])] = []
        for (job, _) in batch.finishedJobs {
            if let executions = finishing.removeValue(forKey: job) { finished.append((job, Array(executions.values))) }
        }
        var announcements: [Announcement] = []
        for id in batch.nodeEvents {
            if let node = nodes[id] ?? batch.nodes[id] { announcements.append(.node(node.view)) }
        }
        var changedByJob: [String: [ExecutionView]] = [:]
        var order: [String] = []
        var announced: Set<ExecutionKey> = []
        for key in batch.executionEvents where announced.insert(key).inserted {
            guard let execution = batch.executions[key] else { continue }
            if changedByJob[key.job] == nil { order.append(key.job) }
            changedByJob[key.job, default: []].append(eventView(execution))
        }
        // Jobs with new output and no changed execution get an event too.
        for job in batch.liveOutput.keys.sorted() where changedByJob[job] == nil { order.append(job) }
        let finishedAt = Dictionary(batch.finishedJobs, uniquingKeysWith: { first, _ in first })
        for job in order {
            for event in JobEventPacker.pack(job: job, executions: changedByJob[job] ?? [], finishedAt: finishedAt[job],
                                             output: batch.liveOutput[job] ?? []) {
                announcements.append(.job(event))
            }
        }
        announcements += logEvents(batch.logEntries)
        announcements += logAcks(batch.logAcks)
        finishedOutput = [:]
        // Batches released in this commit go out now that their release is durable.
        outbox += batch.afterCommit
        return (announcements, finished)
    }
}
