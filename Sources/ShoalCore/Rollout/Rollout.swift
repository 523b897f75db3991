/// One job's rollout as it goes: which batch is out, when the next may start, whether it is
/// paused or has been aborted. Pure, with the time passed in; the engine asks `next` after
/// every change (a finished execution, a tick, pause/resume) and applies what it says.
public struct Rollout: Sendable, Equatable, Codable {
    public let plan: RolloutPlan
    public let batches: [[String]]
    /// How many batches have been released (their nodes sent the job).
    public private(set) var released: Int = 0
    /// When the last released batch ended (every node terminal), for `plan.wait`.
    public private(set) var lastBatchEndedAt: Double?
    public private(set) var paused = false
    /// Why the rollout stopped early; nil while it goes on or once it has finished.
    public private(set) var abortReason: String?

    public init(plan: RolloutPlan, nodes: [String]) {
        self.plan = plan
        self.batches = plan.batches(of: nodes)
    }

    public enum Decision: Sendable, Equatable {
        /// Send the job to these nodes now (the next batch).
        case release(batch: Int, nodes: [String])
        /// Nothing to do before this time (the wait between batches), or before more
        /// executions end (nil).
        case wait(until: Double?)
        /// Too many failures: these nodes, never sent the job, end `skipped` with the reason.
        case abort(reason: String, skipped: [String])
        /// Paused by an operator.
        case paused
        /// Every batch is out (what remains is the executions finishing).
        case complete
    }

    /// Failed means `failed`, `timed_out`, `rejected` or `unreachable`; `canceled` and
    /// `skipped` are an operator's doing and do not count.
    public static func isFailure(_ state: ExecutionState) -> Bool {
        state == .failed || state == .timedOut || state == .rejected || state == .unreachable
    }

    /// What to do now, given the state of every released node (`states`; a node missing
    /// counts as not finished) at `time`. Mutating: a release or an abort is recorded.
    public mutating func next(states: [String: ExecutionState], at time: Double) -> Decision {
        next(state: { states[$0] }, at: time)
    }

    /// `next(states:at:)` with each node's state looked up where it is kept (the engine's
    /// executions), instead of copied into a dictionary at every report.
    public mutating func next(state: (String) -> ExecutionState?, at time: Double) -> Decision {
        if abortReason != nil { return .complete }
        let total = batches.reduce(0) { $0 + $1.count }
        let released = batches.prefix(self.released)
        let failures = released.joined().filter { state($0).map(Self.isFailure) ?? false }.count
        if failures >= plan.abortsAt(total: total) {
            let reason = "rollout aborted: \(failures) node(s) failed, more than the \(plan.maxFailures) allowed"
            abortReason = reason
            // `released` stays as it was: how far the rollout got before it aborted.
            let skipped = Array(batches.dropFirst(self.released).joined())
            return .abort(reason: reason, skipped: skipped)
        }
        guard self.released < batches.count else { return .complete }
        if self.released > 0 {
            let previous = batches[self.released - 1]
            guard previous.allSatisfy({ state($0)?.isTerminal ?? false }) else { return .wait(until: nil) }
            // A canary must succeed, whatever the failure budget says.
            if self.released == 1 && plan.canary > 0,
               let failed = previous.first(where: { state($0) != .succeeded }) {
                let reason = "rollout aborted: canary \(failed) ended \(state(failed)?.rawValue ?? "unknown")"
                abortReason = reason
                let skipped = Array(batches.dropFirst(self.released).joined())
                return .abort(reason: reason, skipped: skipped)
            }
            if lastBatchEndedAt == nil { lastBatchEndedAt = time }
        }
        if paused { return .paused }
        if let ended = lastBatchEndedAt, time < ended + plan.wait { return .wait(until: ended + plan.wait) }
        let index = self.released
        self.released += 1
        lastBatchEndedAt = nil
        return .release(batch: index, nodes: batches[index])
    }

    public mutating func pause() { paused = true }
    public mutating func resume() { paused = false }
}
