/// The nonces of signed messages this agent has acted on, until their signatures expire:
/// a control message seen again (a replay by someone who captured it) is refused, and a
/// nonce reused for another job id is a replay too. A job redelivered under its own id
/// passes here: the ledger, which outlives every signature (`OperatorSignature.maximumValidity`
/// < `LedgerRetention.defaultKeep`), knows it was claimed.
///
/// Pure: times come in. Bounded: past `capacity`, the entry expiring first is dropped
/// (that message is then protected by its expiry alone).
public struct ReplayGuard: Sendable {
    private struct Seen: Sendable {
        var subject: String
        var expiresAt: Double
    }

    private var seen: [String: Seen] = [:]
    public let capacity: Int
    public let skewAllowance: Double

    public init(capacity: Int = 10_000, skewAllowance: Double = 5) {
        self.capacity = max(1, capacity)
        self.skewAllowance = skewAllowance
    }

    public var count: Int { seen.count }

    public enum Verdict: Sendable, Equatable {
        /// First sight: recorded.
        case fresh
        /// Seen before with this subject: a redelivery.
        case repeated
        /// Seen before with another subject.
        case replayed
    }

    /// Records `signature`'s nonce for `subject` (call only for verified signatures).
    public mutating func admit(_ signature: OperatorSignature, subject: String, now: Double) -> Verdict {
        let key = signature.signer + " " + signature.nonce
        if let previous = seen[key], now <= previous.expiresAt + skewAllowance {
            return previous.subject == subject ? .repeated : .replayed
        }
        if seen.count >= capacity { forgetExpired(now: now) }
        if seen.count >= capacity, let first = seen.min(by: { $0.value.expiresAt < $1.value.expiresAt }) {
            seen[first.key] = nil
        }
        seen[key] = Seen(subject: subject, expiresAt: signature.expiresAt)
        return .fresh
    }

    /// Drops nonces whose signatures have expired: no message carrying them is accepted any more.
    public mutating func forgetExpired(now: Double) {
        seen = seen.filter { now <= $0.value.expiresAt + skewAllowance }
    }
}
