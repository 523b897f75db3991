import CEd25519

/// Ed25519 signatures and SHA-256 through libsodium (Package.swift says why neither
/// swift-crypto nor OpenSSL). Byte arrays in and out.
enum Ed25519 {
    static let seedBytes = 32, publicKeyBytes = 32, signatureBytes = 64

    /// A new private seed from the system's random source.
    static func makeSeed() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<seedBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    static func publicKey(seed: [UInt8]) -> [UInt8]? {
        guard seed.count == seedBytes else { return nil }
        var key = [UInt8](repeating: 0, count: publicKeyBytes)
        return shoal_ed25519_public_key(seed, &key) == 1 ? key : nil
    }

    static func sign(_ message: [UInt8], seed: [UInt8]) -> [UInt8]? {
        guard seed.count == seedBytes else { return nil }
        var signature = [UInt8](repeating: 0, count: signatureBytes)
        return shoal_ed25519_sign(seed, message, message.count, &signature) == 1 ? signature : nil
    }

    static func isValid(_ signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == signatureBytes, publicKey.count == publicKeyBytes else { return false }
        return shoal_ed25519_verify(publicKey, message, message.count, signature) == 1
    }

    static func sha256(_ message: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        // Fails only if libsodium cannot initialize (no random source), which a process
        // that got this far has.
        precondition(shoal_sha256(message, message.count, &digest) == 1, "SHA-256 failed: libsodium did not initialize")
        return digest
    }
}
