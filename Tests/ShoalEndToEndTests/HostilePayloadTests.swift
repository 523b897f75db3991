import Foundation
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance: random bytes, malformed JSON, wrong types and a 10 MiB payload published to
/// every topic the dispatcher and the agent read: neither crashes, both go on working.
@Suite struct HostilePayloadTests {
    @Test func garbageOnEveryTopicIsSurvived() async throws {
        try await withFleet(agents: ["target": ["region": "eu", "role": "web"]]) { fleet in
            let topics = TopicTree()
            let cell = Cell(labels: ["region": "eu", "role": "web", "arch": NodeFactsArch.current])
            var targets = [
                topics.birth("target"), topics.death("target"), topics.heartbeat("target"), topics.metrics("target"),
                topics.birth("intruder"), topics.heartbeat("intruder"),
                topics.execStatus(node: "target", job: "j1"), topics.execOutput(node: "target", job: "j1"),
                topics.nodeJob("target"), topics.nodeControl("target"), topics.cellJob(cell),
                topics.enrollmentRequest("target"), topics.enrollmentAnswer("target"),
                topics.logs("target"), topics.logs("intruder"),
            ]
            targets += APIOperation.allCases.map(topics.api)

            var generator = SplitMix64(seed: 42)
            let random = (0..<256).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let payloads: [[UInt8]] = [
                random, [], Array("{".utf8), Array("null".utf8), Array("[]".utf8),
                Array(#"{"v":1,"node":7,"labels":"x","bdSeq":-1}"#.utf8),
                Array(#"{"v":"1","id":"../../etc","selector":"region=(","task":{"kind":"rm"},"nodes":["target"]}"#.utf8),
                Array(#"{"v":1,"job":"j1","node":"target","seq":1,"state":"exploded","at":"now"}"#.utf8),
                Array(#"{"op":"cancel","job":{"a":1}}"#.utf8),
                // Metrics: numbers out of range, NaN, negative, a huge array, a hostile name.
                Array(#"{"v":1,"node":"target","samples":[{"at":1e300,"values":{"cpu_pct":1e300}}]}"#.utf8),
                Array(#"{"v":1,"node":"target","samples":[{"at":1800000000,"values":{"cpu_pct":-1,"x":NaN}}]}"#.utf8),
                Array(("{\"v\":1,\"node\":\"target\",\"samples\":[" + Array(repeating: #"{"at":1800000000,"values":{"load1":1}}"#, count: 10_000)
                    .joined(separator: ",") + "]}").utf8),
                Array(#"{"v":1,"node":"target","samples":[{"at":1800000000,"values":{"../../x\u0000":1}}]}"#.utf8),
                Array(#"{"v":1,"node":"target","lines":[{"seq":1e300,"at":1e300,"source":"a","text":"x"}]}"#.utf8),
                Array(#"{"v":1,"node":"target","lines":[{"seq":1,"at":1800000000,"source":"a\u0000","text":"x"}],"dropped":[{"source":"a","seq":-1,"count":1,"reason":"outbox_full","at":1}]}"#.utf8),
                Array(#"{"v":1,"node":"target","lines":[{"seq":1,"at":1800000000,"source":"a","text":""#.utf8)
                    + Array(repeating: UInt8(ascii: "y"), count: Limits.logLineBytes + 1) + Array(#""}]}"#.utf8),
                Array(repeating: UInt8(ascii: "x"), count: 10 << 20),
            ]
            let attacker = try MQTTClient(configuration: .init(port: fleet.address.port, clientID: "attacker"),
                                          logger: testLogger("attacker"))
            try await attacker.start()
            defer { attacker.stop() }
            // Correlation Data tells the replies apart, also to the 10 MiB requests that the
            // contract recorder does not take (ContractRecording.largestRecorded).
            var sent = 0
            for topic in targets {
                for payload in payloads {
                    sent += 1
                    try await attacker.publishConfirmed(MQTTMessage(topic: topic, payload: payload, qos: 1,
                                                                    responseTopic: "shoal/v1/reply/attacker",
                                                                    correlationData: Array("\(ContractRecording.offContract.value)-\(sent)".utf8),
                                                                    userProperties: [ContractRecording.offContract]))
                }
            }

            // Malformed API requests get an error reply rather than silence.
            try await attacker.subscribe(["shoal/v1/reply/attacker-check"])
            try await attacker.publishConfirmed(MQTTMessage(
                topic: topics.api(.submitJob), payload: Array(#"{"selector":5}"#.utf8), qos: 1,
                responseTopic: "shoal/v1/reply/attacker-check", correlationData: Array("c1".utf8),
                userProperties: [ContractRecording.offContract]))
            let reply = try await withTimeout(.seconds(20), "an error reply") { () -> APIResponse<EmptyResult>? in
                for await message in attacker.messages where message.topic == "shoal/v1/reply/attacker-check" {
                    return try Wire.decode(APIResponse<EmptyResult>.self, from: message.payload)
                }
                return nil
            }
            #expect(reply?.ok == false)
            #expect(reply?.error?.contains("selector") == true)

            // Both still run, and still work.
            #expect(fleet.dispatcher.process.termination == nil)
            #expect(fleet.agents["target"]!.process.termination == nil)
            let result = try await fleet.shoal("run", "--all", "-o", "json", "--", "echo", "still-here")
            #expect(result.exitCode == 0, "\(result.stderr)")
            let detail = try decodeJSON(JobDetail.self, result.stdout)
            #expect(detail.executions.map(\.stdout) == ["still-here\n"])
            let nodes = try await fleet.shoal("nodes", "-o", "json")
            let listed = try decodeJSON([NodeView].self, nodes.stdout)
            #expect(listed.map(\.id) == ["target"], "a malformed birth must not register a node")
            // No hostile metric value was kept (the agent's own, if any, are in range).
            let metrics = try await fleet.shoal("metrics", "target", "--metric", "cpu_pct", "--since", "1h", "-o", "json")
            #expect(metrics.exitCode == 0, "\(metrics.stderr)")
            let series = try decodeJSON(MetricsQueryResult.self, metrics.stdout).series
            #expect(series.allSatisfy { $0.points.allSatisfy { (0...100).contains($0[1]) && $0[0] < 9_999_999_999 } })
            let logs = try await fleet.shoal("logs", "-o", "json")
            #expect(logs.exitCode == 0 && logs.stdout.isEmpty, "no hostile log line may be stored: \(logs.stdout.prefix(500))")
        }
    }
}

/// The arch label the local agent reports (its cell topic includes it).
enum NodeFactsArch {
    static var current: String {
        var system = utsname()
        uname(&system)
        let machine = withUnsafeBytes(of: &system.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return machine == "x86_64" ? "amd64" : machine == "aarch64" ? "arm64" : machine
    }
}
