/// Human durations: `500ms`, `30s`, `5m`, `2h`, `1d`, `1.5h`, or a bare number of seconds.
///
/// The grammar is deliberately narrow: decimal digits with an optional fraction and one
/// unit. `Double(_:)` alone would also take `0x10` (16), `1e300`, `inf` and `nan`, which a
/// person never means as a duration.
public enum DurationText {
    private static let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]

    /// Seconds, or nil when `text` is not a duration in this grammar. Only the grammar is
    /// checked here; `parse(_:field:in:)` also checks the range.
    public static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimmingWhitespace()
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            return decimal(trimmed.dropLast(suffix.count)).map { $0 * scale }
        }
        return decimal(Substring(trimmed))
    }

    /// Seconds within `range`, or an error that names the field and says what to write.
    public static func parse(_ text: String, field: String, in range: ClosedRange<Double>) throws(BoundsError) -> Double {
        guard let seconds = seconds(text) else {
            throw BoundsError(field: field, "'\(text)' is not a duration; write e.g. 500ms, 30s, 5m, 2h or 1d")
        }
        guard range.contains(seconds) else {
            throw BoundsError(field: field, "'\(text)' is out of range \(format(range.lowerBound)) to \(format(range.upperBound))")
        }
        return seconds
    }

    /// Digits with at most one '.', at least one digit, at most 18 characters.
    private static func decimal(_ text: Substring) -> Double? {
        guard !text.isEmpty, text.utf8.count <= 18 else { return nil }
        var digits = 0
        var points = 0
        for byte in text.utf8 {
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                digits += 1
            } else if byte == UInt8(ascii: ".") {
                points += 1
            } else {
                return nil
            }
        }
        guard digits > 0, points <= 1 else { return nil }
        return Double(text)
    }

    /// Any value renders, including ones read back from a hostile report: no Int
    /// conversion here can trap.
    public static func format(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        if seconds < 0 { return "-" + format(-seconds) }
        if seconds >= 100 * 365 * 86_400 { return ">100y" }
        switch seconds {
        case ..<1: return "\(Int((seconds * 1000).rounded()))ms"
        case ..<60: return String(Int((seconds * 100).rounded())).insertingDecimalPoint(2) + "s"
        case ..<3600: return "\(Int(seconds) / 60)m\(Int(seconds) % 60)s"
        case ..<(100 * 3600): return "\(Int(seconds) / 3600)h\(Int(seconds) % 3600 / 60)m"
        default: return "\(Int(seconds) / 86_400)d\(Int(seconds) % 86_400 / 3600)h"
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice.removeFirst() }
        while slice.last?.isWhitespace == true { slice.removeLast() }
        return String(slice)
    }

    fileprivate func insertingDecimalPoint(_ digits: Int) -> String {
        let padded = String(repeating: "0", count: max(0, digits + 1 - count)) + self
        return padded.dropLast(digits) + "." + padded.suffix(digits)
    }
}
