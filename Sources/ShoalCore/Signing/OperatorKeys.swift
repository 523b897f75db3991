// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A key's id: the first 8 bytes of the SHA-256 of its raw public key, in hex. A lookup
/// hint for the verifier (which public key to try), not a secret and not the proof: a
/// signature verifies only under the trusted key itself.
public enum OperatorKeyID {
    public static func of(publicKey raw: [UInt8]) -> String {
        Ed25519.sha256(raw).prefix(8).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    static func isIDByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x3A
    }
}

/// An operator's Ed25519 public key, as agents trust it. Its text form is one line,
/// `ed25519 <base64 of the 32-byte key> [name]`, like an ssh `authorized_keys` line.
public struct OperatorPublicKey: Sendable, Equatable, Hashable {
    public let raw: [UInt8]
    /// A name for people (`shoal keys list`); not part of what is verified.
    public var name: String
    public let id: String

    public init(raw: [UInt8], name: String = "") throws(BoundsError) {
        guard raw.count == Ed25519.publicKeyBytes else {
            throw BoundsError(field: "public key", "is not an Ed25519 public key (32 bytes)")
        }
        self.raw = raw
        self.name = name
        self.id = OperatorKeyID.of(publicKey: raw)
    }

    public var base64: String { Base64.encode(raw) }

    /// `ed25519 <base64> <name>`.
    public var line: String { "ed25519 \(base64)" + (name.isEmpty ? "" : " \(name)") }

    /// Reads one line: `ed25519 <base64> [name]`, or a bare base64 key.
    public init(line: String) throws(BoundsError) {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        let keyWord: String, name: String
        switch words.first {
        case "ed25519"? where words.count >= 2:
            keyWord = words[1]
            name = words.dropFirst(2).joined(separator: " ")
        case let first? where words.count == 1:
            keyWord = first
            name = ""
        default:
            throw BoundsError(field: "public key", "expected 'ed25519 BASE64 [NAME]' (a line of `shoal keys list -o csv` or a .pub file)")
        }
        guard let raw = Base64.decode(keyWord) else {
            throw BoundsError(field: "public key", "'\(Bounds.prefix(keyWord, maxBytes: 60).text)' is not base64")
        }
        try self.init(raw: raw, name: String(Bounds.prefix(name, maxBytes: Limits.labelBytes).text))
    }

    /// Whether `signature` (64 bytes) is this key's over `message`.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        Ed25519.isValid(signature, of: message, publicKey: raw)
    }
}

/// The public keys an agent trusts, by id. Read from `.pub` files or a keys file: one key
/// per line, blank lines and `#` comments ignored.
public struct TrustedKeys: Sendable, Equatable {
    public private(set) var keys: [String: OperatorPublicKey] = [:]

    public init(_ keys: [OperatorPublicKey] = []) {
        for key in keys { self.keys[key.id] = key }
    }

    public var isEmpty: Bool { keys.isEmpty }

    public subscript(id: String) -> OperatorPublicKey? { keys[id] }

    public mutating func add(_ key: OperatorPublicKey) { keys[key.id] = key }

    /// Every key in `text`; a bad line is an error naming its number (a trust file that
    /// half-loads would trust less, or more, than its author meant).
    public static func parse(_ text: String, source: String) throws(BoundsError) -> [OperatorPublicKey] {
        var found: [OperatorPublicKey] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            do {
                found.append(try OperatorPublicKey(line: String(trimmed)))
            } catch {
                throw BoundsError(field: "\(source):\(index + 1)", error.problem)
            }
        }
        return found
    }
}

/// An operator's Ed25519 private key: signs. Never printed: its description is its id.
/// Its file holds one line, `shoal-ed25519-private-key <base64 of the 32-byte seed>`.
public struct OperatorPrivateKey: Sendable, CustomStringConvertible {
    private let seed: [UInt8]
    public let publicKey: OperatorPublicKey

    public static let fileTag = "shoal-ed25519-private-key"

    public init() {
        seed = Ed25519.makeSeed()
        // Any 32 bytes are a valid seed, whose public half is 32 bytes.
        publicKey = try! OperatorPublicKey(raw: Ed25519.publicKey(seed: seed)!)
    }

    public init(fileContents text: String, name: String = "") throws(BoundsError) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        guard words.count == 2, words[0] == Self.fileTag, let seed = Base64.decode(String(words[1])),
              let publicKey = Ed25519.publicKey(seed: seed) else {
            throw BoundsError(field: "private key", "is not a Shoal private key file ('\(Self.fileTag) BASE64')")
        }
        self.seed = seed
        self.publicKey = try OperatorPublicKey(raw: publicKey, name: name)
    }

    /// What the key file holds: the secret. Only for writing that file.
    public var fileContents: String { "\(Self.fileTag) \(Base64.encode(seed))\n" }

    public var id: String { publicKey.id }

    public var description: String { "OperatorPrivateKey(\(publicKey.id))" }

    /// Signs `content` until `expiresAt`, with a fresh nonce from `generator`.
    public func sign(_ content: some SignableContent, expiresAt: Double,
                     using generator: inout some RandomNumberGenerator) -> OperatorSignature {
        sign(content, expiresAt: expiresAt, nonce: OperatorSignature.makeNonce(using: &generator))
    }

    public func sign(_ content: some SignableContent, expiresAt: Double, nonce: String) -> OperatorSignature {
        let message = CanonicalForm.of(content, signer: id, expiresAt: expiresAt, nonce: nonce)
        // Ed25519 signing of bytes in memory fails only if libsodium cannot initialize.
        let signature = Ed25519.sign(message, seed: seed) ?? []
        return OperatorSignature(signer: id, value: Base64.encode(signature), expiresAt: expiresAt, nonce: nonce)
    }
}
