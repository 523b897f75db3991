import ShoalCore
import Testing

@testable import ShoalAgent

/// The agent's gate: the verifier's rules, then nonces. A job seen again passes (its ledger
/// claim decides), a control operation seen again is a replay.
@Suite struct SignatureGateTests {
    let key = OperatorPrivateKey()
    let now = 1_800_000_000.0

    var gate: SignatureGate {
        SignatureGate(verifier: SignatureVerifier(trusted: TrustedKeys([key.publicKey]), skewAllowance: 5))
    }

    @Test func aControlOperationIsObeyedOnce() {
        let gate = self.gate
        let control = ControlSigningContent(op: "cancel", job: "j", node: "n")
        let signature = key.sign(control, expiresAt: now + 60, nonce: "nonce-0123456789abcd")
        #expect(gate.refusal(signature, of: control, now: now, repeatAllowed: false) == nil)
        #expect(gate.refusal(signature, of: control, now: now + 1, repeatAllowed: false)?.hasPrefix("replayed") == true)
        // After its expiry it is refused as expired, whether or not the nonce is still remembered.
        gate.forgetExpired(now: now + 120)
        #expect(gate.refusal(signature, of: control, now: now + 120, repeatAllowed: false)?.hasPrefix("expired") == true)
    }

    @Test func aJobSeenAgainIsLeftToTheLedgerButItsNonceIsNotReusable() {
        let gate = self.gate
        let job = JobSigningContent(id: "j1", selector: "", task: .shell("true"), timeout: 5)
        let signature = key.sign(job, expiresAt: now + 60, nonce: "nonce-0123456789abcd")
        #expect(gate.refusal(signature, of: job, now: now, repeatAllowed: true) == nil)
        #expect(gate.refusal(signature, of: job, now: now, repeatAllowed: true) == nil)
        // The same key and nonce on another job (the operator's mistake, or worse): refused.
        var other = job
        other.id = "j2"
        let reused = key.sign(other, expiresAt: now + 60, nonce: "nonce-0123456789abcd")
        #expect(gate.refusal(reused, of: other, now: now, repeatAllowed: true)?.hasPrefix("replayed") == true)
    }

    @Test func anAgentWithoutKeysChecksNothing() {
        let open = SignatureGate(verifier: SignatureVerifier(trusted: TrustedKeys()))
        #expect(!open.isEnforcing)
        #expect(open.refusal(nil, of: ControlSigningContent(op: "cancel"), now: now, repeatAllowed: false) == nil)
    }
}
