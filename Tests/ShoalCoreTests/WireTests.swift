import Foundation
import ShoalCore
import Testing

// On Darwin, Foundation re-exports Objective-C's `Selector`; the module's own type must win.
private typealias Selector = ShoalCore.Selector

/// One message type with a fully populated sample and the fields it cannot do without.
struct WireSample: Sendable, CustomTestStringConvertible {
    let name: String
    let payload: [UInt8]
    /// Fields whose absence must be refused (`v` is left out: its policy is not settled here).
    let required: [String]
    /// Decodes `payload` again and compares it with the sample.
    let roundTrips: @Sendable () throws(WireError) -> Bool
    let decode: @Sendable ([UInt8]) throws(WireError) -> Void

    var testDescription: String { name }

    static func of<T: Codable & Equatable & Sendable>(_ value: T, required: [String]) -> WireSample {
        let payload = Wire.encode(value)
        return WireSample(
            name: "\(T.self)", payload: payload, required: required,
            roundTrips: { () throws(WireError) in try Wire.decode(T.self, from: payload) == value },
            decode: { bytes throws(WireError) in _ = try Wire.decode(T.self, from: bytes) })
    }

    static var all: [WireSample] {
        // `try!` is safe: the selector is a literal known to parse.
        let selector = try! Selector(parsing: "region=eu,gpus>=1 || role in (web,edge)")
        let task = JobTask.shell("echo hi")
        let job = JobView(id: "j1", selector: "region=eu", task: task, timeout: 60, deadline: 1_700_000_600,
                          createdAt: 1_700_000_000, expected: 2, counts: ["succeeded": 1, "running": 1],
                          finishedAt: 1_700_000_030.5)
        let execution = ExecutionView(job: "j1", node: "n1", state: .failed, exitCode: 2, reason: "boom",
                                      startedAt: 1_700_000_001, finishedAt: 1_700_000_002, nodeOnline: true,
                                      stdout: "out\n", stderr: "é 🦈\n")
        return [
            .of(JobMessage(id: "j1", selector: selector, task: .exec(["uptime", "-p"]), timeout: 30,
                           deadline: 1_700_000_600, nodes: ["n1", "n2"], createdAt: 1_700_000_000.25,
                           signature: OperatorSignature(signer: "0123456789abcdef", value: "sig", expiresAt: 1_700_000_900, nonce: "n")),
                required: ["id", "selector", "task", "timeout", "deadline", "nodes", "createdAt"]),
            .of(ControlMessage(op: .cancel, job: "j1"), required: ["op"]),
            .of(ControlMessage(op: .cancel, job: "j1", node: "n1",
                               signature: OperatorSignature(signer: "0123456789abcdef", value: "sig", expiresAt: 1_700_000_900, nonce: "n")),
                required: ["op"]),
            .of(ControlMessage(op: .rebirth), required: ["op"]),
            .of(BirthMessage(node: "n1", labels: ["region": "eu", "arch": "arm64"], version: "1.2.3", bdSeq: 7,
                             heartbeatInterval: 5, sentAt: 1_700_000_000, publicKey: "key"),
                required: ["node", "labels", "version", "bdSeq", "heartbeatInterval", "sentAt"]),
            .of(DeathMessage(node: "n1", bdSeq: UInt64.max), required: ["node", "bdSeq"]),
            .of(HeartbeatMessage(node: "n1", seq: 3, uptime: 12.5, load1: 0.42, running: 2, sentAt: 1_700_000_000),
                required: ["node", "seq", "uptime", "running", "sentAt"]),
            .of(HeartbeatMessage(node: "n1", seq: 4, uptime: 13, load1: nil, running: 0, sentAt: 1_700_000_001),
                required: ["node", "seq", "uptime", "running", "sentAt"]),
            .of(ExecutionStatusMessage(job: "j1", node: "n1", seq: 2, state: .timedOut, exitCode: -9, reason: "timeout",
                                       at: 1_700_000_002, startedAt: 1_700_000_001, chunks: 4),
                required: ["job", "node", "seq", "state", "at"]),
            .of(OutputChunkMessage(job: "j1", node: "n1", seq: UInt32.max, stream: .stderr, data: "line\n\u{0}é"),
                required: ["job", "node", "seq", "stream", "data"]),
            .of(SubmitJobRequest(id: "j1", selector: "", all: true, task: task, timeout: 5, deadlineIn: 10),
                required: ["task"]),
            .of(GetJobRequest(id: "j1", withOutput: false), required: ["id"]),
            .of(ListJobsRequest(limit: 7), required: []),
            .of(JobOutputRequest(id: "j1", node: "n1"), required: ["id"]),
            .of(ListNodesRequest(selector: "arch=arm64"), required: []),
            .of(ReplyRouting(replyTo: "shoal/v1/reply/c1", id: "r1"), required: []),
            .of(NodeView(id: "n1", labels: ["role": "web"], online: true, version: "1", firstSeen: 1, lastSeen: 2,
                         clockOffset: -0.5),
                required: ["id", "labels", "online", "version", "firstSeen", "lastSeen"]),
            .of(job, required: ["id", "selector", "task", "timeout", "deadline", "createdAt", "expected", "counts"]),
            .of(execution, required: ["job", "node", "state"]),
            .of(JobDetail(job: job, executions: [execution]), required: ["job", "executions"]),
        ]
    }
}

@Suite("Wire")
struct WireTests {
    @Test("every message type round trips", arguments: WireSample.all)
    func roundTrip(sample: WireSample) throws {
        #expect(try sample.roundTrips())
    }

    @Test func messagesCarryTheSchemaVersion() throws {
        let payload = Wire.encode(DeathMessage(node: "n1", bdSeq: 1))
        #expect(String(decoding: payload, as: UTF8.self) == #"{"bdSeq":1,"node":"n1","v":1}"#)
        #expect(Wire.version == 1)
    }

    @Test func jobMessageCarriesTheSelectorAsWritten() throws {
        let message = JobMessage(id: "j", selector: try Selector(parsing: "region == eu"), task: .shell("x"),
                                 timeout: 1, deadline: 2, nodes: [], createdAt: 0)
        let json = String(decoding: Wire.encode(message), as: UTF8.self)
        #expect(json.contains(#""selector":"region == eu""#))
        #expect(try Wire.decode(JobMessage.self, from: Wire.encode(message)).selector.text == "region == eu")
    }

    @Test func apiResponsesRoundTrip() throws {
        let node = NodeView(id: "n1", labels: [:], online: false, version: "1", firstSeen: 0, lastSeen: 0)
        let success = try Wire.decode(APIResponse<[NodeView]>.self, from: Wire.encode(APIResponse.success([node], id: "r1")))
        #expect(success.ok)
        #expect(success.v == Wire.version)
        #expect(success.id == "r1")
        #expect(success.error == nil)
        #expect(success.result == [node])

        let failure = try Wire.decode(
            APIResponse<EmptyResult>.self, from: Wire.encode(APIResponse<EmptyResult>.failure("no such job")))
        #expect(!failure.ok)
        #expect(failure.error == "no such job")
        #expect(failure.id == nil)
        #expect(failure.result == nil)
    }

    @Test("API operations round trip", arguments: APIOperation.allCases)
    func apiOperation(operation: APIOperation) throws {
        #expect(try Wire.decode([APIOperation].self, from: Wire.encode([operation])) == [operation])
    }

    @Test func requestFieldsWithDefaultsMayBeLeftOut() throws {
        let submit = try Wire.decode(SubmitJobRequest.self, from: Array(#"{"task":{"kind":"exec","argv":["true"]}}"#.utf8))
        #expect(submit == SubmitJobRequest(selector: "", all: false, task: .exec(["true"]), timeout: 60, deadlineIn: 600))
        #expect(try Wire.decode(ListNodesRequest.self, from: Array("{}".utf8)) == ListNodesRequest())
        #expect(try Wire.decode(ListJobsRequest.self, from: Array("{}".utf8)) == ListJobsRequest())
        #expect(try Wire.decode(GetJobRequest.self, from: Array(#"{"id":"j"}"#.utf8)).withOutput)
    }

    @Test("an absent optional field decodes as nil")
    func optionalFieldsMayBeAbsent() throws {
        let json = #"{"v":1,"job":"j","node":"n","seq":1,"state":"running","at":5}"#
        let status = try Wire.decode(ExecutionStatusMessage.self, from: Array(json.utf8))
        #expect(status == ExecutionStatusMessage(job: "j", node: "n", seq: 1, state: .running, at: 5))
    }

    @Test func unknownFieldsAreIgnored() throws {
        let json = #"{"v":1,"node":"n","bdSeq":3,"future":{"x":[1,2]}}"#
        #expect(try Wire.decode(DeathMessage.self, from: Array(json.utf8)) == DeathMessage(node: "n", bdSeq: 3))
    }

    // MARK: Hostile input

    @Test("a missing required field is refused and named", arguments: WireSample.all)
    func missingFields(sample: WireSample) throws {
        for field in sample.required {
            var object = try jsonObject(sample.payload)
            #expect(object.removeValue(forKey: field) != nil, "\(sample.name) has no field '\(field)'")
            let error = #expect(throws: WireError.self) { try sample.decode(try bytes(object)) }
            #expect(error?.description.contains(sample.name) == true)
            #expect(error?.description.contains("'\(field)'") == true, "\(error?.description ?? "")")
        }
    }

    @Test("a field of the wrong type is refused", arguments: WireSample.all)
    func wrongTypes(sample: WireSample) throws {
        for field in try jsonObject(sample.payload).keys where field != "v" {
            var object = try jsonObject(sample.payload)
            object[field] = [[true]]
            #expect(throws: WireError.self, "\(sample.name).\(field)") { try sample.decode(try bytes(object)) }
        }
    }

    @Test(
        "payloads that are not the right JSON object are refused",
        arguments: [
            "", " ", "{", "}", "{}", "[]", "null", "true", "0", "\"x\"", "{\"v\":1", "{\"v\":1 \"id\":\"x\"}", "{'v':1}",
            "\u{FEFF}", "NaN",
        ]
    )
    func malformed(json: String) {
        for sample in WireSample.all where !(sample.required.isEmpty && json == "{}") {
            #expect(throws: WireError.self, "\(sample.name)") { try sample.decode(Array(json.utf8)) }
        }
    }

    @Test("every strict prefix of a valid payload is refused", arguments: WireSample.all)
    func truncated(sample: WireSample) {
        for length in 0..<sample.payload.count {
            #expect(throws: WireError.self, "\(length) bytes") { try sample.decode(Array(sample.payload.prefix(length))) }
        }
    }

    @Test func numbersOutOfRangeAreRefused() {
        let cases: [(any Decodable.Type, String)] = [
            (DeathMessage.self, #"{"v":1,"node":"n","bdSeq":-1}"#),
            (DeathMessage.self, #"{"v":1,"node":"n","bdSeq":18446744073709551616}"#),
            (DeathMessage.self, #"{"v":1,"node":"n","bdSeq":1.5}"#),
            (OutputChunkMessage.self, #"{"v":1,"job":"j","node":"n","seq":4294967296,"stream":"stdout","data":""}"#),
            (ExecutionStatusMessage.self, #"{"v":1,"job":"j","node":"n","seq":1,"state":"failed","exitCode":1e100,"at":0}"#),
            (HeartbeatMessage.self, #"{"v":1,"node":"n","seq":1,"uptime":1e999,"running":0,"sentAt":0}"#),
        ]
        for (type, json) in cases {
            #expect(throws: WireError.self, "\(json)") { _ = try Wire.decode(type, from: Array(json.utf8)) }
        }
    }

    @Test func invalidEnumValuesAndSelectorsAreRefused() {
        let cases: [(any Decodable.Type, String)] = [
            (ControlMessage.self, #"{"v":1,"op":"reboot"}"#),
            (OutputChunkMessage.self, #"{"v":1,"job":"j","node":"n","seq":1,"stream":"stdin","data":""}"#),
            (ExecutionStatusMessage.self, #"{"v":1,"job":"j","node":"n","seq":1,"state":"done","at":0}"#),
            (JobMessage.self, #"{"v":1,"id":"j","selector":"region=","task":{"kind":"shell","script":"x"},"#
                + #""timeout":1,"deadline":2,"nodes":[],"createdAt":0}"#),
            (JobMessage.self, #"{"v":1,"id":"j","selector":"a=1","task":{"kind":"exec","argv":[]},"#
                + #""timeout":1,"deadline":2,"nodes":[],"createdAt":0}"#),
        ]
        for (type, json) in cases {
            #expect(throws: WireError.self, "\(json)") { _ = try Wire.decode(type, from: Array(json.utf8)) }
        }
    }

    @Test("random bytes are refused", arguments: WireSample.all)
    func randomBytes(sample: WireSample) {
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<300 {
            let payload = generator.bytes(Int.random(in: 0...256, using: &generator))
            #expect(throws: WireError.self) { try sample.decode(payload) }
        }
    }

    @Test("random corruption of a valid payload never crashes", arguments: WireSample.all)
    func corruptedPayloads(sample: WireSample) {
        var generator = SplitMix64(seed: 0xC0FFEE)
        var refused = 0
        for _ in 0..<500 {
            var payload = sample.payload
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<payload.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: payload[index] = UInt8.random(in: 0...255, using: &generator)
                case 1: payload.remove(at: index)
                default: payload.insert(UInt8.random(in: 0...255, using: &generator), at: index)
                }
                if payload.isEmpty { break }
            }
            do {
                try sample.decode(payload)
            } catch {
                refused += 1
            }
        }
        // Most corruptions break the JSON; a few land inside a string and still decode.
        #expect(refused > 0)
    }

    @Test func deeplyNestedJSONIsRefused() {
        let depth = 100_000
        let payload = Array(String(repeating: "[", count: depth).utf8) + Array(String(repeating: "]", count: depth).utf8)
        #expect(throws: WireError.self) { try Wire.decode(DeathMessage.self, from: payload) }
        let objects = Array(String(repeating: #"{"a":"#, count: depth).utf8) + [UInt8(ascii: "1")]
            + Array(String(repeating: "}", count: depth).utf8)
        #expect(throws: WireError.self) { try Wire.decode(DeathMessage.self, from: objects) }
    }

    @Test func payloadsOverTheLimitAreRefusedBeforeParsing() {
        let valid = Wire.encode(DeathMessage(node: "n1", bdSeq: 1))
        // Trailing whitespace keeps the JSON valid, so only the size can be the reason.
        let atLimit = valid + [UInt8](repeating: UInt8(ascii: " "), count: Wire.maximumPayload - valid.count)
        #expect(atLimit.count == Wire.maximumPayload)
        #expect(throws: Never.self) { try Wire.decode(DeathMessage.self, from: atLimit) }

        let overLimit = atLimit + [UInt8(ascii: " ")]
        let error = #expect(throws: WireError.self) { try Wire.decode(DeathMessage.self, from: overLimit) }
        #expect(error?.description.contains("exceeds") == true)

        let huge = [UInt8](repeating: UInt8(ascii: "x"), count: 10 << 20)
        #expect(throws: WireError.self) { try Wire.decode(JobMessage.self, from: huge) }
    }

    @Test func errorsNameTheTypeAndTheProblem() {
        let missing = #expect(throws: WireError.self) {
            try Wire.decode(DeathMessage.self, from: Array(#"{"v":1,"bdSeq":1}"#.utf8))
        }
        #expect(missing?.description == "DeathMessage: missing field 'node'")
        let wrongType = #expect(throws: WireError.self) {
            try Wire.decode(DeathMessage.self, from: Array(#"{"v":1,"node":"n","bdSeq":"1"}"#.utf8))
        }
        #expect(wrongType?.description == "DeathMessage: wrong type at 'bdSeq'")
        let malformed = #expect(throws: WireError.self) { try Wire.decode(DeathMessage.self, from: Array("{".utf8)) }
        #expect(malformed?.description.hasPrefix("DeathMessage: malformed") == true)
    }

    private func jsonObject(_ payload: [UInt8]) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
    }

    private func bytes(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object))
    }
}
