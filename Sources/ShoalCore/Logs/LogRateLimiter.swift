/// A token bucket per log source: up to `rate` lines a second on average, in bursts of up
/// to one second's worth. Pure: the caller passes the time (UNIX or monotonic seconds,
/// as long as it is always the same clock).
public struct LogRateLimiter: Sendable, Equatable {
    public let rate: Double
    private var tokens: Double
    private var refilledAt: Double?

    /// `rate` lines a second (checked where it enters: `Limits.logRate`).
    public init(rate: Int) {
        self.rate = Double(rate)
        self.tokens = Double(rate)
    }

    /// True when one more line may go now; false when it must be dropped (and counted).
    public mutating func admit(now: Double) -> Bool {
        if let refilledAt {
            tokens = min(rate, tokens + max(0, now - refilledAt) * rate)
        }
        // A clock that went back refills nothing, now or later.
        refilledAt = max(refilledAt ?? now, now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
