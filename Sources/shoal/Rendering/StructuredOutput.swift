import Foundation
import ShoalCore
import Yams

/// JSON and YAML renderings of any Codable result, keys sorted so output diffs well.
enum StructuredOutput {
    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    static func yaml<T: Encodable>(_ value: T) -> String {
        let encoder = YAMLEncoder()
        encoder.options = .init(width: -1, allowUnicode: true, sortKeys: true)
        let text = (try? encoder.encode(value)) ?? "null\n"
        // Callers print with a newline of their own, as they do for JSON.
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }
}
