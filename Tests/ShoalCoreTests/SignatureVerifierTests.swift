import ShoalCore
import Testing

/// The agent's signature rules, with the clock passed in.
@Suite struct SignatureVerifierTests {
    static let now = 1_800_000_000.0
    let key = OperatorPrivateKey()
    let content = JobSigningContent(id: "job-1", selector: "role=web", task: .shell("uptime"), timeout: 30)
    var verifier: SignatureVerifier { SignatureVerifier(trusted: TrustedKeys([key.publicKey]), skewAllowance: 5) }

    func signed(_ content: JobSigningContent? = nil, expiresAt: Double? = nil, by signer: OperatorPrivateKey? = nil) -> OperatorSignature {
        (signer ?? key).sign(content ?? self.content, expiresAt: expiresAt ?? SignatureVerifierTests.now + 600,
                             nonce: "nonce-0123456789abcd")
    }

    func reason(_ verdict: SignatureVerifier.Verdict) -> String {
        if case .rejected(let reason) = verdict { return reason }
        return "accepted"
    }

    @Test func aSignatureByATrustedKeyOverItsContentIsValid() {
        #expect(verifier.verify(signed(), of: content, now: Self.now) == .valid(signer: key.id))
    }

    @Test func withoutTrustedKeysNothingIsChecked() {
        let open = SignatureVerifier(trusted: TrustedKeys())
        #expect(open.verify(nil, of: content, now: Self.now) == .notChecked)
        let strict = SignatureVerifier(trusted: TrustedKeys(), required: true)
        #expect(reason(strict.verify(nil, of: content, now: Self.now)).hasPrefix("unsigned"))
        #expect(reason(strict.verify(signed(), of: content, now: Self.now)).contains("does not trust"))
    }

    @Test func unsignedIsRefusedOnceAKeyIsTrusted() {
        #expect(reason(verifier.verify(nil, of: content, now: Self.now)).hasPrefix("unsigned"))
    }

    @Test func anotherKeyIsNotTrusted() {
        let other = OperatorPrivateKey()
        #expect(reason(verifier.verify(signed(by: other), of: content, now: Self.now)).contains("does not trust"))
        // Claiming the trusted key's id does not help: the signature is checked with the trusted key.
        var impostor = signed(by: other)
        impostor.signer = key.id
        #expect(reason(verifier.verify(impostor, of: content, now: Self.now)).hasPrefix("forged"))
    }

    @Test func everyModifiedFieldIsAForgery() {
        let signature = signed()
        var modified: [JobSigningContent] = []
        for change in 0..<5 {
            var copy = content
            switch change {
            case 0: copy.id = "job-2"
            case 1: copy.selector = "role=db"
            case 2: copy.task = .shell("rm -rf /")
            case 3: copy.timeout = 31
            default: copy.incident = true
            }
            modified.append(copy)
        }
        for copy in modified {
            #expect(reason(verifier.verify(signature, of: copy, now: Self.now)).hasPrefix("forged"))
        }
        var later = signature
        later.expiresAt += 3600
        #expect(reason(verifier.verify(later, of: content, now: Self.now)).hasPrefix("forged"))
        var renonced = signature
        renonced.nonce = "nonce-0123456789abce"
        #expect(reason(verifier.verify(renonced, of: content, now: Self.now)).hasPrefix("forged"))
        var flipped = signature
        var bytes = Base64.decode(flipped.value) ?? []
        bytes[10] ^= 1
        flipped.value = Base64.encode(bytes)
        #expect(reason(verifier.verify(flipped, of: content, now: Self.now)).hasPrefix("forged"))
    }

    @Test func aJobSignatureDoesNotVerifyAControlOperation() {
        let signature = signed()
        let control = ControlSigningContent(op: "cancel", job: "job-1")
        #expect(reason(verifier.verify(signature, of: control, now: Self.now)).hasPrefix("forged"))
        let cancel = key.sign(control, expiresAt: Self.now + 60, nonce: "nonce-0123456789abcd")
        #expect(verifier.verify(cancel, of: control, now: Self.now) == .valid(signer: key.id))
        var elsewhere = control
        elsewhere.node = "other"
        #expect(reason(verifier.verify(cancel, of: elsewhere, now: Self.now)).hasPrefix("forged"))
    }

    /// Expiry with the clock skew allowance on both sides.
    @Test func expiryAllowsForClockSkew() {
        let signature = signed(expiresAt: Self.now)
        #expect(verifier.verify(signature, of: content, now: Self.now + 5) == .valid(signer: key.id))
        #expect(reason(verifier.verify(signature, of: content, now: Self.now + 5.001)).hasPrefix("expired"))
        let long = signed(expiresAt: Self.now + OperatorSignature.maximumValidity)
        #expect(verifier.verify(long, of: content, now: Self.now - 5) == .valid(signer: key.id))
        #expect(reason(verifier.verify(long, of: content, now: Self.now - 6)).contains("longer than"))
    }

    @Test func extremeExpiriesAreRefusedByName() {
        for value in [1e300, -1, .nan, .infinity, -.infinity, 0, 9_999_999_999.5, Double.greatestFiniteMagnitude] {
            let signature = signed(expiresAt: value)
            let text = reason(verifier.verify(signature, of: content, now: Self.now))
            #expect(text.contains("signature.expiresAt") || text.hasPrefix("expired") || text.contains("longer than"), "\(value): \(text)")
        }
    }

    @Test func malformedSignaturesAreRefusedByField() {
        let good = signed()
        var cases: [(OperatorSignature, String)] = []
        var empty = good; empty.value = ""; cases.append((empty, "signature.value"))
        var huge = good; huge.value = String(repeating: "A", count: 1 << 20); cases.append((huge, "signature.value"))
        var notBase64 = good; notBase64.value = String(repeating: "!", count: 88); cases.append((notBase64, "signature.value"))
        var short = good; short.value = Base64.encode([UInt8](repeating: 1, count: 63)); cases.append((short, "signature.value"))
        var noSigner = good; noSigner.signer = ""; cases.append((noSigner, "signature.signer"))
        var hugeSigner = good; hugeSigner.signer = String(repeating: "a", count: 65); cases.append((hugeSigner, "signature.signer"))
        var badSigner = good; badSigner.signer = "a/b"; cases.append((badSigner, "signature.signer"))
        var noNonce = good; noNonce.nonce = ""; cases.append((noNonce, "signature.nonce"))
        var shortNonce = good; shortNonce.nonce = "abc"; cases.append((shortNonce, "signature.nonce"))
        var hugeNonce = good; hugeNonce.nonce = String(repeating: "n", count: 129); cases.append((hugeNonce, "signature.nonce"))
        var nulNonce = good; nulNonce.nonce = "nonce-0123456789abc\u{0}"; cases.append((nulNonce, "signature.nonce"))
        for (signature, field) in cases {
            #expect(reason(verifier.verify(signature, of: content, now: Self.now)).contains(field))
        }
    }

    @Test func anUnreadableClockAcceptsNothing() {
        for now in [Double.nan, .infinity] {
            #expect(reason(verifier.verify(signed(), of: content, now: now)) != "accepted")
        }
    }

    /// A job forgotten by the ledger cannot come back: its signature has expired by then.
    @Test func signaturesExpireBeforeTheLedgerForgets() {
        #expect(OperatorSignature.maximumValidity + 60 < LedgerRetention.defaultKeep)
        #expect(OperatorSignature.maximumValidity >= Limits.deadlineIn.upperBound + 60)
    }

    @Test func submitValidationNamesTheSignatureField() {
        var request = SubmitJobRequest(id: "j", selector: "role=web", task: .shell("x"))
        request.signature = key.sign(request.signingContent!, expiresAt: Self.now, nonce: "nonce-0123456789abcd")
        #expect(throws: Never.self) { try request.validate() }
        request.id = nil
        #expect(throws: BoundsError.self) { try request.validate() }
        request.id = "j"
        request.signature?.value = "x"
        #expect((try? request.validate()) == nil)
    }
}
