/// Where one node is with one job. Transitions only move forward; terminal states are final.
public enum ExecutionState: String, Sendable, Codable, CaseIterable, Comparable {
    /// Expected, not yet acknowledged by the node.
    case queued
    case accepted
    case running
    case succeeded
    case failed
    case timedOut = "timed_out"
    case canceled
    /// The node refused it: signature, expiry, deadline or selector mismatch.
    case rejected
    /// The deadline passed and the node never acknowledged the job.
    case unreachable
    /// Not run: the node was forgotten while the job waited for it.
    case skipped

    public var isTerminal: Bool { rank >= 3 }

    private var rank: Int {
        switch self {
        case .queued: 0
        case .accepted: 1
        case .running: 2
        default: 3
        }
    }

    public static func < (lhs: ExecutionState, rhs: ExecutionState) -> Bool { lhs.rank < rhs.rank }

    /// The state after a report of `next`, or nil when the report is stale or a duplicate
    /// (it would move backwards, or change a terminal state).
    public func advanced(to next: ExecutionState) -> ExecutionState? {
        guard !isTerminal, next.rank > rank else { return nil }
        return next
    }
}
