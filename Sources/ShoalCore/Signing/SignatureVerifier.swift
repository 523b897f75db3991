/// Whether an agent may act on a signed (or unsigned) job or control message: the rules,
/// pure, with the clock passed in. Checked in this order, each failure a reason an
/// operator can act on:
///
/// 1. unsigned: accepted only while the agent trusts no key and does not require signatures;
/// 2. malformed signature (shape: `OperatorSignature.validate`);
/// 3. signer not trusted here;
/// 4. forged: the signature does not verify over the canonical bytes (a modified field,
///    the wrong key);
/// 5. expired (`now > expiresAt + skew`), or valid for longer than
///    `OperatorSignature.maximumValidity` (+ skew): a genuine but stale or overlong message.
///
/// An agent with no trusted key and without `--require-signatures` checks nothing: the
/// fleet has not turned signing on.
public struct SignatureVerifier: Sendable {
    public var trusted: TrustedKeys
    public var required: Bool
    /// How far this node's clock may be off the signer's, in seconds.
    public var skewAllowance: Double

    public init(trusted: TrustedKeys, required: Bool = false, skewAllowance: Double = 5) {
        self.trusted = trusted
        self.required = required
        self.skewAllowance = skewAllowance
    }

    /// Whether signatures are checked at all.
    public var isEnforcing: Bool { required || !trusted.isEmpty }

    public enum Verdict: Sendable, Equatable {
        /// Signing is off here; the message is taken as it is.
        case notChecked
        /// Signed by this trusted key, and current.
        case valid(signer: String)
        case rejected(String)
    }

    public func verify(_ signature: OperatorSignature?, of content: some SignableContent, now: Double) -> Verdict {
        guard isEnforcing else { return .notChecked }
        let kind = type(of: content).signedKind
        guard let signature else {
            return .rejected("unsigned: this node runs only \(kind)s signed by a trusted operator key (shoal keys create; shoal run signs with it)")
        }
        do {
            try signature.validate()
        } catch {
            return .rejected("invalid signature: \(error.description)")
        }
        guard let key = trusted[signature.signer] else {
            return .rejected("signed by key \(signature.signer), which this node does not trust (shoal keys trust on the node)")
        }
        let message = CanonicalForm.of(content, signer: signature.signer, expiresAt: signature.expiresAt, nonce: signature.nonce)
        // `validate` checked that the value decodes to 64 bytes.
        guard let bytes = Base64.decode(signature.value), key.isValidSignature(bytes, for: message) else {
            return .rejected("forged: the signature of key \(signature.signer) does not match this \(kind)'s content")
        }
        guard now.isFinite else { return .rejected("this node's clock is unreadable") }
        if now > signature.expiresAt + skewAllowance {
            return .rejected("expired: the signature was valid until \(Self.show(signature.expiresAt)), \(DurationText.format(now - signature.expiresAt)) ago")
        }
        if signature.expiresAt - now > OperatorSignature.maximumValidity + skewAllowance {
            return .rejected("signature valid for \(DurationText.format(signature.expiresAt - now)), longer than the \(DurationText.format(OperatorSignature.maximumValidity)) allowed (check the signer's clock)")
        }
        return .valid(signer: signature.signer)
    }

    private static func show(_ time: Double) -> String { "\(Int64(time)) (UNIX)" }
}
