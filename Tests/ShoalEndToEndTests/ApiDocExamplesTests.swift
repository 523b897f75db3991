import BrokerLauncher
import Foundation
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance (issue 10, docs that cannot drift): every request example in docs/api.md is
/// published as written, in page order, to a real mosquitto, dispatcher and agents, and its
/// reply must be the one the page shows; the documented defaults hold on the wire.
@Suite struct ApiDocExamplesTests {
    /// The fleet the page's examples describe.
    static let fleet: [String: [String: String]] = [
        "node-01": ["region": "eu", "role": "web"],
        "node-02": ["region": "eu", "role": "web"],
        "node-03": ["region": "us", "role": "db"],
    ]

    @Test func everyExampleIsAnsweredAsThePageShows() async throws {
        let examples = try DocExample.all(in: DocExample.apiPage())
        let shown = Set(examples.filter { !$0.isError }.map(\.operation))
        for operation in APIOperation.allCases {
            #expect(shown.contains(operation.rawValue), "docs/api.md has no successful example of \(operation.rawValue)")
        }
        for example in examples {
            #expect(example.reply["ok"] == .bool(!example.isError),
                    "line \(example.line): the reply shown does not match the example's marker")
        }
        try await withFleet(agents: Self.fleet) { fleet in
            let raw = try await RawClient(port: fleet.address.port)
            defer { raw.mqtt.stop() }
            try await fleet.client { client in
                // Every job's events, from before its submission.
                try await client.follow(job: "+")
                var forgotten: Set<String> = []
                for (index, example) in examples.enumerated() where !Self.enrollmentOperations.contains(example.operation) {
                    try await Self.run(example, index: index, raw: raw, client: client, fleet: fleet, forgotten: &forgotten)
                }
                try await Self.listLimitDefaultsTo50(raw: raw, client: client)
            }
        }
    }

    /// Decisions on enrollment need pending nodes, which need the secure profile: their
    /// examples run against a secure fleet (`enrollmentExamplesAreAnsweredAsThePageShows`).
    static let enrollmentOperations: Set<String> = [APIOperation.approveNode.rawValue, APIOperation.rejectNode.rawValue]

    /// The page's enrollment examples, in order, against a broker with the secure profile
    /// where `edge-17` and `edge-18` have asked to enroll.
    @Test func enrollmentExamplesAreAnsweredAsThePageShows() async throws {
        let examples = try DocExample.all(in: DocExample.apiPage()).filter { Self.enrollmentOperations.contains($0.operation) }
        #expect(!examples.isEmpty)
        try await withSecureFleet { fleet in
            let observer = try await fleet.rawClient(as: SecureBrokerProfile.dispatcherUser, clientID: "doc-answers")
            defer { observer.stop() }
            try await observer.subscribe([TopicTree().enrollmentAnswer("+")])
            try fleet.startEnrollingAgent("edge-17", labels: ["region": "eu", "role": "edge"])
            try fleet.startEnrollingAgent("edge-18", labels: ["region": "eu", "role": "edge"])
            try await withTimeout(.seconds(30), "both pending") {
                var waiting: Set<String> = ["edge-17", "edge-18"]
                for await message in observer.messages {
                    if let answer = try? Wire.decode(EnrollmentAnswer.self, from: message.payload), answer.state == .pending {
                        waiting.remove(answer.node)
                    }
                    if waiting.isEmpty { return }
                }
            }
            let raw = try await RawClient(port: fleet.address.port, username: SecureBrokerProfile.operatorUser,
                                          password: try fleet.password(SecureBrokerProfile.operatorUser), tls: fleet.tls)
            defer { raw.mqtt.stop() }
            for (index, example) in examples.enumerated() {
                let reply = try await raw.request("shoal/v1/api/\(example.operation)", example.request, correlation: "enroll-\(index)",
                                            offContract: example.isError)
                let problems = try JSON.parse(reply).mismatches(against: example.reply)
                #expect(problems.isEmpty, "docs/api.md line \(example.line): \(problems.joined(separator: "; "))\nreply: \(reply)")
            }
        }
    }

    /// Publishes one example and checks its reply against the page, then the defaults of
    /// the fields the request leaves out.
    private static func run(_ example: DocExample, index: Int, raw: RawClient, client: DispatcherClient,
                            fleet: Fleet, forgotten: inout Set<String>) async throws {
        let request = try JSON.parse(example.request)
        let context = "docs/api.md line \(example.line) (\(example.operation))"
        if example.operation == APIOperation.forgetNode.rawValue, !example.isError,
           case .string(let node)? = request["node"], let agent = fleet.agents[node] {
            // The page's precondition: only an offline node can be forgotten.
            await agent.stop()
            try await fleet.waitOffline([node])
            forgotten.insert(node)
        }
        if example.operation == APIOperation.releaseNode.rawValue, !example.isError, case .string(let node)? = request["node"] {
            // The page's precondition: the node's agent has confirmed its isolation.
            try await withTimeout(.seconds(20), "\(node)'s isolation confirmed") {
                try await fleet.client { client in
                    try await client.followNodes()
                    let nodes = try await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self)
                    if nodes.contains(where: { $0.id == node && $0.isolated == true }) { return }
                    for await view in client.nodeEvents where view.id == node && view.isolated == true { return }
                }
            }
        }
        let reply = try await raw.request("shoal/v1/api/\(example.operation)", example.request, correlation: "doc-\(index)",
                                        offContract: example.isError)
        let problems = try JSON.parse(reply).mismatches(against: example.reply)
        #expect(problems.isEmpty, "\(context): \(problems.joined(separator: "; "))\nreply: \(reply)")

        switch APIOperation(rawValue: example.operation) {
        case .submitJob?:
            if request["selector"].isEmptyText && request["all"] == nil {
                #expect(example.isError && reply.contains("empty selector"), "\(context): all defaults to false")
            }
            guard !example.isError else { return }
            let detail = try decode(JobDetail.self, reply, context)
            if request["timeout"] == nil { #expect(detail.job.timeout == 60, "\(context): timeout defaults to 60") }
            let deadlineIn = request["deadlineIn"]?.number ?? 600
            #expect(abs(detail.job.deadline - detail.job.createdAt - deadlineIn) < 0.001, "\(context): deadline")
            if request["summary"] == nil {
                #expect(detail.executions.count == detail.job.expected, "\(context): summary defaults to false")
            }
            if detail.job.finishedAt == nil {
                // Later examples show the job finished (a rollout: its first batch): wait
                // for its events, not for time.
                let (job, expected) = (detail.job.id, detail.job.rollout?.batchSizes.first ?? detail.job.expected)
                _ = try await withTimeout(.seconds(30), "job \(job) to finish") {
                    try await awaitJob(client, job: job) { $0.values.filter(\.state.isTerminal).count == expected }
                }
            }
        case .getJob? where !example.isError && request["withOutput"] == nil:
            let detail = try decode(JobDetail.self, reply, context)
            let page = try await client.request(.jobOutput, JobOutputRequest(id: detail.job.id), as: OutputPage.self)
            #expect(!page.chunks.isEmpty, "\(context): the example job printed something")
            for execution in detail.executions {
                let stdout = page.chunks.filter { $0.node == execution.node && $0.stream == .stdout }.map(\.data).joined()
                #expect((execution.stdout ?? "") == stdout, "\(context): withOutput defaults to true")
            }
        case .listJobs? where !example.isError && request["limit"] == nil:
            #expect(try decode([JobView].self, reply, context).count <= 50, "\(context): limit defaults to 50")
        case .jobOutput? where !example.isError && request["maxBytes"] == nil:
            #expect(try decode(OutputPage.self, reply, context).next == nil, "\(context): a page holds up to 1 MiB")
        case .listNodes? where !example.isError && request["selector"] == nil:
            let ids = try decode([NodeView].self, reply, context).map(\.id)
            #expect(Set(ids) == Set(fleet.agents.keys).subtracting(forgotten), "\(context): selector defaults to \"\"")
        default:
            break
        }
    }

    /// More jobs than the default limit: `{}` lists 50 of them, newest first.
    private static func listLimitDefaultsTo50(raw: RawClient, client: DispatcherClient) async throws {
        for index in 1...55 {
            // Matches no node: recorded and finished at once.
            let detail = try await client.request(
                .submitJob, SubmitJobRequest(id: "doc-filler-\(index)", selector: "role=nobody", task: .exec(["true"])),
                as: JobDetail.self)
            #expect(detail.job.expected == 0 && detail.job.finishedAt != nil)
        }
        let listed = try decode([JobView].self, try await raw.request("shoal/v1/api/jobs.list", "{}", correlation: "list-50"), "{}")
        #expect(listed.count == 50)
        #expect(listed.first?.id == "doc-filler-55")
        let everything = try await raw.request("shoal/v1/api/jobs.list", #"{"limit":1000}"#, correlation: "list-1000")
        let all = try decode([JobView].self, everything, "limit 1000")
        #expect(all.count > 55)
    }

    private static func decode<Result: Codable & Sendable>(_ type: Result.Type, _ reply: String, _ context: String) throws -> Result {
        let response = try decodeJSON(APIResponse<Result>.self, reply)
        return try #require(response.result, "\(context): no result in \(reply)")
    }
}

/// Requests as an integration sends them: raw JSON with a Response Topic and Correlation Data.
private final class RawClient: Sendable {
    let mqtt: MQTTClient
    let replyTopic = "shoal/v1/reply/api-doc-examples"

    init(port: Int32, username: String? = nil, password: String? = nil, tls: MQTTTLS? = nil) async throws {
        mqtt = try MQTTClient(configuration: .init(port: port, clientID: "api-doc-examples", username: username, password: password,
                                                   tls: tls), logger: testLogger("raw"))
        try await mqtt.start()
        try await mqtt.subscribe([replyTopic])
    }

    /// Publishes `json` to `topic` and returns the reply that carries `correlation` back.
    /// `offContract`: the page shows this request as one the dispatcher refuses (an `error`
    /// example), so the contract check does not hold the request itself to its schema.
    func request(_ topic: String, _ json: String, correlation: String, offContract: Bool = false) async throws -> String {
        try await mqtt.publishConfirmed(MQTTMessage(
            topic: topic, payload: Array(json.utf8), qos: 1, responseTopic: replyTopic,
            correlationData: Array(correlation.utf8), userProperties: offContract ? [ContractRecording.offContract] : []))
        return try await withTimeout(.seconds(20), "the reply to \(topic) \(correlation)") { [mqtt, replyTopic] in
            for await message in mqtt.messages where message.topic == replyTopic {
                if message.correlationData == Array(correlation.utf8) { return String(decoding: message.payload, as: UTF8.self) }
                Issue.record("a reply with unexpected correlation data: \(String(decoding: message.payload, as: UTF8.self))")
            }
            throw CancellationError()
        }
    }
}

/// One marked example of docs/api.md: `<!-- example: OPERATION -->` (or
/// `<!-- example: OPERATION, error -->`), then a ```json block with the request as sent and
/// a ```json block with the reply.
private struct DocExample: Sendable {
    var operation: String
    var isError: Bool
    var request: String
    var reply: JSON
    var line: Int

    static func apiPage() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("docs/api.md"), encoding: .utf8)
    }

    static func all(in page: String) throws -> [DocExample] {
        let lines = page.split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
        var examples: [DocExample] = []
        var index = 0
        while index < lines.count {
            guard let (operation, isError) = marker(lines[index]) else {
                index += 1
                continue
            }
            let line = index + 1
            var blocks: [String] = []
            index += 1
            while blocks.count < 2 {
                guard index < lines.count else { throw PageError("line \(line): an example needs a request and a reply block") }
                let text = lines[index].trimmingCharacters(in: .whitespaces)
                if marker(text) != nil { throw PageError("line \(line): an example without its reply block") }
                index += 1
                guard text == "```json" else { continue }
                var body: [String] = []
                while index < lines.count, lines[index].trimmingCharacters(in: .whitespaces) != "```" {
                    body.append(lines[index])
                    index += 1
                }
                index += 1
                blocks.append(body.joined(separator: "\n"))
            }
            do {
                _ = try JSON.parse(blocks[0])
                examples.append(DocExample(operation: operation, isError: isError, request: blocks[0],
                                           reply: try JSON.parse(blocks[1]), line: line))
            } catch {
                throw PageError("line \(line): an example that is not JSON: \(error)")
            }
        }
        guard !examples.isEmpty else { throw PageError("no `<!-- example: ... -->` in docs/api.md") }
        return examples
    }

    /// `(operation, isError)` of a marker line.
    private static func marker(_ line: String) -> (String, Bool)? {
        let text = line.trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("<!-- example:"), text.hasSuffix("-->") else { return nil }
        let parts = text.dropFirst("<!-- example:".count).dropLast("-->".count).split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let operation = parts.first, !operation.isEmpty else { return nil }
        return (operation, parts.dropFirst().contains("error"))
    }

    struct PageError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// Any JSON value, to compare a reply with the page.
private enum JSON: Decodable, Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([String: JSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSON].self))
        }
    }

    static func parse(_ text: String) throws -> JSON {
        try JSONDecoder().decode(JSON.self, from: Data(text.utf8))
    }

    subscript(key: String) -> JSON? {
        if case .object(let members) = self { members[key] } else { nil }
    }

    var number: Double? {
        if case .number(let value) = self { value } else { nil }
    }

    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a bool"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let value): "\(value)"
        case .string(let value): "\"\(value)\""
        case .array(let values): "[\(values.map(\.description).joined(separator: ", "))]"
        case .object(let members): "{\(members.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", "))}"
        }
    }

    /// How this reply differs from the one `shown`: the same fields (any in `labels`), the
    /// same types, strings and flags, the same whole numbers under 10^9 (counts, codes,
    /// durations); timestamps and fractions are samples.
    func mismatches(against shown: JSON, at path: String = "reply") -> [String] {
        switch (self, shown) {
        case (.object(let actual), .object(let expected)):
            if path.hasSuffix(".labels") {
                return actual.values.allSatisfy { if case .string = $0 { true } else { false } } ? [] : ["\(path) holds a non-string"]
            }
            var found = expected.keys.sorted().filter { actual[$0] == nil }.map { "\(path).\($0) is missing" }
            found += actual.keys.sorted().filter { expected[$0] == nil }.map { "\(path).\($0) is not on the page" }
            for key in actual.keys.sorted() {
                if let value = actual[key], let expected = expected[key] {
                    found += value.mismatches(against: expected, at: "\(path).\(key)")
                }
            }
            return found
        case (.array(let actual), .array(let expected)):
            guard actual.count == expected.count else {
                return ["\(path) has \(actual.count) elements, the page shows \(expected.count)"]
            }
            return zip(actual, expected).enumerated().flatMap { $1.0.mismatches(against: $1.1, at: "\(path)[\($0)]") }
        case (.number(let actual), .number(let expected)):
            let exact = expected == expected.rounded() && abs(expected) < 1e9
            return !exact || actual == expected ? [] : ["\(path) is \(self), the page shows \(shown)"]
        case (.string, .string), (.bool, .bool), (.null, .null):
            return self == shown ? [] : ["\(path) is \(self), the page shows \(shown)"]
        default:
            return ["\(path) is \(kind), the page shows \(shown.kind)"]
        }
    }
}

extension Optional where Wrapped == JSON {
    /// Absent, or the empty string.
    fileprivate var isEmptyText: Bool {
        switch self {
        case .none, .string("")?: true
        default: false
        }
    }
}
