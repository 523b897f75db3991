/// When an agent may forget a job it claimed. Its ledger entry is what makes a redelivery
/// harmless (it is not run twice) and what answers a resync, so it is kept while any
/// delivery or question can still come: a job is delivered until its deadline (at most
/// `Limits.deadlineIn` after creation) and asked about while it runs (at most
/// `Limits.timeout`), plus a margin for clocks and queues.
public struct LedgerRetention: Sendable, Equatable {
    public var keep: Double

    public static let defaultKeep = Limits.deadlineIn.upperBound + Limits.timeout.upperBound + 86_400

    public init(keep: Double = defaultKeep) {
        self.keep = keep
    }

    public func canForget(state: ExecutionState, claimedAt: Double, now: Double) -> Bool {
        state.isTerminal && now - claimedAt > keep
    }
}
