import ShoalCore

/// Rollouts: a job's expected nodes released batch by batch (`Rollout` decides, this
/// applies). A released batch's nodes are sent the job on their node topics once the
/// release is committed; nodes not yet released are `held` (never sent the job, not even
/// by a resync); an abort ends them `skipped`.
extension DispatchEngine {
    /// Applies what the job's rollout says now: after a batch's last execution ended, at
    /// the end of a wait, after a resume, after a restart.
    func advanceRollout(_ id: String) {
        guard let job = active[id], var rollout = job.rollout else { return }
        let time = now()
        let before = rollout
        var skipped: [ExecutionRecord] = []
        job.rolloutDue = nil
        decide: while true {
            switch rollout.next(state: { job.executions[$0]?.state }, at: time) {
            case .release(let batch, let nodes):
                job.held.subtract(nodes)
                job.openInBatch = Set(nodes.filter { job.executions[$0]?.state.isTerminal == false })
                release(job, nodes)
                logger.debug("Rollout batch released", metadata: ["job.id": "\(id)", "batch": "\(batch)", "nodes": "\(nodes.count)"])
                // A batch whose nodes all ended before it went out (canceled, forgotten)
                // does not hold the next one up.
                if nodes.contains(where: { job.executions[$0]?.state.isTerminal == false }) { break decide }
            case .abort(let reason, let nodes):
                job.held.subtract(nodes)
                skipped = nodes.compactMap { node in
                    guard var execution = job.executions[node], !execution.state.isTerminal else { return nil }
                    execution.state = .skipped
                    execution.reason = "not run: " + reason
                    return execution
                }
                logger.notice("Rollout aborted", metadata: ["job.id": "\(id)", "reason": "\(reason)"])
                break decide
            case .wait(let until):
                job.rolloutDue = until
                break decide
            case .paused, .complete:
                break decide
            }
        }
        job.rollout = rollout
        if rollout != before { pending.rollouts[id] = rollout }
        close(id, skipped, at: time, advancingRollout: false)
    }

    /// Sends the job to a released batch, node by node, after the release is committed.
    private func release(_ job: ActiveJob, _ nodes: [String]) {
        guard let selector = try? Selector(parsing: job.record.selector) else { return }
        for node in nodes where job.executions[node]?.state.isTerminal == false {
            pending.afterCommit.append(Publication(
                topic: topics.nodeJob(node), payload: Wire.encode(jobMessage(job.record, selector: selector, nodes: [node]))))
        }
    }

    /// Rollouts whose wait has ended.
    func advanceDueRollouts(at time: Double) {
        var due: [String] = []
        for (id, job) in active where job.rolloutDue.map({ $0 <= time }) ?? false { due.append(id) }
        for id in due.sorted() { advanceRollout(id) }
    }

    /// `jobs.pause` / `jobs.resume`: holds the next batch (what runs finishes) or lets it go.
    package func setPaused(_ paused: Bool, _ request: RolloutControlRequest) throws -> JobView? {
        try request.validate()
        guard let job = active[request.id] else { return nil }
        guard var rollout = job.rollout else {
            throw EngineError("job '\(request.id)' is not a rollout: it went to every node at once; "
                              + "`shoal jobs cancel \(request.id)` stops it")
        }
        if rollout.abortReason != nil {
            throw EngineError("job '\(request.id)' is aborted (\(rollout.abortReason ?? "")); nothing is left to \(paused ? "pause" : "resume")")
        }
        if paused && rollout.released >= rollout.batches.count {
            throw EngineError("job '\(request.id)' has sent every batch; nothing is left to pause (`shoal jobs cancel \(request.id)` stops it)")
        }
        if paused { rollout.pause() } else { rollout.resume() }
        job.rollout = rollout
        pending.rollouts[request.id] = rollout
        record(paused ? .pause : .resume, request.id, actor: request.actor,
               detail: "\(rollout.released) of \(rollout.batches.count) batches released")
        if !paused { advanceRollout(request.id) }
        let counts = job.executions.values.reduce(into: [String: Int]()) { $0[$1.state.rawValue, default: 0] += 1 }
        return jobView(job.record, counts: counts, rollout: active[request.id]?.rollout ?? job.rollout)
    }
}
