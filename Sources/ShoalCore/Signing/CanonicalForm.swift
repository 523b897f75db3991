/// The bytes a Shoal signature covers: a pure, versioned, text encoding of the fields an
/// operator chose, so that a signer in any language can produce them without a JSON
/// canonicaliser (docs/security.md, "Signed jobs", has the grammar).
///
/// ```
/// shoal-signed/1\n
/// kind s3:job\n
/// <name> <value>\n            one line per field, in the content's fixed order
/// signer s16:<key id>\n       then the signature's own fields
/// expiresAt f41d9a7ec00000000\n
/// nonce s22:<nonce>\n
/// ```
///
/// Values: `s<UTF-8 byte count>:<bytes>` for a string (length-prefixed, so a value holding
/// a newline cannot pass for another field), `f<16 hex digits>` for a number (the IEEE 754
/// double's bits, big-endian: exact, no decimal formatting to agree on), `i<decimal>` for
/// a count, `-` for an absent optional. A new version gets a new first line; a verifier
/// never accepts a version it does not know.
public struct CanonicalForm: Sendable, Equatable {
    public static let version = "shoal-signed/1"

    public private(set) var bytes: [UInt8]

    init(kind: String) {
        bytes = Array((Self.version + "\n").utf8)
        bytes.reserveCapacity(256)
        field("kind", kind)
    }

    public mutating func field(_ name: StaticString, _ value: String) {
        name.withUTF8Buffer { bytes += $0 }
        bytes += Array(" s\(value.utf8.count):".utf8)
        bytes += value.utf8
        bytes.append(0x0A)
    }

    public mutating func field(_ name: StaticString, _ value: String?) {
        if let value { field(name, value) } else { absent(name) }
    }

    public mutating func field(_ name: StaticString, _ value: Double) {
        name.withUTF8Buffer { bytes += $0 }
        let hex = String(value.bitPattern, radix: 16)
        bytes += Array((" f" + String(repeating: "0", count: 16 - hex.utf8.count) + hex + "\n").utf8)
    }

    public mutating func field(_ name: StaticString, count: Int) {
        name.withUTF8Buffer { bytes += $0 }
        bytes += Array(" i\(count)\n".utf8)
    }

    public mutating func absent(_ name: StaticString) {
        name.withUTF8Buffer { bytes += $0 }
        bytes += Array(" -\n".utf8)
    }

    /// The content's fields followed by the signature's: what is signed and verified.
    public static func of(_ content: some SignableContent, signer: String, expiresAt: Double, nonce: String) -> [UInt8] {
        var form = CanonicalForm(kind: type(of: content).signedKind)
        content.writeSignedFields(into: &form)
        form.field("signer", signer)
        form.field("expiresAt", expiresAt)
        form.field("nonce", nonce)
        return form.bytes
    }
}

/// Something an operator signs: a job, a control operation. Its signed fields are the ones
/// that say what runs where; fields the dispatcher computes (node lists, deadlines, times
/// of creation) are outside, so it can plan and re-send without the operator's key.
public protocol SignableContent {
    /// Distinguishes kinds, so a signature on one kind never verifies as another.
    static var signedKind: String { get }
    func writeSignedFields(into form: inout CanonicalForm)
    /// What a replayed message is recognised by, next to its nonce: a redelivery of the
    /// same message has the same subject, a replay under another subject does not.
    var replaySubject: String { get }
}
