/// How a simulated fleet's labels are spread over its nodes, written as
/// `key=value[:weight],...;key=...`:
///
/// ```
/// region=eu:50%,us:30%,ap:20%;role=web,db;arch=amd64:3,arm64:1;env=prod
/// ```
///
/// Each `;`-separated group gives one label key and its possible values. Without weights
/// the values are equally likely; `:N` gives relative weights, `:N%` percentages (which must
/// then add up to 100). A single value gives every node that label. Each node's pick is a
/// fixed hash of (node number, key), so a node keeps its labels from one run to the next,
/// whichever worker runs it, and the keys are independent of each other; the proportions are
/// approximate (within about a percent at 10,000 nodes).
public struct LabelSpec: Sendable, Equatable, CustomStringConvertible {
    public struct Choice: Sendable, Equatable {
        public var value: String
        public var weight: Double
    }

    public struct Rule: Sendable, Equatable {
        public var key: String
        public var choices: [Choice]
    }

    public var rules: [Rule]

    /// Region over eu/us/ap, role over web/db/edge/cache, arch over amd64/arm64: 24 cells.
    public static let defaultText = "region=eu,us,ap;role=web,db,edge,cache;arch=amd64,arm64"

    public static var `default`: LabelSpec {
        let rule = { (key: String, values: [String]) in
            Rule(key: key, choices: values.map { Choice(value: $0, weight: 1) })
        }
        return LabelSpec(rules: [
            rule("region", ["eu", "us", "ap"]), rule("role", ["web", "db", "edge", "cache"]), rule("arch", ["amd64", "arm64"]),
        ])
    }

    public init(rules: [Rule]) {
        self.rules = rules
    }

    /// Parses the text form; an empty text means no configured labels.
    public init(parsing text: String) throws(LabelSpecError) {
        var rules: [Rule] = []
        for group in text.split(separator: ";", omittingEmptySubsequences: false) {
            let group = group.trimmingSpaces()
            if group.isEmpty { continue }
            guard let equals = group.firstIndex(of: "=") else {
                throw LabelSpecError("'\(group)' has no '='")
            }
            let key = group[..<equals].trimmingSpaces()
            guard Self.isKey(key) else {
                throw LabelSpecError("'\(key)' is not a label key (letters, digits, '_', '-', '.', '/'; not starting with a symbol)")
            }
            guard !rules.contains(where: { $0.key == key }) else { throw LabelSpecError("label '\(key)' is given twice") }
            let choices = try Self.choices(group[group.index(after: equals)...], key: key)
            rules.append(Rule(key: key, choices: choices))
        }
        self.rules = rules
    }

    private static func choices(_ text: Substring, key: String) throws(LabelSpecError) -> [Choice] {
        guard !text.trimmingSpaces().isEmpty else { throw LabelSpecError("give at least one value for \(key)") }
        var choices: [Choice] = []
        var percentages = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = item.trimmingSpaces()
            let parts = item.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts[0].trimmingSpaces()
            guard isValue(value) else {
                throw LabelSpecError("'\(value)' is not a value for \(key) (letters, digits, '_', '-', '.', '/', '+')")
            }
            var weight = 1.0
            if parts.count == 2 {
                var number = parts[1].trimmingSpaces()
                if number.hasSuffix("%") {
                    number.removeLast()
                    percentages += 1
                }
                guard let parsed = Double(number), parsed.isFinite, parsed > 0 else {
                    throw LabelSpecError("'\(parts[1])' is not a positive weight for \(key)=\(value)")
                }
                weight = parsed
            }
            guard !choices.contains(where: { $0.value == value }) else {
                throw LabelSpecError("\(key)=\(value) is given twice")
            }
            choices.append(Choice(value: value, weight: weight))
        }
        let weighted = text.contains(":")
        if weighted && !text.split(separator: ",").allSatisfy({ $0.contains(":") }) {
            throw LabelSpecError("give a weight to every value of \(key), or to none")
        }
        if percentages > 0 {
            guard percentages == choices.count else {
                throw LabelSpecError("write every weight of \(key) as a percentage, or none")
            }
            let total = choices.reduce(0) { $0 + $1.weight }
            guard abs(total - 100) < 0.001 else {
                throw LabelSpecError("the percentages of \(key) add up to \(total.formatted)%, not 100%")
            }
        }
        return choices
    }

    /// The configured labels of node number `index` (1-based, fleet-wide).
    public func labels(forNode index: Int) -> [String: String] {
        var labels: [String: String] = [:]
        for rule in rules {
            guard let last = rule.choices.last else { continue }
            let total = rule.choices.reduce(0) { $0 + $1.weight }
            let point = StableHash.unit(StableHash.mix(UInt64(index) ^ StableHash.fnv1a(rule.key))) * total
            var cumulative = 0.0
            var picked = last.value
            for choice in rule.choices {
                cumulative += choice.weight
                if point < cumulative {
                    picked = choice.value
                    break
                }
            }
            labels[rule.key] = picked
        }
        return labels
    }

    public var description: String {
        rules.map { rule in
            let equal = Set(rule.choices.map(\.weight)).count <= 1
            let values = rule.choices.map { equal ? $0.value : "\($0.value):\($0.weight.formatted)" }
            return "\(rule.key)=\(values.joined(separator: ","))"
        }.joined(separator: ";")
    }

    private static func isKey(_ text: String) -> Bool {
        guard let first = text.utf8.first, isAlphanumeric(first) || first == UInt8(ascii: "_") else { return false }
        return text.utf8.allSatisfy { isAlphanumeric($0) || "_-./".utf8.contains($0) }
    }

    private static func isValue(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { isAlphanumeric($0) || "_-./+".utf8.contains($0) }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
    }
}

public struct LabelSpecError: Error, Sendable, CustomStringConvertible {
    public let problem: String

    init(_ problem: String) {
        self.problem = problem
    }

    public var description: String {
        "\(problem); write e.g. --labels-from 'region=eu:50%,us:50%;role=web,db'"
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        var slice = self
        while slice.first?.isWhitespace == true { slice.removeFirst() }
        while slice.last?.isWhitespace == true { slice.removeLast() }
        return String(slice)
    }
}

extension Double {
    /// `50` rather than `50.0`.
    fileprivate var formatted: String {
        self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self)
    }
}
