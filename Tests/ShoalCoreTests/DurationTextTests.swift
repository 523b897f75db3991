import ShoalCore
import Testing

@Suite("Duration text")
struct DurationTextTests {
    @Test(
        "parses",
        arguments: [
            ("500ms", 0.5),
            ("1ms", 0.001),
            ("30s", 30),
            ("5m", 300),
            ("2h", 7200),
            ("1d", 86_400),
            ("1.5h", 5400),
            ("0.5s", 0.5),
            ("0", 0),
            ("0s", 0),
            ("42", 42),
            ("2.25", 2.25),
            ("  10s  ", 10),
            ("\t3m\n", 180),
        ]
    )
    func parses(text: String, seconds: Double) throws {
        let parsed = try #require(DurationText.seconds(text))
        #expect(abs(parsed - seconds) < 1e-9)
    }

    @Test(
        "rejects",
        arguments: [
            "", " ", "s", "ms", "-1", "-1s", "abc", "5x", "5 m", "m5", "5M", "5S", "1h30m", "inf", "infs", "nan", "nans",
            "1e400", "1e3ms", "1e300s", "0x10", "0x10s", "5e-324", "NaN", "+5s", "1..2s", ".", ".s",
            "9999999999999999999999s", "1_000s", "\u{0}5s", "5s\u{0}",
        ]
    )
    func rejects(text: String) {
        #expect(DurationText.seconds(text) == nil)
    }

    @Test(
        "formats",
        arguments: [
            (0, "0ms"),
            (0.0004, "0ms"),
            (0.001, "1ms"),
            (0.25, "250ms"),
            (0.999, "999ms"),
            (1, "1.00s"),
            (1.234, "1.23s"),
            (1.235_1, "1.24s"),
            (9.05, "9.05s"),
            (59.99, "59.99s"),
            (60, "1m0s"),
            (90, "1m30s"),
            (3599, "59m59s"),
            (3600, "1h0m"),
            (5400, "1h30m"),
            (90_000, "25h0m"),
            (400_000, "4d15h"),
            (1e300, ">100y"),
            (Double.infinity, "-"),
            (Double.nan, "-"),
            (-1, "-1.00s"),
            (-1e300, "->100y"),
        ]
    )
    func formats(seconds: Double, text: String) {
        #expect(DurationText.format(seconds) == text)
    }

    @Test func formattedSubMinuteDurationsParseBack() throws {
        for seconds in [0.0, 0.25, 1, 1.23, 59.99] {
            let parsed = try #require(DurationText.seconds(DurationText.format(seconds)))
            #expect(abs(parsed - seconds) < 0.005, "\(seconds)")
        }
    }

    @Test("checks the range and names the field")
    func parseChecksRange() throws {
        #expect(try DurationText.parse("30s", field: "--timeout", in: Limits.timeout) == 30)
        for text in ["1e300s", "0", "0s", "8d", "5e-324", "0x10", "0.0001s", "-1s"] {
            #expect(throws: BoundsError.self, "\(text)") { try DurationText.parse(text, field: "--timeout", in: Limits.timeout) }
        }
        do {
            _ = try DurationText.parse("8d", field: "--timeout", in: Limits.timeout)
        } catch {
            #expect(error.description.hasPrefix("--timeout: '8d' is out of range 1ms to 7d0h"))
        }
    }
}
