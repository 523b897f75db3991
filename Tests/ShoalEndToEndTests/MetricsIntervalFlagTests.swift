import Mosquitto
import ShoalCommandLine
import ShoalTestSupport
import Testing

/// `--metrics-interval`: checked where it enters, `0` and `off` turn metrics off.
@Suite struct MetricsIntervalFlagTests {
    @Test func offAndDurationsInRange() throws {
        #expect(try MetricsInterval.parse("off").seconds == nil)
        #expect(try MetricsInterval.parse("0").seconds == nil)
        #expect(try MetricsInterval.parse("10s").seconds == 10)
        #expect(try MetricsInterval.parse("1h").seconds == 3600)
    }

    @Test("out of range or not a duration", arguments: ["500ms", "2h", "-1s", "1e300s", "", "often", "0s5"])
    func refused(text: String) {
        #expect(throws: (any Error).self) { try MetricsInterval.parse(text) }
    }

    /// The agent refuses the flag before it connects anywhere, naming it (exit 64).
    @Test func theAgentSaysWhatToType() async throws {
        try await withTemporaryDirectory("shoal-flag") { home in
            let result = try await ShoalBinary.run(["agent", "--id", "x", "--metrics-interval", "1e300s"],
                                                   broker: BrokerAddress("mqtt://127.0.0.1:1")!, home: home)
            #expect(result.exitCode == 64)
            #expect(result.stderr.contains("--metrics-interval"))
        }
    }
}
