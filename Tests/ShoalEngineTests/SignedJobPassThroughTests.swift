import ShoalCore
import Testing

@testable import ShoalEngine

/// The dispatcher holds no key: it publishes an operator's signature with the job exactly
/// as submitted, at the first sending and at every re-send, and checks only its shape.
@Suite struct SignedJobPassThroughTests {
    @Test func theSignatureTravelsUnchangedWithEverySending() throws {
        let fixture = EngineFixture()
        fixture.birth("n", labels: ["role": "web"])
        let key = OperatorPrivateKey()
        var request = SubmitJobRequest(id: "signed", selector: "role=web", task: .shell("uptime"), timeout: 30)
        let signature = key.sign(try #require(request.signingContent), expiresAt: fixture.now + 600, nonce: "nonce-0123456789abcd")
        request.signature = signature
        let submission = try fixture.engine.plan(request, id: "signed")
        #expect(submission.job.signature == signature)
        let published = try submission.publications.map { try Wire.decode(JobMessage.self, from: $0.payload) }
        #expect(!published.isEmpty && published.allSatisfy { $0.signature == signature })
        #expect(published.allSatisfy { $0.signingContent == request.signingContent })
        _ = fixture.engine.accept(submission)
        #expect(fixture.engine.jobView(submission.job, counts: [:]).signer == key.id)

        // A re-send after a restart (from the stored record) carries it too.
        let restarted = EngineFixture(recovered: DispatchEngine.Recovered(unfinished: [(submission.job, [
            ExecutionRecord(job: "signed", node: "n", state: .queued, updatedAt: fixture.now),
        ], [:])]))
        restarted.engine.resendUnfinished()
        let resent = restarted.engine.takeOutbox().compactMap { try? Wire.decode(JobMessage.self, from: $0.payload) }
        #expect(resent.map(\.signature) == [signature])
    }

    @Test func aMalformedSignatureIsRefusedAtSubmission() {
        let fixture = EngineFixture()
        var request = SubmitJobRequest(id: "signed", selector: "", all: true, task: .shell("uptime"))
        request.signature = OperatorSignature(signer: "0123456789abcdef", value: "not base64", expiresAt: fixture.now, nonce: "nonce-0123456789abcd")
        #expect(throws: BoundsError(field: "signature.value", "is not a base64 Ed25519 signature (64 bytes, 88 characters)")) {
            try fixture.engine.plan(request, id: "signed")
        }
        request.signature?.value = String(repeating: "A", count: 86) + "=="
        request.id = nil
        #expect(throws: BoundsError.self) { try fixture.engine.plan(request, id: "made-by-dispatcher") }
    }
}
