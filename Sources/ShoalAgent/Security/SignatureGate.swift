import ShoalCore
import Synchronization

/// The agent's signature checks: `SignatureVerifier`'s rules, then the replay guard, whose
/// state (nonces seen) lives here. Thread-safe: jobs are handled concurrently.
final class SignatureGate: Sendable {
    private let verifier: SignatureVerifier
    private let replays: Mutex<ReplayGuard>

    init(verifier: SignatureVerifier) {
        self.verifier = verifier
        replays = Mutex(ReplayGuard(skewAllowance: verifier.skewAllowance))
    }

    var isEnforcing: Bool { verifier.isEnforcing }

    /// Nil when the message may be acted on; otherwise why not (reported as the reason).
    /// `repeatAllowed`: a message seen before under the same subject passes (a job: its
    /// ledger claim decides whether it is a redelivery, and two deliveries of one job may
    /// race here); for a control operation it is refused.
    func refusal(_ signature: OperatorSignature?, of content: some SignableContent, now: Double,
                 repeatAllowed: Bool) -> String? {
        switch verifier.verify(signature, of: content, now: now) {
        case .notChecked:
            return nil
        case .rejected(let reason):
            return reason
        case .valid:
            // `valid` implies a signature.
            guard let signature else { return nil }
            let verdict = replays.withLock { $0.admit(signature, subject: content.replaySubject, now: now) }
            switch verdict {
            case .fresh: return nil
            case .repeated: return repeatAllowed ? nil : "replayed: this signed message was already received"
            case .replayed: return "replayed: nonce \(signature.nonce) of key \(signature.signer) was already used for another message"
            }
        }
    }

    func forgetExpired(now: Double) {
        replays.withLock { $0.forgetExpired(now: now) }
    }
}
