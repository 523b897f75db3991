/// Parses human durations: `500ms`, `30s`, `5m`, `2h`, `1d`, or a bare number of seconds.
public enum DurationText {
    public static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimmingWhitespace()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            guard let value = Double(trimmed.dropLast(suffix.count)), value >= 0, value.isFinite else { return nil }
            return value * scale
        }
        guard let value = Double(trimmed), value >= 0, value.isFinite else { return nil }
        return value
    }

    public static func format(_ seconds: Double) -> String {
        switch seconds {
        case ..<1: "\(Int((seconds * 1000).rounded()))ms"
        case ..<60: String(Int((seconds * 100).rounded())).insertingDecimalPoint(2) + "s"
        case ..<3600: "\(Int(seconds) / 60)m\(Int(seconds) % 60)s"
        default: "\(Int(seconds) / 3600)h\(Int(seconds) % 3600 / 60)m"
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
