/// Reads a flat JSON object (members whose values are strings, numbers, booleans or null)
/// without Foundation, for the messages that arrive by the ten thousand: the dispatcher
/// decodes one execution report per node per job, and `JSONDecoder` cost it about 15 µs
/// each (bench/README.md).
///
/// It is only a fast path. Anything it does not handle (a nested value, a number it cannot
/// represent exactly, a duplicate member, an unpaired surrogate...) makes it give up, and
/// `Wire.decode` hands the payload to `JSONDecoder`, which accepts or refuses it and says
/// why. So the reader may decline valid JSON but never accepts what `JSONDecoder` would not.
enum WireReader {
    enum Value {
        case string(String)
        /// The number's text, checked against JSON's grammar; `integral` when it has neither
        /// a fraction nor an exponent.
        case number(text: String, integral: Bool)
        case bool(Bool)
        case null
    }

    /// Calls `visit` with each member of the object in `payload`, in order; unknown members
    /// are the caller's to ignore. Returns false as soon as the payload is not a flat object
    /// (with nothing but white space after it) or `visit` returns false.
    static func forEachMember(in payload: [UInt8], _ visit: (String, Value) -> Bool) -> Bool {
        payload.withUnsafeBufferPointer { buffer in
            var scanner = Scanner(bytes: buffer)
            guard scanner.consume(UInt8(ascii: "{")) else { return false }
            if scanner.consume(UInt8(ascii: "}")) { return scanner.atEnd() }
            while true {
                guard scanner.consume(UInt8(ascii: "\"")), let key = scanner.stringBody(),
                      scanner.consume(UInt8(ascii: ":")), let value = scanner.value(),
                      visit(key, value) else { return false }
                if scanner.consume(UInt8(ascii: ",")) { continue }
                return scanner.consume(UInt8(ascii: "}")) && scanner.atEnd()
            }
        }
    }

    /// Internal, not private: readers of nested shapes (`MetricsMessage.read`) drive it too.
    struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipSpace() {
            while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
        }

        /// Skips white space, then `byte` if it comes next.
        mutating func consume(_ byte: UInt8) -> Bool {
            skipSpace()
            guard current == byte else { return false }
            position += 1
            return true
        }

        mutating func atEnd() -> Bool {
            skipSpace()
            return position == bytes.count
        }

        mutating func value() -> Value? {
            skipSpace()
            guard let first = current else { return nil }
            switch first {
            case UInt8(ascii: "\""):
                position += 1
                return stringBody().map(Value.string)
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
            default: return nil  // an object, an array, or not JSON
            }
        }

        private mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard bytes.count - position >= count,
                  word.withUTF8Buffer({ $0.elementsEqual(bytes[position..<position + count]) }) else { return false }
            position += count
            return true
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        private mutating func number() -> Value? {
            let start = position
            var integral = true
            _ = consumeIf { $0 == UInt8(ascii: "-") }
            if consumeIf({ $0 == UInt8(ascii: "0") }) {
                if let byte = current, isDigit(byte) { return nil }
            } else if !consumeDigits() {
                return nil
            }
            if consumeIf({ $0 == UInt8(ascii: ".") }) {
                integral = false
                guard consumeDigits() else { return nil }
            }
            if consumeIf({ $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
                integral = false
                _ = consumeIf { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "-") }
                guard consumeDigits() else { return nil }
            }
            return .number(text: String(decoding: bytes[start..<position], as: UTF8.self), integral: integral)
        }

        private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

        private mutating func consumeIf(_ matches: (UInt8) -> Bool) -> Bool {
            guard let byte = current, matches(byte) else { return false }
            position += 1
            return true
        }

        private mutating func consumeDigits() -> Bool {
            let start = position
            while let byte = current, isDigit(byte) { position += 1 }
            return position > start
        }

        /// The rest of a string whose opening quote was consumed, through its closing quote.
        mutating func stringBody() -> String? {
            let start = position
            var ascii = true
            while let byte = current {
                if byte == UInt8(ascii: "\"") {
                    position += 1
                    let text = UnsafeBufferPointer(rebasing: bytes[start..<position - 1])
                    // ASCII needs no validation; the generic validator is slow for the common case.
                    return ascii ? String(decoding: text, as: UTF8.self) : String(validating: text, as: UTF8.self)
                }
                if byte == UInt8(ascii: "\\") { return escapedStringBody(from: start) }
                if byte < 0x20 { return nil }
                ascii = ascii && byte < 0x80
                position += 1
            }
            return nil
        }

        /// The slow path of `stringBody`, from the start of the string, for text with escapes.
        private mutating func escapedStringBody(from start: Int) -> String? {
            var text = Array(bytes[start..<position])
            while let byte = current {
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(validating: text, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = current else { return nil }
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(escaped)
                    case UInt8(ascii: "b"): text.append(0x08)
                    case UInt8(ascii: "f"): text.append(0x0C)
                    case UInt8(ascii: "n"): text.append(0x0A)
                    case UInt8(ascii: "r"): text.append(0x0D)
                    case UInt8(ascii: "t"): text.append(0x09)
                    case UInt8(ascii: "u"):
                        guard let scalar = unicodeEscape() else { return nil }
                        text.append(contentsOf: String(Character(scalar)).utf8)
                    default: return nil
                    }
                case 0..<0x20:
                    return nil
                default:
                    text.append(byte)
                }
            }
            return nil
        }

        /// After `\u`: four hex digits, and for a high surrogate the `\uXXXX` of its low half.
        private mutating func unicodeEscape() -> Unicode.Scalar? {
            guard let first = hex4() else { return nil }
            switch first {
            case 0xD800..<0xDC00:
                guard literal("\\u"), let second = hex4(), (0xDC00..<0xE000).contains(second) else { return nil }
                return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
            case 0xDC00..<0xE000:
                return nil
            default:
                return Unicode.Scalar(first)
            }
        }

        private mutating func hex4() -> UInt32? {
            guard bytes.count - position >= 4 else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
                position += 1
            }
            return value
        }
    }
}

/// Storing a member's value into the field it belongs to. Each returns false when the
/// value has the wrong type or the field was already set (a duplicate member), which makes
/// the fast path give up. `null` leaves the field unset: right for an optional, and a
/// required field left unset makes the reader give up too.
extension WireReader.Value {
    func store(into field: inout String?) -> Bool {
        switch self {
        case .null: return true
        case .string(let text) where field == nil:
            field = text
            return true
        default: return false
        }
    }

    func store<Integer: FixedWidthInteger>(into field: inout Integer?) -> Bool {
        switch self {
        case .null: return true
        case .number(let text, true) where field == nil:
            guard let value = Integer(text, radix: 10) else { return false }
            field = value
            return true
        default: return false
        }
    }

    func store(into field: inout Double?) -> Bool {
        switch self {
        case .null: return true
        case .number(let text, _) where field == nil:
            guard let value = Double(text), value.isFinite else { return false }
            field = value
            return true
        default: return false
        }
    }

    func store<Enumeration: RawRepresentable>(into field: inout Enumeration?) -> Bool
    where Enumeration.RawValue == String {
        switch self {
        case .null: return true
        case .string(let text) where field == nil:
            guard let value = Enumeration(rawValue: text) else { return false }
            field = value
            return true
        default: return false
        }
    }
}
