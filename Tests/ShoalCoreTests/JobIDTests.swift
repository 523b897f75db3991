import ShoalCore
import Testing

@Suite("Job id")
struct JobIDTests {
    @Test func format() {
        var generator = SplitMix64(seed: 1)
        for milliseconds: UInt64 in [0, 1, 1_700_000_000_000, 0xFFFF_FFFF_FFFF] {
            let id = JobID.make(milliseconds: milliseconds, using: &generator)
            let groups = id.split(separator: "-", omittingEmptySubsequences: false)
            #expect(groups.map(\.count) == [8, 4, 4, 4, 12], "\(id)")
            #expect(id.allSatisfy { "0123456789abcdef-".contains($0) }, "\(id)")
            #expect(groups[2].first == "7", "UUIDv7 version nibble: \(id)")
            #expect(groups[3].first.map { "89ab".contains($0) } == true, "RFC 4122 variant: \(id)")
            #expect(JobID.isValid(id))
        }
    }

    @Test func timestampIsTheFirst48Bits() {
        var generator = SplitMix64(seed: 2)
        let id = JobID.make(milliseconds: 0x0123_4567_89AB, using: &generator)
        #expect(id.hasPrefix("01234567-89ab-7"))
        #expect(JobID.make(milliseconds: 0, using: &generator).hasPrefix("00000000-0000-7"))
        #expect(JobID.make(milliseconds: 0xFFFF_FFFF_FFFF, using: &generator).hasPrefix("ffffffff-ffff-7"))
    }

    @Test func sameSeedSameID() {
        var first = SplitMix64(seed: 42)
        var second = SplitMix64(seed: 42)
        #expect(JobID.make(milliseconds: 5, using: &first) == JobID.make(milliseconds: 5, using: &second))
        #expect(JobID.make(milliseconds: 5, using: &first) != JobID.make(milliseconds: 5, using: &first))
    }

    @Test func idsMadeAtIncreasingMillisecondsSortInTimeOrder() {
        var generator = SplitMix64(seed: 3)
        var milliseconds: [UInt64] = [0, 1, 2, 255, 256, 0xFFFF, 0x1_0000, 1_700_000_000_000, 1_700_000_000_001]
        for _ in 0..<200 {
            milliseconds.append(milliseconds.last! + UInt64.random(in: 1...100_000, using: &generator))
        }
        let ids = milliseconds.map { JobID.make(milliseconds: $0, using: &generator) }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
    }

    @Test(
        "accepts the safe alphabet",
        arguments: [
            "a", "0", "Z", "job-1", "job_1", "v1.2", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            String(repeating: "x", count: 64),
        ]
    )
    func accepts(id: String) {
        #expect(JobID.isValid(id))
    }

    @Test(
        "rejects anything else",
        arguments: [
            "", String(repeating: "x", count: 65), "a/b", "/", "+", "a+b", "#", "job#1", " ", "a b", "é", "🦈",
            "a\u{0}", "a\n", "a:b", "a*", "$SYS", "a\\b", "a,b",
        ]
    )
    func rejects(id: String) {
        #expect(!JobID.isValid(id))
    }
}
