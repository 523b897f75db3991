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
        for id in batch.nodeEvents {
            if let node = nodes[id] ?? batch.nodes[id] { publishNodeEvent(node) }
        }
        for key in batch.executionEvents {
            if let execution = batch.executions[key] { publishEvent(execution) }
        }
        finishedOutput = [:]
    }
}
