import Foundation
import ShoalCore
import Testing

/// The hand-written codecs (`WireWritable`, `WireReadable`) against Foundation's: the same
/// values both ways, and the fast reader never accepting what `JSONDecoder` refuses.
@Suite("Wire fast paths")
struct WireFastPathTests {
    private static let awkwardStrings: [String] = [
        "", "plain", "quote \" backslash \\ slash /", "tab\tnewline\nreturn\r", "é ü ß 漢字", "🦈 \u{1F600}",
        "e\u{301} combining", "\u{7F} delete", String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }),
        String(repeating: "long line of output ", count: 400),
    ]
    private static let awkwardNumbers: [Double] = [
        0, -0.0, 1, -1, 0.1, 1e-7, 123.456, -98765.4321, 1_764_090_000.123456, 1e15, 1e15 + 0.5, 1e16, 9_007_199_254_740_992,
        1.5e300, -2.5e-300, Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude,
    ]

    private static func statusMessages() -> [ExecutionStatusMessage] {
        var random = SplitMix64(seed: 7)
        var messages: [ExecutionStatusMessage] = []
        for (index, text) in awkwardStrings.enumerated() {
            for number in awkwardNumbers {
                let optional = Bool.random(using: &random)
                messages.append(ExecutionStatusMessage(
                    job: "01a2-\(index)", node: text.isEmpty ? "n" : "node-\(text.prefix(3))",
                    seq: UInt32.random(in: 0...UInt32.max, using: &random),
                    state: ExecutionState.allCases.randomElement(using: &random)!,
                    exitCode: optional ? nil : Int32.random(in: Int32.min...Int32.max, using: &random),
                    reason: optional ? text : nil, at: number, startedAt: optional ? nil : -number,
                    chunks: optional ? UInt32.max : nil, stdout: text, stderr: optional ? nil : text))
            }
        }
        return messages
    }

    private static func heartbeats() -> [HeartbeatMessage] {
        awkwardNumbers.enumerated().map { index, number in
            HeartbeatMessage(node: awkwardStrings[index % awkwardStrings.count] + "n", seq: index == 0 ? .max : UInt64(index),
                             uptime: number, load1: index.isMultiple(of: 2) ? nil : number, running: index - 3, sentAt: number)
        }
    }

    private func foundationEncoded<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    private func foundationDecoded<T: Decodable>(_ type: T.Type, _ payload: [UInt8]) -> T? {
        try? JSONDecoder().decode(type, from: Data(payload))
    }

    @Test func executionReportsAgreeWithFoundationBothWays() throws {
        for message in Self.statusMessages() {
            let fast = Wire.encode(message)
            #expect(foundationDecoded(ExecutionStatusMessage.self, fast) == message, "\(String(decoding: fast, as: UTF8.self))")
            #expect(ExecutionStatusMessage.read(fast) == message)
            let slow = try foundationEncoded(message)
            #expect(ExecutionStatusMessage.read(slow) == message, "\(String(decoding: slow, as: UTF8.self))")
        }
    }

    @Test func heartbeatsAgreeWithFoundationBothWays() throws {
        for beat in Self.heartbeats() {
            let fast = Wire.encode(beat)
            #expect(foundationDecoded(HeartbeatMessage.self, fast) == beat, "\(String(decoding: fast, as: UTF8.self))")
            #expect(HeartbeatMessage.read(try foundationEncoded(beat)) == beat)
        }
    }

    @Test func jobEventsDecodeWithFoundation() throws {
        let executions = Self.statusMessages().prefix(40).map { status in
            ExecutionView(job: status.job, node: status.node, state: status.state, exitCode: status.exitCode,
                          reason: status.reason, startedAt: status.startedAt, finishedAt: status.at,
                          nodeOnline: status.chunks == nil ? nil : status.seq.isMultiple(of: 2),
                          stdout: status.stdout, stderr: status.stderr)
        }
        let output = Self.awkwardStrings.enumerated().map { index, text in
            OutputChunkView(node: "n\(index % 3)", seq: Int64(index + 1), stream: index.isMultiple(of: 2) ? .stdout : .stderr, data: text)
        }
        for event in [JobEvent(job: "j", executions: executions, finishedAt: 12.5), JobEvent(job: "j", executions: []),
                      JobEvent(job: "j", executions: [], output: output),
                      JobEvent(job: "j", executions: Array(executions.prefix(3)), finishedAt: 3, output: output)] {
            #expect(foundationDecoded(JobEvent.self, Wire.encode(event)) == event)
            if event.executions.isEmpty && event.output == nil { #expect(Wire.encode(event) == (try foundationEncoded(event))) }
        }
    }

    @Test func jobMessagesDecodeWithFoundation() throws {
        let selector = try ShoalCore.Selector(parsing: "region in (eu, \"us west\"),gpus>=1 || role=web")
        for (index, text) in Self.awkwardStrings.enumerated() {
            let message = JobMessage(
                id: "01a2-\(index)", selector: selector, task: index.isMultiple(of: 2) ? .shell(text) : .exec(["sh", "-c", text]),
                timeout: Self.awkwardNumbers[index], deadline: 1_764_090_600.5, nodes: index == 0 ? [] : ["n1", "n-\(index)-\(text.prefix(8).filter { $0 != "/" && $0 != "\u{0}" })", "n3"],
                createdAt: 1_764_090_000.25, incident: index.isMultiple(of: 4) ? true : nil,
                signature: index.isMultiple(of: 3) ? nil : OperatorSignature(signer: text, value: text, expiresAt: Self.awkwardNumbers[index], nonce: text))
            #expect(foundationDecoded(JobMessage.self, Wire.encode(message)) == message)
        }
    }

    @Test func typicalReportIsByteForByteWhatJSONEncoderWrites() throws {
        let report = ExecutionStatusMessage(job: "01a2", node: "sim-00042", seq: 1, state: .succeeded, exitCode: 0,
                                            at: 1_764_090_000.25, startedAt: 1_764_090_000, stdout: "hi\n")
        #expect(Wire.encode(report) == (try foundationEncoded(report)))
    }

    /// Hand-written payloads at the edges of JSON and of each field's type. For each, the fast
    /// reader either declines or gives exactly what `JSONDecoder` gives.
    @Test(arguments: [
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":5}"#,
        " \n\t{ \"v\" : 1 , \"job\":\"j\",\"node\":\"n\",\"seq\":1,\"state\":\"running\",\"at\":5 } \r\n",
        #"{"v":1,"job":"j\u00e9\ud83e\udd88\/","node":"n","seq":1,"state":"running","at":5}"#,
        #"{"v":1,"job":"j\ud83e","node":"n","seq":1,"state":"running","at":5}"#,
        #"{"v":1,"job":"j\udd88x","node":"n","seq":1,"state":"running","at":5}"#,
        #"{"v":1,"job":"j\x","node":"n","seq":1,"state":"running","at":5}"#,
        #"{"v":1,"j\u006fb":"j","node":"n","seq":1,"state":"running","at":5}"#,
        #"{"v":1,"job":"j","job":"k","node":"n","seq":1,"state":"running","at":5}"#,
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":5,"more":{"a":[1,{"b":null}]}}"#,
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":5,"more":[]}"#,
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":5,"reason":null,"exitCode":null}"#,
        #"{"v":1,"job":null,"node":"n","seq":1,"state":"running","at":5}"#,
        #"{"v":1,"node":"n","seq":1,"state":"running","at":5}"#,
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":"5"}"#,
        #"{"v":1,"job":"j","node":"n","seq":1.0,"state":"running","at":5}"#,
        #"{"v":1,"job":"j","node":"n","seq":1e2,"state":"running","at":5}"#,
        #"{"v":1,"job":"j","node":"n","seq":-1,"state":"running","at":5}"#,
        #"{"v":1,"job":"j","node":"n","seq":-0,"state":"running","at":5}"#,
        #"{"v":1,"job":"j","node":"n","seq":4294967296,"state":"running","at":5}"#,
        #"{"v":1,"job":"j","node":"n","seq":01,"state":"running","at":5}"#,
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":-}"#,
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":.5}"#,
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":5.}"#,
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":1E+2}"#,
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":1e400}"#,
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":5,}"#,
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":5}x"#,
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"Running","at":5}"#,
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":5,"stdout":true}"#,
        #"{"v":true,"job":"j","node":"n","seq":1,"state":"running","at":5}"#,
        "{\"v\":1,\"job\":\"j\tk\",\"node\":\"n\",\"seq\":1,\"state\":\"running\",\"at\":5}",
        #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":5,"nul":"\u0000"}"#,
        "{}", "[]", "", "{\"v\":1", "nul", "{\"v\":tru}",
    ])
    func readerAgreesWithJSONDecoder(json: String) {
        let payload = Array(json.utf8)
        let fast = ExecutionStatusMessage.read(payload)
        let slow = foundationDecoded(ExecutionStatusMessage.self, payload)
        if let fast { #expect(fast == slow) }
        #expect((try? Wire.decode(ExecutionStatusMessage.self, from: payload)) == slow)
    }

    @Test func invalidUTF8IsLeftToJSONDecoder() {
        var payload = Array(#"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":5,"stdout":"ab"}"#.utf8)
        payload.insert(0xFF, at: payload.count - 3)
        #expect(ExecutionStatusMessage.read(payload) == nil)
    }

    /// Random damage to valid payloads: whatever the fast reader accepts, `JSONDecoder` accepts
    /// as the same message.
    @Test func damagedPayloadsNeverSlipThrough() {
        var random = SplitMix64(seed: 42)
        let samples = Self.statusMessages().prefix(30).map { Wire.encode($0) }
            + Self.heartbeats().map { Wire.encode($0) }
        var accepted = 0
        for _ in 0..<3000 {
            var payload = samples.randomElement(using: &random)!
            for _ in 0...Int.random(in: 0...2, using: &random) {
                let index = Int.random(in: 0..<payload.count, using: &random)
                switch Int.random(in: 0...2, using: &random) {
                case 0: payload[index] = Array(#"{}[]":,\ -.e0159"tnu"#.utf8).randomElement(using: &random)!
                case 1: payload.remove(at: index)
                default: payload.insert(UInt8.random(in: 0...255, using: &random), at: index)
                }
            }
            if let fast = ExecutionStatusMessage.read(payload) {
                accepted += 1
                #expect(foundationDecoded(ExecutionStatusMessage.self, payload) == fast, "\(payload)")
            }
            if let fast = HeartbeatMessage.read(payload) {
                accepted += 1
                #expect(foundationDecoded(HeartbeatMessage.self, payload) == fast, "\(payload)")
            }
        }
        #expect(accepted > 100, "the damage should leave some payloads valid")
    }
}
