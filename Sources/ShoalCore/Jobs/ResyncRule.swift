/// When the dispatcher asks a node again about an execution that stays open.
///
/// A node's report can be lost where no acknowledgement protects it: taken from the
/// broker by a dispatcher that was killed before committing it, or held only in the
/// memory of a broker that was killed. The node's ledger still knows the outcome, so the
/// dispatcher re-sends the job to the node: the ledger turns a job it has already claimed
/// into a repeat of its recorded outcome, and a job it never received into a first run
/// (exactly once either way). This rule says when that is due; it is cheap to be wrong
/// (one message), and costs nothing while reports arrive in time.
public struct ResyncRule: Sendable, Equatable {
    /// An execution still `queued` this long after the job was published (or after the
    /// last resync) on an online node is asked about.
    public var queuedAfter: Double
    /// Extra time past a started execution's time limit before it is asked about.
    public var overrunGrace: Double
    /// The least time between two resyncs of one execution.
    public var interval: Double

    public init(queuedAfter: Double = 30, overrunGrace: Double = 10, interval: Double = 30) {
        self.queuedAfter = queuedAfter
        self.overrunGrace = overrunGrace
        self.interval = interval
    }

    /// Whether an execution in `state` should be re-sent to its node at `now`.
    /// `startedAt` is the node's start (nil until it reported one); `lastResync` nil when never.
    /// An execution an operator canceled (`cancelRequested`) is asked about (sent `cancel`
    /// again) every `interval` until its node answers: the process may be running on.
    public func isDue(state: ExecutionState, nodeOnline: Bool, createdAt: Double, startedAt: Double?,
                      timeout: Double, lastResync: Double?, now: Double, cancelRequested: Bool = false) -> Bool {
        guard nodeOnline, !state.isTerminal else { return false }
        if let lastResync, now - lastResync < interval { return false }
        if cancelRequested { return true }
        switch state {
        case .queued:
            return now - max(createdAt, lastResync ?? createdAt) >= queuedAfter
        default:
            return now >= (startedAt ?? createdAt) + timeout + overrunGrace
        }
    }
}
