import ShoalCore
import Testing

@Suite struct OperatorKeyTests {
    /// RFC 8032, section 7.1, TEST 1 and TEST 2: the system's libcrypto computes Ed25519 as
    /// the standard says (the same key derivation, the same deterministic signatures).
    @Test func ed25519MatchesTheRFC8032TestVectors() throws {
        func bytes(_ hex: String) -> [UInt8] {
            stride(from: 0, to: hex.count, by: 2).map { offset in
                let start = hex.index(hex.startIndex, offsetBy: offset)
                return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
            }
        }
        let vectors: [(seed: String, publicKey: String, message: String, signature: String)] = [
            ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
             "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
             "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
            ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
             "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
             "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ]
        for vector in vectors {
            let key = try OperatorPrivateKey(fileContents: "\(OperatorPrivateKey.fileTag) \(Base64.encode(bytes(vector.seed)))")
            #expect(key.publicKey.raw == bytes(vector.publicKey))
            #expect(key.publicKey.isValidSignature(bytes(vector.signature), for: bytes(vector.message)))
            var forged = bytes(vector.signature)
            forged[0] ^= 1
            #expect(!key.publicKey.isValidSignature(forged, for: bytes(vector.message)))
            #expect(!key.publicKey.isValidSignature(bytes(vector.signature), for: bytes(vector.message) + [0]))
        }
    }

    @Test func aPrivateKeyFileRoundTripsAndNeverPrintsItself() throws {
        let key = OperatorPrivateKey()
        let reread = try OperatorPrivateKey(fileContents: key.fileContents, name: "alice")
        #expect(reread.publicKey.raw == key.publicKey.raw)
        #expect(reread.id == key.id && key.id.count == 16)
        let secret = key.fileContents.split(separator: " ")[1].trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!"\(key)".contains(secret) && "\(key)" == "OperatorPrivateKey(\(key.id))")
        for bad in ["", "shoal-ed25519-private-key", "shoal-ed25519-private-key AAAA", "ssh-ed25519 " + secret, key.fileContents + " x"] {
            #expect(throws: BoundsError.self) { try OperatorPrivateKey(fileContents: bad) }
        }
    }

    @Test func publicKeyLinesParse() throws {
        let key = OperatorPrivateKey().publicKey
        #expect(try OperatorPublicKey(line: key.line) == key)
        let named = try OperatorPublicKey(line: "ed25519 \(key.base64) alice at work")
        #expect(named.name == "alice at work" && named.id == key.id)
        #expect(try OperatorPublicKey(line: key.base64).id == key.id)
        for bad in ["", "ed25519", "rsa \(key.base64)", "ed25519 !!!!", "ed25519 " + Base64.encode([1, 2, 3]), "a b"] {
            #expect(throws: BoundsError.self) { try OperatorPublicKey(line: bad) }
        }
    }

    @Test func aTrustFileNamesItsBadLine() throws {
        let a = OperatorPrivateKey().publicKey, b = OperatorPrivateKey().publicKey
        let keys = try TrustedKeys.parse("# fleet operators\n\n\(a.line)\n  \(b.line) bob\n", source: "keys")
        #expect(keys.map(\.id) == [a.id, b.id])
        #expect(TrustedKeys(keys)[b.id]?.name == "bob")
        #expect(throws: BoundsError(field: "keys:2", "expected 'ed25519 BASE64 [NAME]' (a line of `shoal keys list -o csv` or a .pub file)")) {
            try TrustedKeys.parse("\(a.line)\nssh-rsa AAAA bob\n", source: "keys")
        }
    }

    @Test func base64IsStrict() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("hello".utf8)) == "aGVsbG8=")
        for bad in ["aGVsbG8", "aGVsbG8==", "aGVs bG8=", "aGVsbG9=", "=GVsbG8=", "aGVsbG8=\n", "a==="] {
            #expect(Base64.decode(bad) == nil, "\(bad)")
        }
    }

    @Test func noncesAreFreshAndWellFormed() {
        var generator = SplitMix64(seed: 7)
        let nonces = (0..<100).map { _ in OperatorSignature.makeNonce(using: &generator) }
        #expect(Set(nonces).count == 100)
        #expect(nonces.allSatisfy { $0.utf8.count == 22 })
    }
}
