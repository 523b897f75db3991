/// The signature a job or control message carries: who signed (a key id), the Ed25519
/// signature over `CanonicalForm` (base64), until when it may be acted on, and a nonce.
/// On the wire: `"signature": {"expiresAt": ..., "nonce": "...", "signer": "...", "value": "..."}`.
public struct OperatorSignature: Sendable, Codable, Equatable, Hashable {
    /// The signing key's id (`OperatorKeyID`): which trusted public key verifies it.
    public var signer: String
    /// 64 bytes of Ed25519 signature, base64.
    public var value: String
    /// UNIX time after which no node acts on the message: bounds the replay window.
    public var expiresAt: Double
    /// Random, chosen by the signer: a replay of a control message is recognised by it.
    public var nonce: String

    public init(signer: String, value: String, expiresAt: Double, nonce: String) {
        self.signer = signer
        self.value = value
        self.expiresAt = expiresAt
        self.nonce = nonce
    }

    /// The longest validity a signature may state: shorter than `LedgerRetention.defaultKeep`,
    /// so that an agent forgets a job only after every signature on it has expired, and long
    /// enough for the longest deadline (`Limits.deadlineIn`) plus a submission's slack.
    public static let maximumValidity: Double = 31 * 86_400
    /// Bytes of a nonce: at least 16 (96 random bits in base64), at most 128.
    public static let nonceBytes = 16...128
    public static let signerBytes = 1...64

    /// Shapes only (no key, no clock): what the dispatcher can check at submission.
    public func validate(field: String = "signature") throws(BoundsError) {
        guard Self.signerBytes.contains(signer.utf8.count), signer.utf8.allSatisfy(OperatorKeyID.isIDByte) else {
            throw BoundsError(field: field + ".signer", "is not a key id (\(Self.signerBytes) letters, digits, '-' or ':'); see `shoal keys list`")
        }
        guard value.utf8.count == 88, let bytes = Base64.decode(value), bytes.count == 64 else {
            throw BoundsError(field: field + ".value", "is not a base64 Ed25519 signature (64 bytes, 88 characters)")
        }
        guard Self.nonceBytes.contains(nonce.utf8.count), nonce.utf8.allSatisfy(Self.isNonceByte) else {
            throw BoundsError(field: field + ".nonce", "must be \(Self.nonceBytes) characters of A-Z a-z 0-9 - _")
        }
        try Bounds.checkTimestamp(expiresAt, field + ".expiresAt")
    }

    static func isNonceByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x5F
    }

    /// A fresh nonce: 16 random bytes, base64url without padding (22 characters).
    public static func makeNonce(using generator: inout some RandomNumberGenerator) -> String {
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Base64.encode(bytes, urlSafe: true)
    }
}
