import Foundation
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance (issue 9, bounds): the extremes of every numeric and string field reach a
/// real dispatcher and agent; each is refused with an error that names the field, every
/// process keeps running, and what was stored still renders.
@Suite struct BoundsEndToEndTests {
    /// Requests and replies by hand, as an integration would send them.
    private final class RawClient: Sendable {
        let mqtt: MQTTClient
        let replyTopic = "shoal/v1/reply/bounds-test"

        init(port: Int32) async throws {
            mqtt = try MQTTClient(configuration: .init(port: port, clientID: "bounds-test"), logger: testLogger("raw"))
            try await mqtt.start()
            try await mqtt.subscribe([replyTopic, "shoal/v1/node/+/exec/+/status"])
        }

        /// Every message this test publishes carries an extreme on purpose: off the contract.
        func publish(_ topic: String, _ json: String, correlation: String? = nil) async throws {
            try await mqtt.publishConfirmed(MQTTMessage(
                topic: topic, payload: Array(json.utf8), qos: 1, responseTopic: correlation == nil ? nil : replyTopic,
                correlationData: correlation.map { Array($0.utf8) }, userProperties: [ContractRecording.offContract]))
        }

        /// The next message on a topic, decoded.
        func next<Body: Decodable & Sendable>(on topic: String, as: Body.Type) async throws -> Body {
            try await withTimeout(.seconds(20), "a message on \(topic)") { [mqtt] () -> Body in
                for await message in mqtt.messages where message.topic == topic {
                    return try JSONDecoder().decode(Body.self, from: Data(message.payload))
                }
                throw CancellationError()
            }
        }
    }

    private struct Reply: Decodable, Sendable { var ok: Bool; var error: String? }
    private struct Status: Decodable, Sendable { var state: String; var reason: String? }

    @Test func extremesAreRefusedByFieldAndNothingCrashes() async throws {
        try await withFleet(agents: ["target": ["role": "web"]]) { fleet in
            let raw = try await RawClient(port: fleet.address.port)
            defer { raw.mqtt.stop() }
            let topics = TopicTree()

            // API: one bad field per request; the reply names it.
            let task = #""task":{"kind":"exec","argv":["true"]}"#
            let submits: [(String, String)] = [
                (#"{"selector":"role=web",\#(task),"timeout":1e300}"#, "timeout"),
                (#"{"selector":"role=web",\#(task),"timeout":1e20}"#, "timeout"),
                (#"{"selector":"role=web",\#(task),"timeout":-1}"#, "timeout"),
                (#"{"selector":"role=web",\#(task),"timeout":0}"#, "timeout"),
                (#"{"selector":"role=web",\#(task),"timeout":5e-324}"#, "timeout"),
                (#"{"selector":"role=web",\#(task),"timeout":9223372036854775808}"#, "timeout"),
                (#"{"selector":"role=web",\#(task),"timeout":"NaN"}"#, "timeout"),
                (#"{"selector":"role=web",\#(task),"deadlineIn":1e308}"#, "deadlineIn"),
                (#"{"selector":"role=web",\#(task),"deadlineIn":-1}"#, "deadlineIn"),
                (#"{"selector":"role=web","task":{"kind":"shell","script":"echo harmful\u0000; echo benign"}}"#, "script"),
                (#"{"selector":"role=web","task":{"kind":"exec","argv":["echo","a\u0000b"]}}"#, "argv[1]"),
                (#"{"selector":"role=web","task":{"kind":"shell","script":"\#(String(repeating: "x", count: 130_000))"}}"#, "script"),
                (#"{"selector":"role=web","task":{"kind":"exec","argv":[\#(Array(repeating: "\"x\"", count: 5000).joined(separator: ","))]}}"#, "argv count"),
                (#"{"selector":"\#(String(repeating: "a", count: 5000))",\#(task)}"#, "selector"),
                (#"{"id":"\#(String(repeating: "a", count: 100))","selector":"role=web",\#(task)}"#, "id"),
                (#"{"selector":"role=web",\#(task),"rollout":{"batch":1e300}}"#, "batch"),
                (#"{"selector":"role=web",\#(task),"rollout":{"batch":-1}}"#, "rollout.batch"),
                (#"{"selector":"role=web",\#(task),"rollout":{"batch":9223372036854775808}}"#, "batch"),
                (#"{"selector":"role=web",\#(task),"rollout":{"batch":"0%"}}"#, "rollout.batch"),
                (#"{"selector":"role=web",\#(task),"rollout":{"batch":"101%"}}"#, "rollout.batch"),
                (#"{"selector":"role=web",\#(task),"rollout":{"canary":-1}}"#, "rollout.canary"),
                (#"{"selector":"role=web",\#(task),"rollout":{"wait":1e300}}"#, "rollout.wait"),
                (#"{"selector":"role=web",\#(task),"rollout":{"maxFailures":""}}"#, "maxFailures"),
                (#"{"selector":"role=web",\#(task),"health":""}"#, "health"),
            ]
            for (index, (body, field)) in submits.enumerated() {
                try await raw.publish(topics.api(.submitJob), body, correlation: "s\(index)")
                let reply = try await raw.next(on: raw.replyTopic, as: Reply.self)
                #expect(reply.ok == false, "\(field)")
                #expect(reply.error?.contains(field) == true, "\(field): \(reply.error ?? "")")
            }
            for (index, body) in [#"{"id":""}"#, #"{"id":"x","actor":"\#(String(repeating: "a", count: 300))"}"#].enumerated() {
                try await raw.publish(topics.api(.pauseJob), body, correlation: "p\(index)")
                let reply = try await raw.next(on: raw.replyTopic, as: Reply.self)
                #expect(reply.ok == false && (reply.error?.contains("id") == true || reply.error?.contains("actor") == true),
                        "\(reply.error ?? "")")
            }
            try await raw.publish(topics.api(.listJobs), #"{"limit":9223372036854775807}"#, correlation: "l1")
            #expect(try await raw.next(on: raw.replyTopic, as: Reply.self).error?.contains("limit") == true)
            try await raw.publish("shoal/v1/api/jobs.delete", "{}", correlation: "u1")
            let unknown = try await raw.next(on: raw.replyTopic, as: Reply.self)
            #expect(unknown.ok == false && unknown.error?.contains("unknown operation 'jobs.delete'") == true)

            // Jobs straight to the agent: rejected with the field named, never run, never a crash.
            let now = Date().timeIntervalSince1970
            let jobs: [(String, String, String)] = [
                ("huge-timeout", #""task":{"kind":"exec","argv":["true"]},"timeout":1e300,"deadline":\#(now + 600)"#, "timeout"),
                ("tiny-timeout", #""task":{"kind":"exec","argv":["true"]},"timeout":5e-324,"deadline":\#(now + 600)"#, "timeout"),
                ("nul-script", #""task":{"kind":"shell","script":"echo harmful\u0000; echo benign"},"timeout":10,"deadline":\#(now + 600)"#, "script"),
                ("far-deadline", #""task":{"kind":"exec","argv":["true"]},"timeout":10,"deadline":1e300"#, "deadline"),
            ]
            for (id, fields, field) in jobs {
                try await raw.publish(topics.nodeJob("target"),
                                      #"{"v":1,"id":"\#(id)","selector":"","nodes":["target"],"createdAt":\#(now),\#(fields)}"#)
                let status = try await raw.next(on: topics.execStatus(node: "target", job: id), as: Status.self)
                #expect(status.state == "rejected", "\(id)")
                #expect(status.reason?.contains(field) == true, "\(id): \(status.reason ?? "")")
            }

            // A forged report with impossible times is dropped; what is stored renders.
            let run = try await fleet.shoal("run", "--all", "--id", "forged-times", "--", "true")
            #expect(run.exitCode == 0, "\(run.stderr)")
            try await raw.publish(topics.execStatus(node: "target", job: "forged-times"),
                                  #"{"v":1,"job":"forged-times","node":"target","seq":9,"state":"failed","at":1e300,"startedAt":-1e300}"#)
            for format in ["table", "csv", "json"] {
                let shown = try await fleet.shoal("jobs", "show", "forged-times", "-o", format)
                #expect(shown.exitCode == 0, "\(format): \(shown.stderr)")
            }

            // Flags: a usage error (64) that names the flag.
            for value in ["1e300s", "0x10", "5e-324", "-1s", "8d", ""] {
                let result = try await fleet.shoal("run", "--all", "--timeout", value, "--", "true")
                #expect(result.exitCode == 64, "--timeout \(value)")
                #expect(result.stderr.contains("--timeout"), "\(result.stderr)")
            }
            let nul = try await fleet.shoal("run", "--all", "--shell", "echo a\u{1}")
            #expect(nul.exitCode == 0, "a control byte that is not NUL is fine: \(nul.stderr)")

            #expect(fleet.dispatcher.process.termination == nil)
            #expect(fleet.agents["target"]!.process.termination == nil)
            let after = try await fleet.shoal("run", "--all", "--", "echo", "still-here")
            #expect(after.exitCode == 0 && after.stdout.contains("still-here"), "\(after.stderr)")
        }
    }

    /// Acceptance (issue 9, bounded replies): four nodes each printing more than 1 MiB end
    /// with every result; `jobs show`, `jobs list` and `jobs output` still work.
    @Test func chattyJobsEndAndEveryReplyStaysReadable() async throws {
        let agents = Dictionary(uniqueKeysWithValues: (1...4).map { ("chatty-\($0)", ["role": "chatty"]) })
        try await withFleet(agents: agents) { fleet in
            let script = "head -c 1200000 /dev/zero | tr '\\0' x; echo"
            let run = try await fleet.shoal("run", "--all", "--id", "chatty", "-o", "json", "--shell", script)
            #expect(run.exitCode == 0, "\(run.stderr)")
            let detail = try decodeJSON(JobDetail.self, run.stdout)
            #expect(detail.executions.count == 4)
            #expect(detail.executions.allSatisfy { $0.state == .succeeded && $0.outputTruncated == true })

            // Scripts at the limit (a single exec argument must stay under 128 KiB).
            let big = String(repeating: "y", count: Limits.argumentBytes - 10)
            for index in 1...2 {
                let result = try await fleet.shoal("run", "--all", "--timeout", "5s", "--shell", ": \(big)\(index)")
                #expect(result.exitCode == 0, "\(result.stderr)")
            }
            let list = try await fleet.shoal("jobs", "list", "--limit", "1000")
            #expect(list.exitCode == 0, "\(list.stderr)")
            let show = try await fleet.shoal("jobs", "show", "chatty")
            #expect(show.exitCode == 0 && show.stdout.contains("shoal jobs output chatty"), "\(show.stderr)")
            let output = try await fleet.shoal("jobs", "output", "chatty", "--node", "chatty-1")
            #expect(output.exitCode == 0, "\(output.stderr)")
            #expect(output.stdout.utf8.count == Limits.storedOutputBytes)
            #expect(output.stderr.contains("output truncated"))
        }
    }
}
