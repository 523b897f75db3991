/// A value outside its stated limits, named by its field so the sender knows what to fix.
public struct BoundsError: Error, Sendable, Equatable, CustomStringConvertible {
    public let field: String
    public let problem: String

    public init(field: String, _ problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "\(field): \(problem)" }
}

/// Range checks used where values enter. Each returns the value it accepted.
public enum Bounds {
    @discardableResult
    public static func check(_ value: Double, _ field: String, in range: ClosedRange<Double>,
                             unit: String = "") throws(BoundsError) -> Double {
        guard value.isFinite, range.contains(value) else {
            let shown = value.isFinite ? "\(value)" : "a non-finite number"
            throw BoundsError(field: field, "\(shown) is out of range \(range.lowerBound)...\(range.upperBound)\(unit)")
        }
        return value
    }

    @discardableResult
    public static func check(_ value: Int, _ field: String, in range: ClosedRange<Int>) throws(BoundsError) -> Int {
        guard range.contains(value) else {
            throw BoundsError(field: field, "\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A string that fits `maxBytes` of UTF-8 and holds no NUL: C APIs (execve, the
    /// shell) stop at the first NUL, so "echo harmful\0; echo benign" would run only the
    /// first half while showing the whole.
    public static func check(_ text: String, _ field: String, maxBytes: Int) throws(BoundsError) {
        var count = 0
        for byte in text.utf8 {
            if byte == 0 { throw BoundsError(field: field, "contains a NUL byte") }
            count += 1
        }
        if count > maxBytes { throw BoundsError(field: field, "\(count) bytes is over the limit of \(maxBytes)") }
    }

    public static func checkTimestamp(_ value: Double, _ field: String) throws(BoundsError) {
        try check(value, field, in: Limits.timestamp, unit: " (UNIX seconds)")
    }

    public static func checkLabels(_ labels: [String: String], _ field: String) throws(BoundsError) {
        try check(labels.count, field + " count", in: 0...Limits.labelCount)
        for (key, value) in labels {
            try check(key, field + " key", maxBytes: Limits.labelBytes)
            try check(value, "\(field).\(key)", maxBytes: Limits.labelBytes)
        }
    }

    /// At most `maxBytes` of UTF-8 from the start of `text`, cut at a scalar boundary.
    public static func prefix(_ text: String, maxBytes: Int) -> (text: String, truncated: Bool) {
        guard text.utf8.count > maxBytes else { return (text, false) }
        var used = 0
        var end = text.unicodeScalars.startIndex
        for scalar in text.unicodeScalars {
            let size = scalar.utf8.count
            guard used + size <= maxBytes else { break }
            used += size
            end = text.unicodeScalars.index(after: end)
        }
        return (String(text.unicodeScalars[..<end]), true)
    }
}
