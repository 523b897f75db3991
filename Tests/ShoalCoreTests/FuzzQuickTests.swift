import ShoalCore
import ShoalFuzzing
import Testing

/// A quick run of acceptance 9's fuzzer (scripts/fuzz runs 100,000 payloads in a release
/// build): every decoder, the verifier and the selector parser survive mutated payloads,
/// each in bounded time, and no changed signed content verifies.
@Suite struct FuzzQuickTests {
    @Test(arguments: [UInt64(1), 2])
    func mutatedPayloadsAreRefusedOrDecodedNeverFatal(seed: UInt64) {
        let clock = ContinuousClock()
        let start = clock.now
        func seconds() -> Double {
            let elapsed = clock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        var slow: [Int] = []
        let outcome = MessageFuzzer(seed: seed).run(count: 2_000, clock: seconds, slowLimit: 2,
                                                    onSlowCase: { index, _, _ in slow.append(index) })
        #expect(outcome.payloads == 2_000)
        #expect(outcome.calls > 2_000 * 20)
        #expect(outcome.forgeries == 0)
        #expect(outcome.decoded > 0, "some mutations still decode (the fuzzer reaches past the parser)")
        #expect(slow.isEmpty, "payloads over 2 s (a debug build): \(slow)")
    }
}
