import Foundation
import ShoalCore

/// JSON and YAML renderings of any Codable result.
enum StructuredOutput {
    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    static func yaml<T: Encodable>(_ value: T) -> String {
        let data = Data(json(value).utf8)
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return "" }
        var lines: [String] = []
        emit(object, indent: 0, into: &lines)
        return lines.joined(separator: "\n")
    }

    private static func emit(_ object: Any, indent: Int, into lines: inout [String]) {
        let pad = String(repeating: "  ", count: indent)
        switch object {
        case let dictionary as [String: Any]:
            if dictionary.isEmpty { lines.append(pad + "{}") }
            for key in dictionary.keys.sorted() {
                let value = dictionary[key]!
                if let scalar = scalar(value) {
                    lines.append("\(pad)\(key): \(scalar)")
                } else {
                    lines.append("\(pad)\(key):")
                    emit(value, indent: indent + 1, into: &lines)
                }
            }
        case let array as [Any]:
            if array.isEmpty { lines.append(pad + "[]") }
            for element in array {
                if let scalar = scalar(element) {
                    lines.append("\(pad)- \(scalar)")
                } else {
                    var nested: [String] = []
                    emit(element, indent: indent + 1, into: &nested)
                    if let first = nested.first {
                        lines.append(pad + "- " + first.dropFirst(pad.count + 2))
                        lines += nested.dropFirst()
                    }
                }
            }
        default:
            lines.append(pad + (scalar(object) ?? ""))
        }
    }

    private static func scalar(_ value: Any) -> String? {
        switch value {
        case is NSNull: return "null"
        case let dictionary as [String: Any]: return dictionary.isEmpty ? "{}" : nil
        case let array as [Any]: return array.isEmpty ? "[]" : nil
        case let number as NSNumber:
            // Booleans come back from JSONSerialization as NSNumber with the `char` type code.
            if String(cString: number.objCType) == "c" { return number.boolValue ? "true" : "false" }
            return number.stringValue
        case let string as String:
            // Quote everything that YAML could read as something other than this string.
            let plain = !string.isEmpty && string.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) }
                && Double(string) == nil && !["true", "false", "null", "yes", "no", "on", "off", "~"].contains(string.lowercased())
            return plain ? string : json(string)
        default: return "\(value)"
        }
    }
}
