import ShoalCore
import Testing

@Suite struct ReplayGuardTests {
    func signature(_ nonce: String, expiresAt: Double = 1_000, signer: String = "k") -> OperatorSignature {
        OperatorSignature(signer: signer, value: "", expiresAt: expiresAt, nonce: nonce)
    }

    @Test func aNonceIsFreshOnceThenARepeatOrAReplay() {
        var replays = ReplayGuard(skewAllowance: 5)
        #expect(replays.admit(signature("n1"), subject: "job a", now: 100) == .fresh)
        #expect(replays.admit(signature("n1"), subject: "job a", now: 101) == .repeated)
        #expect(replays.admit(signature("n1"), subject: "job b", now: 102) == .replayed)
        // Nonces are the signer's own: another key's same nonce is another message.
        #expect(replays.admit(signature("n1", signer: "k2"), subject: "job b", now: 102) == .fresh)
    }

    @Test func expiredNoncesAreForgotten() {
        var replays = ReplayGuard(skewAllowance: 5)
        _ = replays.admit(signature("n1", expiresAt: 100), subject: "s", now: 50)
        replays.forgetExpired(now: 105)
        #expect(replays.count == 1)
        replays.forgetExpired(now: 105.5)
        #expect(replays.count == 0)
    }

    @Test func itStaysWithinItsCapacity() {
        var replays = ReplayGuard(capacity: 3, skewAllowance: 0)
        for index in 0..<10 {
            #expect(replays.admit(signature("n\(index)", expiresAt: 1_000 + Double(index)), subject: "s", now: 0) == .fresh)
        }
        #expect(replays.count == 3)
        // The latest stay; the ones expiring first went.
        #expect(replays.admit(signature("n9", expiresAt: 1_009), subject: "s", now: 0) == .repeated)
    }
}
