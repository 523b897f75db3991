import ShoalCore

/// Committing a batch: everything pending in one transaction, then the events, so nothing
/// is announced that a crash could still take back.
extension DispatchEngine {
    func flush() {
        guard !pending.isEmpty || !pending.nodeEvents.isEmpty || !pending.executionEvents.isEmpty else { return }
        let batch = pending
        pending = PendingWrites()
        do {
            try store.commit(batch)
        } catch {
            // Keep the batch for the next flush (nothing else ran in between, so `pending`
            // is empty); nothing was announced. Logged loudly: it means disk trouble.
            pending = batch
            logger.error("Cannot commit a batch; will retry", metadata: [
                "batch.executions": "\(batch.executions.count)", "error": "\(error)"])
            return
        }
        uncheckpointed = true
        for (job, _) in batch.finishedJobs {
            if let executions = finishing.removeValue(forKey: job) { unfolded.append((job, Array(executions.values))) }
        }
        var announcements: [EventPublisher.Announcement] = []
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
        let finished = Dictionary(batch.finishedJobs, uniquingKeysWith: { first, _ in first })
        for job in order {
            for event in JobEventPacker.pack(job: job, executions: changedByJob[job] ?? [], finishedAt: finished[job]) {
                announcements.append(.job(event))
            }
        }
        events.announce(announcements)
        finishedOutput = [:]
    }
}
