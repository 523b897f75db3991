import ShoalCore

/// Makes hostile variants of valid payloads: bit flips, byte changes, truncations, splices
/// of two payloads, huge and non-finite numbers, deep nesting, repeated and removed spans.
/// Seeded (`SplitMix64`): a failing payload is found again from its seed and index.
public struct PayloadMutator: Sendable {
    private var random: SplitMix64
    private let seeds: [[UInt8]]

    /// Numbers and tokens that have broken JSON readers elsewhere.
    static let hostileTokens: [String] = [
        "1e300", "-1e300", "1e-400", "-1", "0", "-0", "NaN", "Infinity", "-Infinity", "9223372036854775808",
        "18446744073709551616", "-9223372036854775809", "4294967296", String(repeating: "9", count: 400),
        "0.0000000000000000000000000000001", "1.7976931348623157e309", "\"\"", "null", "true", "[]", "{}",
        "\"\\ud800\"", "\"\\u0000\"", "\"\u{FEFF}\"", String(repeating: "[", count: 2_000), String(repeating: "{\"a\":", count: 2_000),
    ]

    public init(seed: UInt64, seeds: [[UInt8]]) {
        random = SplitMix64(seed: seed)
        self.seeds = seeds.isEmpty ? [[]] : seeds
    }

    public mutating func next() -> [UInt8] {
        var payload = seeds[Int.random(in: 0..<seeds.count, using: &random)]
        // One to four mutations stacked: single ones rarely get past the first check.
        for _ in 0..<Int.random(in: 1...4, using: &random) { mutate(&payload) }
        return payload
    }

    private mutating func mutate(_ payload: inout [UInt8]) {
        let position = payload.isEmpty ? 0 : Int.random(in: 0..<payload.count, using: &random)
        switch Int.random(in: 0..<9, using: &random) {
        case 0 where !payload.isEmpty:
            payload[position] ^= 1 << UInt8.random(in: 0...7, using: &random)
        case 1 where !payload.isEmpty:
            payload[position] = UInt8.random(in: 0...255, using: &random)
        case 2:
            payload = Array(payload.prefix(position))
        case 3:
            let other = seeds[Int.random(in: 0..<seeds.count, using: &random)]
            let cut = other.isEmpty ? 0 : Int.random(in: 0..<other.count, using: &random)
            payload = Array(payload.prefix(position)) + other.suffix(from: cut)
        case 4:
            let token = Self.hostileTokens[Int.random(in: 0..<Self.hostileTokens.count, using: &random)]
            replaceValue(at: position, in: &payload, with: Array(token.utf8))
        case 5:
            let depth = Int.random(in: 1...5_000, using: &random)
            let open: UInt8 = Bool.random(using: &random) ? 0x5B : 0x7B
            payload.insert(contentsOf: [UInt8](repeating: open, count: depth), at: position)
        case 6 where !payload.isEmpty:
            let end = min(payload.count, position + Int.random(in: 1...64, using: &random))
            payload.insert(contentsOf: payload[position..<end], at: end)
        case 7 where !payload.isEmpty:
            let end = min(payload.count, position + Int.random(in: 1...64, using: &random))
            payload.removeSubrange(position..<end)
        default:
            payload.insert(contentsOf: (0..<Int.random(in: 1...16, using: &random)).map { _ in
                UInt8.random(in: 0...255, using: &random)
            }, at: position)
        }
    }

    /// Replaces the JSON value after the next ':' from `position` (or inserts there).
    private func replaceValue(at position: Int, in payload: inout [UInt8], with token: [UInt8]) {
        guard let colon = payload[position...].firstIndex(of: 0x3A) else {
            payload.insert(contentsOf: token, at: position)
            return
        }
        let start = colon + 1
        var end = start
        var inString = false
        while end < payload.count {
            let byte = payload[end]
            if byte == 0x22 { inString.toggle() }
            if !inString && (byte == 0x2C || byte == 0x7D || byte == 0x5D) { break }
            end += 1
        }
        payload.replaceSubrange(start..<end, with: token)
    }
}
