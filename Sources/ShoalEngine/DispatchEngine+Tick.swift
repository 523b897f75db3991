import ShoalCore

/// Time-driven changes: nodes that stopped heartbeating go offline, and nodes that never
/// acknowledged a job by its deadline become `unreachable`.
extension DispatchEngine {
    package func tick() {
        let time = now()
        if time > silenceCheckDue { markSilentNodesOffline(at: time) }
        for (id, job) in active where job.record.deadline <= time {
            expire(id, at: time)
        }
        for (id, job) in active {
            abandonLost(id, job: job, at: time)
        }
        advanceDueRollouts(at: time)
        if time >= resyncCheckDue {
            resyncCheckDue = time + 5
            resyncOpenExecutions(at: time)
        }
    }

    /// When a node that stays silent must be called offline.
    func silenceDeadline(of node: NodeRecord) -> Double {
        node.lastSeen + node.heartbeatInterval * missedHeartbeats + 1
    }

    /// A node is online again (or anew): its silence deadline may come before the others'.
    func watchSilence(of node: NodeRecord) {
        silenceCheckDue = min(silenceCheckDue, silenceDeadline(of: node))
    }

    /// Scans the registry only when the earliest deadline has passed: heartbeats only push
    /// deadlines later, so at 10,000 nodes this is one scan every few intervals instead of
    /// one per tick (each copied every record).
    private func markSilentNodesOffline(at time: Double) {
        var silent: [String] = []
        var next = Double.infinity
        for (id, node) in nodes where node.online {
            let deadline = silenceDeadline(of: node)
            if time > deadline { silent.append(id) } else { next = min(next, deadline) }
        }
        silenceCheckDue = next
        for id in silent {
            guard var node = nodes[id] else { continue }
            node.online = false
            nodes[id] = node
            pending.save(node, announce: true)
            nodeWentOffline(id, cause: "silent for \(DurationText.format(time - node.lastSeen))")
        }
    }

    /// An execution that started on a node which then went offline, and stayed away both
    /// past the job's time limit (plus `lostGrace`) and for `lostAway`, will not report:
    /// say so instead of waiting forever. A late report cannot change it (terminal states
    /// are final), which is why a node that is only cut off for a while (a partition, a
    /// reboot) gets `lostAway` to come back and repeat its ledger's result; an operator
    /// ends the wait for a node that is gone for good with `shoal nodes forget`.
    private func abandonLost(_ id: String, job: ActiveJob, at time: Double) {
        let lost = job.executions.values.filter { execution in
            guard execution.state == .accepted || execution.state == .running,
                  let node = nodes[execution.node], !node.online else { return false }
            return time > (execution.startedAt ?? job.record.createdAt) + job.record.timeout + lostGrace
                && time > node.lastSeen + lostAway
        }
        guard !lost.isEmpty else { return }
        close(id, lost.map { execution in
            var execution = execution
            execution.reason = "node went offline while the job was \(execution.state.rawValue) and did not return in time; result lost"
            execution.state = .failed
            return execution
        }, at: time)
    }

    /// Re-sends jobs to online nodes whose executions stay open past what `ResyncRule`
    /// allows: a lost report is repeated from the node's ledger, a lost job is run.
    private func resyncOpenExecutions(at time: Double) {
        if !lastResync.isEmpty { lastResync = lastResync.filter { active[$0.key.job] != nil } }
        for (id, job) in active {
            var due: [String] = []
            for execution in job.executions.values {
                let key = ExecutionKey(job: id, node: execution.node)
                guard resyncRule.isDue(state: execution.state, nodeOnline: nodes[execution.node]?.online == true,
                                       createdAt: job.record.createdAt, startedAt: execution.startedAt,
                                       timeout: job.record.timeout, lastResync: lastResync[key], now: time,
                                       cancelRequested: job.cancelRequested.contains(execution.node)) else { continue }
                lastResync[key] = time
                due.append(execution.node)
            }
            if !due.isEmpty { resend(job.record, to: due) }
        }
    }

    private func expire(_ id: String, at time: Double) {
        guard let job = active[id] else { return }
        let unanswered = job.executions.values.filter { $0.state == .queued }.map { execution in
            var execution = execution
            if job.held.contains(execution.node) {
                // Never sent: the rollout did not get this far in time. Not the node's failure.
                execution.state = .skipped
                execution.reason = "deadline passed before the rollout reached this node"
                return execution
            }
            execution.state = .unreachable
            execution.reason = nodes[execution.node]?.online == true
                ? "deadline passed; node was online but never acknowledged the job"
                : "deadline passed; node was offline"
            return execution
        }
        job.held = []
        close(id, unanswered, at: time)
    }

    /// Records terminal states decided here (not reported by the node), finishing the job
    /// when nothing is left open; a rollout then decides whether that ends a batch.
    func close(_ id: String, _ executions: [ExecutionRecord], at time: Double, advancingRollout: Bool = true) {
        guard let job = active[id], !executions.isEmpty else { return }
        if job.rollout != nil {
            for execution in executions {
                job.held.remove(execution.node)
                job.openInBatch.remove(execution.node)
            }
        }
        for var execution in executions {
            execution.finishedAt = time
            execution.updatedAt = time
            job.executions[execution.node] = execution
            pending.save(execution)
            executionEnded(execution)
            if let output = job.output.removeValue(forKey: execution.node) {
                finishedOutput[ExecutionKey(job: id, node: execution.node)] = (output.stdout, output.stderr)
            }
        }
        job.unfinished -= executions.count
        if job.unfinished == 0 {
            finish(id, job, at: time)
        } else if advancingRollout && job.rollout != nil {
            advanceRollout(id)
        }
    }

    /// Every expected node has ended: the job is finished (committed with the batch).
    func finish(_ id: String, _ job: ActiveJob, at time: Double) {
        pending.finishedJobs.append((id, time))
        // The rollout as it ended (batches released, an abort's reason) stays with the job.
        if let rollout = job.rollout { pending.rollouts[id] = rollout }
        finishing[id] = job.executions
        active[id] = nil
    }
}
