/// Recursive-descent parser for selectors:
///
/// ```
/// selector    := <empty> | group ( '||' group )*
/// group       := requirement ( ',' requirement )*
/// requirement := '!' key
///              | key [ ('=' | '==' | '!=') value
///                    | ('in' | 'notin') '(' value ( ',' value )* ')'
///                    | ('>' | '>=' | '<' | '<=') number ]
/// ```
struct SelectorParser {
    private let text: String
    private var lexer: SelectorLexer
    /// One token of lookahead is enough: `in`/`notin` are only keywords right after a key.
    private var token: SelectorToken

    static func parse(_ text: String) throws(SelectorError) -> [[Selector.Requirement]] {
        var parser = try SelectorParser(text)
        return try parser.parseSelector()
    }

    // Tokens are pulled lazily so that errors surface left to right: a stray character late in
    // the text must not hide a syntax error earlier on.
    private init(_ text: String) throws(SelectorError) {
        self.text = text
        self.lexer = SelectorLexer(text)
        self.token = try lexer.next()
    }

    private mutating func advance() throws(SelectorError) {
        token = try lexer.next()
    }

    private mutating func parseSelector() throws(SelectorError) -> [[Selector.Requirement]] {
        if token.kind == .end {
            return []
        }
        var groups = [try parseGroup(after: nil)]
        while token.kind == .or {
            try advance()
            groups.append(try parseGroup(after: "'||'"))
        }
        guard token.kind == .end else {
            throw failure("expected ',' or '||' after a requirement, found \(found)")
        }
        return groups
    }

    private mutating func parseGroup(after context: String?) throws(SelectorError) -> [Selector.Requirement] {
        var requirements = [try parseRequirement(after: context)]
        while token.kind == .comma {
            try advance()
            requirements.append(try parseRequirement(after: "','"))
        }
        return requirements
    }

    private mutating func parseRequirement(after context: String?) throws(SelectorError) -> Selector.Requirement {
        if token.kind == .bang {
            try advance()
            let key = try parseKey(after: "'!'")
            if !token.endsRequirement {
                throw failure("expected ',' or '||' after '!\(key)' (absence takes no value), found \(found)")
            }
            return .notExists(key)
        }
        let key = try parseKey(after: context)
        if let comparison = token.comparison {
            let spelling = quotedSpelling
            try advance()
            return .compare(key, comparison, try parseNumber(after: spelling))
        }
        switch token.kind {
        case .equals, .notEquals:
            let isEquals = token.kind == .equals
            let spelling = quotedSpelling
            try advance()
            let value = try parseValue(after: spelling)
            return isEquals ? .equals(key, value) : .notEquals(key, value)
        case .word("in"), .word("notin"):
            let isIn = token.kind == .word("in")
            let spelling = quotedSpelling
            try advance()
            let values = try parseValueList(after: spelling)
            return isIn ? .isIn(key, values) : .notIn(key, values)
        case .comma, .or, .end:
            return .exists(key)
        default:
            throw failure("expected an operator, ',' or '||' after key '\(key)', found \(found)")
        }
    }

    private mutating func parseKey(after context: String?) throws(SelectorError) -> String {
        let after = context.map { " after \($0)" } ?? ""
        guard case .word(let word) = token.kind else {
            throw failure("expected a key\(after), found \(found)")
        }
        for (offset, character) in word.enumerated() {
            if offset == 0, !SelectorCharacters.isKeyStart(character) {
                throw SelectorError(
                    position: token.start,
                    message: "expected a key\(after), found '\(character)' (a key starts with a letter, digit or '_')",
                    text: text
                )
            }
            if !SelectorCharacters.isKey(character) {
                throw SelectorError(
                    position: token.start + offset,
                    message: "'\(character)' is not allowed in a key",
                    text: text
                )
            }
        }
        try advance()
        return word
    }

    private mutating func parseValue(after context: String) throws(SelectorError) -> Selector.ValuePattern {
        let value: Selector.ValuePattern
        switch token.kind {
        case .word(let word):
            value = Selector.ValuePattern(unquoted: word)
        case .quoted(let literal):
            value = Selector.ValuePattern(literal: literal)
        default:
            throw failure("expected a value after \(context), found \(found)")
        }
        try advance()
        return value
    }

    private mutating func parseNumber(after context: String) throws(SelectorError) -> Double {
        // Non-finite bounds are refused: `gpus>=nan` would silently match nothing.
        guard case .word(let word) = token.kind, let number = Double(word), number.isFinite else {
            throw failure("expected a number after \(context), found \(found)")
        }
        try advance()
        return number
    }

    private mutating func parseValueList(after context: String) throws(SelectorError) -> [Selector.ValuePattern] {
        guard token.kind == .openParenthesis else {
            throw failure("expected '(' after \(context), found \(found)")
        }
        try advance()
        var values = [try parseValue(after: "'('")]
        while true {
            switch token.kind {
            case .comma:
                try advance()
                values.append(try parseValue(after: "','"))
            case .closeParenthesis:
                try advance()
                return values
            default:
                throw failure("expected ',' or ')' in a value list, found \(found)")
            }
        }
    }

    private var quotedSpelling: String {
        "'\(lexer.spelling(of: token))'"
    }

    private var found: String {
        token.kind == .end ? "end of selector" : quotedSpelling
    }

    private func failure(_ message: String) -> SelectorError {
        SelectorError(position: token.start, message: message, text: text)
    }
}

struct SelectorToken {
    enum Kind: Equatable {
        case word(String)
        case quoted(String)
        /// `=` or `==`.
        case equals
        case notEquals
        case bang
        case greater
        case greaterOrEqual
        case less
        case lessOrEqual
        case comma
        case openParenthesis
        case closeParenthesis
        case or
        case end
    }

    let kind: Kind
    /// Character offsets into the selector text, `end` exclusive.
    let start: Int
    let end: Int

    var endsRequirement: Bool {
        kind == .comma || kind == .or || kind == .end
    }

    var comparison: Selector.ComparisonOperator? {
        switch kind {
        case .greater: .greater
        case .greaterOrEqual: .greaterOrEqual
        case .less: .less
        case .lessOrEqual: .lessOrEqual
        default: nil
        }
    }
}

struct SelectorLexer {
    private let text: String
    // Positions are reported in Characters, so the lexer walks Characters too.
    private let characters: [Character]
    private var offset = 0

    init(_ text: String) {
        self.text = text
        self.characters = Array(text)
    }

    func spelling(of token: SelectorToken) -> String {
        String(characters[token.start..<token.end])
    }

    mutating func next() throws(SelectorError) -> SelectorToken {
        while offset < characters.count, characters[offset].isWhitespace {
            offset += 1
        }
        let start = offset
        guard offset < characters.count else {
            return SelectorToken(kind: .end, start: start, end: start)
        }
        let character = characters[offset]
        offset += 1
        let kind: SelectorToken.Kind
        switch character {
        case ",":
            kind = .comma
        case "(":
            kind = .openParenthesis
        case ")":
            kind = .closeParenthesis
        case "=":
            _ = consume("=")
            kind = .equals
        case "!":
            kind = consume("=") ? .notEquals : .bang
        case ">":
            kind = consume("=") ? .greaterOrEqual : .greater
        case "<":
            kind = consume("=") ? .lessOrEqual : .less
        case "|":
            guard consume("|") else {
                throw SelectorError(position: start, message: "expected '||', found a single '|'", text: text)
            }
            kind = .or
        case "\"":
            kind = .quoted(try quotedValue(openingAt: start))
        default:
            guard SelectorCharacters.isValue(character) else {
                throw SelectorError(
                    position: start,
                    message: "unexpected character '\(character)' (quote values that contain it)",
                    text: text
                )
            }
            while offset < characters.count, SelectorCharacters.isValue(characters[offset]) {
                offset += 1
            }
            kind = .word(String(characters[start..<offset]))
        }
        return SelectorToken(kind: kind, start: start, end: offset)
    }

    private mutating func consume(_ expected: Character) -> Bool {
        guard offset < characters.count, characters[offset] == expected else {
            return false
        }
        offset += 1
        return true
    }

    /// A backslash takes the next character literally, so `\"` and `\\` can appear inside.
    private mutating func quotedValue(openingAt start: Int) throws(SelectorError) -> String {
        var value = ""
        while offset < characters.count {
            let character = characters[offset]
            offset += 1
            switch character {
            case "\"":
                return value
            case "\\" where offset < characters.count:
                value.append(characters[offset])
                offset += 1
            default:
                value.append(character)
            }
        }
        throw SelectorError(
            position: start,
            message: "expected a closing '\"' for the value opened here, found end of selector",
            text: text
        )
    }
}

/// The unquoted alphabet, ASCII only: anything else must be quoted so that labels never
/// depend on Unicode normalisation or look-alike characters.
enum SelectorCharacters {
    static func isKeyStart(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue else { return false }
        return isAlphanumeric(ascii) || ascii == UInt8(ascii: "_")
    }

    static func isKey(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue else { return false }
        return isAlphanumeric(ascii) || "_-./".utf8.contains(ascii)
    }

    static func isValue(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue else { return false }
        return isAlphanumeric(ascii) || "_-./*?:+".utf8.contains(ascii)
    }

    /// Whether a literal can be written without quotes and still mean itself.
    static func isPlainValue(_ text: String) -> Bool {
        guard !text.isEmpty else { return false }
        for character in text where !isValue(character) || character == "*" || character == "?" {
            return false
        }
        return true
    }

    private static func isAlphanumeric(_ ascii: UInt8) -> Bool {
        switch ascii {
        case UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            false
        }
    }
}
