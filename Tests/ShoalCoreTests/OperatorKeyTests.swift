import ShoalCore
import Testing

@Suite struct OperatorKeyTests {
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
