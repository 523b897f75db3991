/// A label selector choosing nodes: Kubernetes label-selector syntax, extended with globs,
/// numeric comparisons and `||`.
///
/// ```
/// region=eu,role!=db || arch in (arm64,aarch64),gpus>=1,!quarantined,name=web-*
/// ```
///
/// Equality and hashing follow the meaning, not the spelling: `region==eu` equals `region = eu`.
public struct Selector: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The selector exactly as written; this is what gets encoded.
    public let text: String
    /// An OR of AND-groups. No groups means "everything".
    let groups: [[Requirement]]

    public init(parsing text: String) throws(SelectorError) {
        self.text = text
        self.groups = try SelectorParser.parse(text)
    }

    private init(text: String, groups: [[Requirement]]) {
        self.text = text
        self.groups = groups
    }

    /// The empty selector, which matches every node.
    public static let all = Selector(text: "", groups: [])

    public var isEmpty: Bool { groups.isEmpty }

    // Runs once per node per dispatch, so it must not allocate: no closures that capture,
    // no intermediate collections.
    public func matches(_ labels: [String: String]) -> Bool {
        if groups.isEmpty {
            return true
        }
        for group in groups where Self.allHold(group, labels) {
            return true
        }
        return false
    }

    private static func allHold(_ group: [Requirement], _ labels: [String: String]) -> Bool {
        for requirement in group where !requirement.holds(for: labels) {
            return false
        }
        return true
    }

    /// The value every OR-group pins `key` to with a plain `key=value` (no glob), or nil when any
    /// group leaves `key` open or the groups disagree. Lets the broker route to a single cell.
    public func requiredValue(for key: String) -> String? {
        var required: String?
        for group in groups {
            guard let pinned = Self.pinnedValue(for: key, in: group) else {
                return nil
            }
            if let required, required != pinned {
                return nil
            }
            required = pinned
        }
        return required
    }

    private static func pinnedValue(for key: String, in group: [Requirement]) -> String? {
        for requirement in group {
            if case .equals(key, let pattern) = requirement, !pattern.isGlob {
                return pattern.text
            }
        }
        return nil
    }

    /// Normalised text: it parses back to an equal selector.
    public var description: String {
        groups
            .map { group in group.map(\.description).joined(separator: ",") }
            .joined(separator: " || ")
    }

    public static func == (lhs: Selector, rhs: Selector) -> Bool {
        lhs.groups == rhs.groups
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(groups)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: error.description)
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

extension Selector {
    /// One condition on one label.
    enum Requirement: Hashable, Sendable, CustomStringConvertible {
        case equals(String, ValuePattern)
        /// Also holds when the label is absent, as in Kubernetes.
        case notEquals(String, ValuePattern)
        case isIn(String, [ValuePattern])
        /// Also holds when the label is absent, as in Kubernetes.
        case notIn(String, [ValuePattern])
        case exists(String)
        case notExists(String)
        /// Never holds for an absent or non-numeric label.
        case compare(String, ComparisonOperator, Double)

        func holds(for labels: [String: String]) -> Bool {
            switch self {
            case .equals(let key, let pattern):
                guard let value = labels[key] else { return false }
                return pattern.matches(value)
            case .notEquals(let key, let pattern):
                guard let value = labels[key] else { return true }
                return !pattern.matches(value)
            case .isIn(let key, let patterns):
                guard let value = labels[key] else { return false }
                return Self.any(patterns, matches: value)
            case .notIn(let key, let patterns):
                guard let value = labels[key] else { return true }
                return !Self.any(patterns, matches: value)
            case .exists(let key):
                return labels[key] != nil
            case .notExists(let key):
                return labels[key] == nil
            case .compare(let key, let comparison, let bound):
                guard let value = labels[key], let number = Double(value) else { return false }
                return comparison.holds(number, bound)
            }
        }

        private static func any(_ patterns: [ValuePattern], matches value: String) -> Bool {
            for pattern in patterns where pattern.matches(value) {
                return true
            }
            return false
        }

        var description: String {
            switch self {
            case .equals(let key, let pattern):
                return "\(key)=\(pattern)"
            case .notEquals(let key, let pattern):
                return "\(key)!=\(pattern)"
            case .isIn(let key, let patterns):
                return "\(key) in (\(patterns.map(\.description).joined(separator: ",")))"
            case .notIn(let key, let patterns):
                return "\(key) notin (\(patterns.map(\.description).joined(separator: ",")))"
            case .exists(let key):
                return key
            case .notExists(let key):
                return "!\(key)"
            case .compare(let key, let comparison, let bound):
                return "\(key)\(comparison.rawValue)\(Self.render(bound))"
            }
        }

        // `gpus>=1` should not come back as `gpus>=1.0`. Avoids `rounded()`, which would pull
        // libm into a module that otherwise needs nothing beyond the standard library.
        private static func render(_ number: Double) -> String {
            if number.magnitude < 1e15, number == Double(Int64(number)) {
                return String(Int64(number))
            }
            return String(number)
        }
    }

    enum ComparisonOperator: String, Hashable, Sendable {
        case greater = ">"
        case greaterOrEqual = ">="
        case less = "<"
        case lessOrEqual = "<="

        func holds(_ value: Double, _ bound: Double) -> Bool {
            switch self {
            case .greater: value > bound
            case .greaterOrEqual: value >= bound
            case .less: value < bound
            case .lessOrEqual: value <= bound
            }
        }
    }

    /// A value to compare a label against: a literal, or a glob with `*` and `?`.
    struct ValuePattern: Hashable, Sendable, CustomStringConvertible {
        /// The literal value, or the glob's source.
        let text: String
        /// Compiled once at parse time; nil for literals, which compare with plain `==`.
        private let glob: [UInt8]?

        var isGlob: Bool { glob != nil }

        /// Quoted values are literal, so quoting is how a selector asks for a real `*` or `?`.
        init(literal text: String) {
            self.text = text
            self.glob = nil
        }

        /// A wildcard-free "glob" is stored as a literal so it takes the `==` fast path.
        init(unquoted text: String) {
            self.text = text
            let bytes = Array(text.utf8)
            self.glob = bytes.contains(Glob.star) || bytes.contains(Glob.question) ? bytes : nil
        }

        func matches(_ value: String) -> Bool {
            guard let glob else {
                return value == text
            }
            var value = value
            return value.withUTF8 { subject in
                glob.withUnsafeBufferPointer { pattern in
                    Glob.matches(pattern, subject)
                }
            }
        }

        var description: String {
            if isGlob || SelectorCharacters.isPlainValue(text) {
                return text
            }
            var quoted = "\""
            for character in text {
                if character == "\"" || character == "\\" {
                    quoted.append("\\")
                }
                quoted.append(character)
            }
            quoted.append("\"")
            return quoted
        }
    }
}

/// Glob matching over UTF-8: `*` matches any run, `?` one Unicode scalar.
private enum Glob {
    static let star = UInt8(ascii: "*")
    static let question = UInt8(ascii: "?")

    // Classic single-backtrack-point matcher: on a mismatch only the most recent `*` needs to
    // absorb one more scalar, because an earlier `*` could only absorb what the later one can.
    // That keeps the worst case at O(pattern × subject) without recursion or allocation.
    static func matches(_ pattern: UnsafeBufferPointer<UInt8>, _ subject: UnsafeBufferPointer<UInt8>) -> Bool {
        var patternIndex = 0
        var subjectIndex = 0
        var starIndex = -1
        var starSubjectIndex = 0
        while subjectIndex < subject.count {
            if patternIndex < pattern.count {
                let byte = pattern[patternIndex]
                if byte == star {
                    starIndex = patternIndex
                    starSubjectIndex = subjectIndex
                    patternIndex += 1
                    continue
                }
                if byte == question {
                    patternIndex += 1
                    subjectIndex = nextScalar(in: subject, after: subjectIndex)
                    continue
                }
                if byte == subject[subjectIndex] {
                    patternIndex += 1
                    subjectIndex += 1
                    continue
                }
            }
            guard starIndex >= 0 else {
                return false
            }
            starSubjectIndex = nextScalar(in: subject, after: starSubjectIndex)
            subjectIndex = starSubjectIndex
            patternIndex = starIndex + 1
        }
        while patternIndex < pattern.count, pattern[patternIndex] == star {
            patternIndex += 1
        }
        return patternIndex == pattern.count
    }

    // Steps over continuation bytes so `?` and `*` never split a multi-byte character.
    private static func nextScalar(in subject: UnsafeBufferPointer<UInt8>, after index: Int) -> Int {
        var next = index + 1
        while next < subject.count, subject[next] & 0b1100_0000 == 0b1000_0000 {
            next += 1
        }
        return next
    }
}
