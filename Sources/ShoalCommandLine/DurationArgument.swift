import ArgumentParser
import ShoalCore

/// A duration flag (`--timeout 30s`), parsed and range-checked once, where it enters.
///
/// Every duration option of every command is this type with its own range from `Limits`,
/// so none of them can take `0x10`, `1e300s` or `5e-324` (a usage error, exit 64, that
/// says what to write instead).
public struct DurationArgument: Sendable, CustomStringConvertible {
    public let text: String
    public let seconds: Double

    /// A default written in the source; its value is stated, not parsed.
    public init(_ text: String, seconds: Double) {
        self.text = text
        self.seconds = seconds
    }

    public var description: String { text }

    /// Whole milliseconds; safe because every range in `Limits` fits a `Duration`.
    public var duration: Duration { .milliseconds(Int64((seconds * 1000).rounded())) }

    /// The `transform` of an `@Option`: `option` names the flag in the error.
    public static func parser(_ option: String, in range: ClosedRange<Double>) -> @Sendable (String) throws -> DurationArgument {
        { text in
            do {
                return DurationArgument(text, seconds: try DurationText.parse(text, field: option, in: range))
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }
}
