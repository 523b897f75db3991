/// The rules for metric names and the range of each kind of value.
///
/// A name is `base` or `base@qualifier`. The base is 1-64 of `a-z`, `0-9` and `_`, starting
/// with a letter, so it can be a selector key and a Prometheus metric name as it is. The
/// qualifier (a mount point, a sensor, a device) is 1-200 bytes with no control character.
/// The base's suffix states its unit and range: `_pct` 0...100, `_celsius` -100...300,
/// anything else 0...1e18 (bytes, counts, seconds, rates: never negative).
public enum MetricName {
    public static let baseBytes = 64
    public static let qualifierBytes = 200

    public static func split(_ name: String) -> (base: Substring, qualifier: Substring?) {
        guard let at = name.firstIndex(of: "@") else { return (Substring(name), nil) }
        return (name[..<at], name[name.index(after: at)...])
    }

    public static func isValidBase<S: StringProtocol>(_ base: S) -> Bool {
        let utf8 = base.utf8
        guard let first = utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first), utf8.count <= baseBytes else {
            return false
        }
        return utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }

    /// The range a value of this base name may take.
    public static func range<S: StringProtocol>(of base: S) -> ClosedRange<Double> {
        if base.hasSuffix("_pct") { return 0...100 }
        if base.hasSuffix("_celsius") { return -100...300 }
        return 0...1e18
    }

    public static func check(_ name: String, _ value: Double, field: String) throws(BoundsError) {
        let (base, qualifier) = split(name)
        guard isValidBase(base) else {
            throw BoundsError(field: field, "'\(Bounds.prefix(name, maxBytes: 80).text)' is not a metric name: 1-\(baseBytes) of a-z, 0-9, _ starting with a letter, then optionally @qualifier")
        }
        if let qualifier {
            guard !qualifier.isEmpty, qualifier.utf8.count <= qualifierBytes, !qualifier.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw BoundsError(field: "\(field).\(base)", "qualifier must be 1-\(qualifierBytes) bytes without control characters")
            }
        }
        try Bounds.check(value, "\(field).\(Bounds.prefix(name, maxBytes: 80).text)", in: range(of: base))
    }
}
