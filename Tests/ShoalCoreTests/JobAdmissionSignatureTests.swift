import ShoalCore
import Testing

/// JobAdmission's order for a node that checks signatures: a redelivery first, then the
/// signature, and only then the claim.
@Suite struct JobAdmissionSignatureTests {
    let job = JobMessage(id: "j", selector: .all, task: .shell("true"), timeout: 10, deadline: 2e9, nodes: ["n"], createdAt: 1.9e9)

    func decide(claimedBefore: Bool, refusal: String?, claimed: inout [String]) -> JobAdmission {
        JobAdmission.decide(job, listed: true, labels: [:], now: 1.9e9, skewAllowance: 5,
                            claimedBefore: { claimedBefore }, authorize: { refusal },
                            claim: { [job] in claimed.append(job.id); return true })
    }

    @Test func anUnauthorizedJobIsRefusedWithoutBeingClaimed() {
        var claimed: [String] = []
        #expect(decide(claimedBefore: false, refusal: "forged: x", claimed: &claimed) == .refuse("forged: x"))
        #expect(claimed.isEmpty)
        #expect(decide(claimedBefore: false, refusal: nil, claimed: &claimed) == .run)
        #expect(claimed == ["j"])
    }

    @Test func aJobClaimedBeforeIsARedeliveryWhateverItsSignatureSaysNow() {
        var claimed: [String] = []
        #expect(decide(claimedBefore: true, refusal: "expired: x", claimed: &claimed) == .duplicate)
        #expect(claimed.isEmpty)
    }

    @Test func aJobForAnotherNodeIsNotVerified() {
        var asked = false
        let admission = JobAdmission.decide(job, listed: false, labels: [:], now: 1.9e9, skewAllowance: 5,
                                            claimedBefore: { false }, authorize: { asked = true; return nil }, claim: { true })
        #expect(admission == .notForThisNode && !asked)
    }
}
