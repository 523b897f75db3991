import Foundation
import ShoalCore
import Testing

/// The hand-written reader of metrics batches against `JSONDecoder`: the same message, or
/// a decline that leaves the decision to `JSONDecoder`, never a different answer.
@Suite struct MetricsWireTests {
    static func foundation(_ payload: [UInt8]) -> MetricsMessage? {
        try? JSONDecoder().decode(MetricsMessage.self, from: Data(payload))
    }

    @Test func whatAgentsSendIsReadAsFoundationReadsIt() throws {
        let message = MetricsMessage(node: "node-01", samples: [
            MetricSample(at: 1_795_620_896.71, values: ["cpu_pct": 12.5, "disk_used_pct@/my \"disk\"": 63, "mem_total_bytes": 2.5e10,
                                                         "temp_celsius@x": -5.25, "load1": 1e-7]),
            MetricSample(at: 1_795_620_906.5, values: ["cpu_pct": 0]),
        ])
        let payload = Wire.encode(message)
        #expect(MetricsMessage.read(payload) == message)
        #expect(Self.foundation(payload) == message)
    }

    @Test("the reader declines or agrees with JSONDecoder", arguments: [
        #"{"v":1,"node":"n","samples":[{"at":1800000000,"values":{"cpu_pct":5}}]}"#,
        #" { "samples" : [ { "values" : { "a" : 1.5e3 } , "at" : 1 } ] , "node" : "n" , "v" : 1 } "#,
        #"{"v":1,"node":"n","samples":[]}"#,
        #"{"v":1,"node":"n","samples":[{"at":1,"values":{}}]}"#,
        #"{"v":1,"node":"n","samples":[{"at":1,"values":{"a":1,"a":2}}]}"#,
        #"{"v":1,"node":"n","samples":[{"at":1,"values":{"a":1e400}}]}"#,
        #"{"v":1,"node":"n","samples":[{"at":1,"values":{"a":"1"}}]}"#,
        #"{"v":1,"node":"n","samples":[{"at":1,"values":{"a":null}}]}"#,
        #"{"v":1,"node":"n","samples":[{"at":1}]}"#,
        #"{"v":1,"node":"n","samples":[{"at":1,"values":{"a":1},"extra":{"x":1}}]}"#,
        #"{"v":1,"node":"n","samples":[{"at":1,"values":{"a":1},"extra":"x"}],"more":true}"#,
        #"{"v":1.5,"node":"n","samples":[]}"#,
        #"{"v":1,"node":"n","samples":[{"at":1,"values":{"a":1}}]"#,
        #"{"v":1,"node":"n","samples":[{"at":1,"values":{"a":1}}]}x"#,
        #"{"v":1,"node":"n","samples":{"at":1}}"#,
        #"{"v":1,"node":"n\u0000","samples":[{"at":-0.0,"values":{"\ud83e\udd88":-1}}]}"#,
        #"{"v":1,"node":"n","samples":[{"at":1,"values":{"a":1}}],"samples":[]}"#,
    ])
    func readerAgreesWithJSONDecoder(json: String) {
        let payload = Array(json.utf8)
        if let fast = MetricsMessage.read(payload) {
            #expect(fast == Self.foundation(payload), "the reader accepted \(json) differently")
        }
    }

    @Test func aLargeBatchIsRead() {
        let samples = (0..<360).map { index in
            MetricSample(at: 1_800_000_000 + Double(index), values: Dictionary(uniqueKeysWithValues: (0..<25).map { ("m\($0)", Double(index * $0)) }))
        }
        let message = MetricsMessage(node: "n", samples: samples)
        #expect(MetricsMessage.read(Wire.encode(message)) == message)
    }
}
