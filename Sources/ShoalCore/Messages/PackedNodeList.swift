/// A job publication's expected nodes as one short string (front coding).
///
/// Why: a cell publication lists every expected node of its cell, and the broker copies it
/// to each subscriber: at 10,000 nodes in 24 cells, 420 ids of ~12 bytes as a JSON array
/// made every delivery ~6 KB. Fleet names share long prefixes (`web-eu-017`, `web-eu-018`,
/// `sim-00042`), so each id is written as how many leading bytes it shares with the one
/// before, then the rest: ~4 bytes an id instead of ~12 for such names.
///
/// Format: entries separated by `/` (which no node id contains: ids are topic levels);
/// each entry is one character `0-9A-Za-z` giving the shared length (0…61 bytes, never
/// inside a multi-byte character), then the id's remaining bytes. The empty string is the
/// empty list. Order is kept; sorted input packs best.
public enum PackedNodeList {
    private static let digits = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    private static let separator = UInt8(ascii: "/")

    /// `nodes` must be valid node ids (`TopicTree.isValidLevel`): no `/`, not empty.
    public static func pack(_ nodes: [String]) -> String {
        var packed: [UInt8] = []
        packed.reserveCapacity(nodes.reduce(0) { $0 + $1.utf8.count / 2 + 2 })
        var previous: [UInt8] = []
        for (index, node) in nodes.enumerated() {
            let bytes = Array(node.utf8)
            assert(TopicTree.isValidLevel(node), "not a node id: \(node)")
            let limit = min(previous.count, bytes.count, digits.count - 1)
            var shared = 0
            while shared < limit && previous[shared] == bytes[shared] { shared += 1 }
            // Back off to a character boundary: the rest must be valid UTF-8 on its own.
            while shared > 0 && shared < bytes.count && bytes[shared] & 0xC0 == 0x80 { shared -= 1 }
            if index > 0 { packed.append(separator) }
            packed.append(digits[shared])
            packed.append(contentsOf: bytes[shared...])
            previous = bytes
        }
        return String(decoding: packed, as: UTF8.self)
    }

    /// Throws on anything `pack` cannot have written: an empty entry, an unknown length
    /// digit, a length beyond the previous id, or bytes that are not UTF-8.
    public static func unpack(_ text: String) throws(WireError) -> [String] {
        guard !text.isEmpty else { return [] }
        var nodes: [String] = []
        var previous: [UInt8] = []
        for entry in text.utf8.split(separator: separator, omittingEmptySubsequences: false) {
            guard let digit = entry.first, let shared = value(of: digit), shared <= previous.count else {
                throw WireError(description: "malformed node list near entry \(nodes.count + 1)")
            }
            var bytes = Array(previous[..<shared])
            bytes.append(contentsOf: entry.dropFirst())
            guard !bytes.isEmpty, let node = String(validating: bytes, as: UTF8.self) else {
                throw WireError(description: "malformed node id in node list entry \(nodes.count + 1)")
            }
            nodes.append(node)
            previous = bytes
        }
        return nodes
    }

    private static func value(of digit: UInt8) -> Int? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(digit - UInt8(ascii: "0"))
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): Int(digit - UInt8(ascii: "A")) + 10
        case UInt8(ascii: "a")...UInt8(ascii: "z"): Int(digit - UInt8(ascii: "a")) + 36
        default: nil
        }
    }
}
