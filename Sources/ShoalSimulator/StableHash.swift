/// Hashes that are the same in every process and every run (Swift's `Hasher` is seeded
/// per process), so that a node's labels and its simulated failures do not depend on
/// which worker runs it.
enum StableHash {
    /// FNV-1a, 64 bits.
    static func fnv1a<Bytes: Sequence>(_ bytes: Bytes, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64
    where Bytes.Element == UInt8 {
        var hash = seed
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    static func fnv1a(_ text: String, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        fnv1a(text.utf8, seed: seed)
    }

    /// SplitMix64's finaliser: spreads nearby inputs (node 1, node 2, …) over all 64 bits.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A value in [0, 1).
    static func unit(_ value: UInt64) -> Double {
        Double(value >> 11) / Double(1 << 53)
    }
}
