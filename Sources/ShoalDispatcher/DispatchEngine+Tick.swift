import ShoalCore

/// Time-driven changes: nodes that stopped heartbeating go offline, and nodes that never
/// acknowledged a job by its deadline become `unreachable`.
extension DispatchEngine {
    func tick() {
        let time = now()
        var silent: [NodeRecord] = []
        for (id, var node) in nodes where node.online && time - node.lastSeen > node.heartbeatInterval * missedHeartbeats + 1 {
            node.online = false
            nodes[id] = node
            silent.append(node)
        }
        do {
            try store.saveNodes(silent)
            silent.forEach(publishNodeEvent)
        } catch {
            logger.error("Cannot record offline nodes", metadata: ["error": "\(error)"])
        }
        for (id, job) in active where job.record.deadline <= time {
            expire(id, at: time)
        }
    }

    private func expire(_ id: String, at time: Double) {
        guard var job = active[id] else { return }
        var changed: [ExecutionRecord] = []
        for (node, var execution) in job.executions where execution.state == .queued {
            execution.state = .unreachable
            let online = nodes[node]?.online ?? false
            execution.reason = online
                ? "deadline passed; node was online but never acknowledged the job"
                : "deadline passed; node was offline"
            execution.finishedAt = time
            execution.updatedAt = time
            job.executions[node] = execution
            changed.append(execution)
        }
        guard !changed.isEmpty else { return }
        job.unfinished -= changed.count
        let finishing = job.unfinished == 0 ? [(id, time)] : []
        do {
            try store.saveExecutions(changed, finishing: finishing)
        } catch {
            logger.error("Cannot record unreachable nodes", metadata: ["job.id": "\(id)", "error": "\(error)"])
            return
        }
        active[id] = finishing.isEmpty ? job : nil
        changed.forEach(publishEvent)
    }
}
