/// How a job is rolled out over its expected nodes: a canary first, then batches, a pause
/// between them, and an abort threshold. A job without a plan goes to every node at once.
///
/// Pure: which nodes go in which batch, and what to do next, are decided here (`Rollout`);
/// the dispatcher's engine applies the decisions.
public struct RolloutPlan: Sendable, Codable, Equatable {
    /// Nodes per batch: a count, or a share of the expected nodes (at least one node).
    public var batch: Share
    /// Nodes in the first batch, which must succeed before anything else runs; 0: none.
    public var canary: Int
    /// Seconds between the end of one batch and the start of the next.
    public var wait: Double
    /// Failed nodes (`failed`, `timed_out`, `rejected`, `unreachable`) the rollout tolerates;
    /// one more aborts it: nodes not started end `skipped`, running ones finish.
    public var maxFailures: Share

    public init(batch: Share, canary: Int = 0, wait: Double = 0, maxFailures: Share = .count(0)) {
        self.batch = batch
        self.canary = canary
        self.wait = wait
        self.maxFailures = maxFailures
    }

    private enum CodingKeys: String, CodingKey { case batch, canary, wait, maxFailures }

    /// Integrations may leave out what has a default: `batch` (100%: everything after the
    /// canary at once), `canary` (0), `wait` (0 s), `maxFailures` (0).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(batch: try container.decodeIfPresent(Share.self, forKey: .batch) ?? .percent(100),
                  canary: try container.decodeIfPresent(Int.self, forKey: .canary) ?? 0,
                  wait: try container.decodeIfPresent(Double.self, forKey: .wait) ?? 0,
                  maxFailures: try container.decodeIfPresent(Share.self, forKey: .maxFailures) ?? .count(0))
    }

    /// A number of nodes, or a percentage of the expected ones.
    public enum Share: Sendable, Equatable, Codable, CustomStringConvertible {
        case count(Int)
        case percent(Double)

        /// `10` or `25%`; nil when the text is neither.
        public init?(_ text: String) {
            if text.hasSuffix("%") {
                let number = text.dropLast()
                guard !number.isEmpty, number.utf8.count <= 8,
                      number.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") }),
                      let value = Double(number) else { return nil }
                self = .percent(value)
            } else {
                guard !text.isEmpty, text.utf8.count <= 9, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                      let value = Int(text) else { return nil }
                self = .count(value)
            }
        }

        public var description: String {
            switch self {
            case .count(let count): "\(count)"
            case .percent(let share): "\(share.formatted)%"
            }
        }

        /// This share of `total` nodes, rounded up (a percentage of a small fleet is never 0
        /// unless it is 0%).
        public func of(_ total: Int) -> Int {
            switch self {
            case .count(let count): return count
            case .percent(let share):
                let exact = Double(total) * share / 100
                return Int(exact.rounded(.up))
            }
        }

        func validate(_ field: String, allowZero: Bool) throws(BoundsError) {
            switch self {
            case .count(let count):
                try Bounds.check(count, field, in: (allowZero ? 0 : 1)...RolloutPlan.maximumNodes)
            case .percent(let share):
                try Bounds.check(share, field + " (%)", in: (allowZero ? 0 : 0.001)...100)
            }
        }

        // On the wire: a number of nodes, or a string "N%".
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let count = try? container.decode(Int.self) {
                self = .count(count)
            } else if let text = try? container.decode(String.self), let share = Share(text) {
                self = share
            } else {
                // Named here: the wire's error text for malformed values carries no path.
                let field = decoder.codingPath.map(\.stringValue).joined(separator: ".")
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "\(field.isEmpty ? "value" : field): a number of nodes or a percentage such as \"10%\"")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .count(let count): try container.encode(count)
            case .percent: try container.encode(description)
            }
        }
    }

    /// More nodes than any fleet a dispatcher takes; a bound for hostile input, not a target.
    public static let maximumNodes = 10_000_000
    public static let waitRange: ClosedRange<Double> = 0...(7 * 86_400)

    public func validate() throws(BoundsError) {
        try batch.validate("rollout.batch", allowZero: false)
        try Bounds.check(canary, "rollout.canary", in: 0...Self.maximumNodes)
        try Bounds.check(wait, "rollout.wait", in: Self.waitRange, unit: " seconds")
        try maxFailures.validate("rollout.maxFailures", allowZero: true)
    }

    /// The nodes of each batch, in order: the canary (when there is one), then batches of
    /// `batch` nodes. Nodes keep the order given (the engine sorts them by id).
    public func batches(of nodes: [String]) -> [[String]] {
        guard !nodes.isEmpty else { return [] }
        var result: [[String]] = []
        var start = 0
        let canaryCount = min(canary, nodes.count)
        if canaryCount > 0 {
            result.append(Array(nodes[0..<canaryCount]))
            start = canaryCount
        }
        let size = max(1, batch.of(nodes.count))
        while start < nodes.count {
            let end = min(nodes.count, start + size)
            result.append(Array(nodes[start..<end]))
            start = end
        }
        return result
    }

    /// How many failed nodes abort the rollout over `total` expected nodes.
    public func abortsAt(total: Int) -> Int {
        maxFailures.of(total) + 1
    }
}

private extension Double {
    /// `25` rather than `25.0`.
    var formatted: String {
        self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self)
    }
}
