import ShoalCore
import Testing

@Suite("Metrics messages")
struct MetricsMessageTests {
    let at = 1_764_460_000.0

    func message(_ values: [String: Double], at: Double? = nil, samples: Int = 1) -> MetricsMessage {
        MetricsMessage(node: "n1", samples: Array(repeating: MetricSample(at: at ?? self.at, values: values), count: samples))
    }

    @Test func aTypicalBatchPassesAndRoundTrips() throws {
        let batch = message(["cpu_pct": 12.5, "load1": 0.3, "mem_used_bytes": 8e9, "disk_used_pct@/": 42, "temp_celsius@acpitz": -5],
                            samples: 6)
        try batch.validate()
        #expect(try Wire.decode(MetricsMessage.self, from: Wire.encode(batch)) == batch)
    }

    @Test("hostile values are refused, naming the field", arguments: [
        (["cpu_pct": 1e300], "samples[0].values.cpu_pct"),
        (["cpu_pct": -1], "samples[0].values.cpu_pct"),
        (["cpu_pct": 100.5], "samples[0].values.cpu_pct"),
        (["mem_used_bytes": -1], "samples[0].values.mem_used_bytes"),
        (["mem_used_bytes": 1e300], "samples[0].values.mem_used_bytes"),
        (["load1": .nan], "samples[0].values.load1"),
        (["load1": .infinity], "samples[0].values.load1"),
        (["temp_celsius@zone0": -300], "samples[0].values.temp_celsius@zone0"),
    ])
    func hostileValues(values: [String: Double], field: String) {
        #expect(throws: BoundsError.self) { try message(values).validate() }
        do {
            try message(values).validate()
        } catch {
            #expect(error.field == field)
        }
    }

    @Test("bad names are refused", arguments: ["", "CPU", "9lives", "cpu-pct", "cpu_pct@", "a@b\u{0}c", String(repeating: "a", count: 65),
                                               "disk@" + String(repeating: "x", count: 201), "x y"])
    func badNames(name: String) {
        #expect(throws: BoundsError.self) { try message([name: 1]).validate() }
    }

    @Test func hostileShapesAreRefused() {
        // No samples, too many samples, too many values, a broken clock.
        #expect(throws: BoundsError.self) { try MetricsMessage(node: "n1", samples: []).validate() }
        #expect(throws: BoundsError.self) { try message(["load1": 1], samples: Limits.metricSamplesPerMessage + 1).validate() }
        #expect(throws: BoundsError.self) { try message([:]).validate() }
        let many = Dictionary(uniqueKeysWithValues: (0...Limits.metricValuesPerSample).map { ("m\($0)", 1.0) })
        #expect(throws: BoundsError.self) { try message(many).validate() }
        let wide = Dictionary(uniqueKeysWithValues: (0..<1_000).map { ("m\($0)", 1.0) })
        #expect(throws: BoundsError.self) { try message(wide, samples: 21).validate() }
        #expect(throws: BoundsError.self) { try message(["load1": 1], at: -1).validate() }
        #expect(throws: BoundsError.self) { try message(["load1": 1], at: 1e300).validate() }
    }

    @Test func numbersJSONCannotHoldAreRefusedByTheDecoder() {
        let payload = Array(#"{"v":1,"node":"n1","samples":[{"at":1764460000,"values":{"cpu_pct":1e400}}]}"#.utf8)
        #expect(throws: WireError.self) { try Wire.decode(MetricsMessage.self, from: payload) }
    }
}
