import Foundation
import Mosquitto
@testable import ShoalTestSupport
import Testing

/// The recorder behind the contract check (docs/integrations.md): what it writes is what
/// scripts/contract/validate.py reads.
@Suite struct ContractRecordingTests {
    @Test func everyMessageUpToTheBarrierIsWrittenAndOffContractOnesAreMarkedAndCut() async throws {
        try await withMosquitto { broker in
            try await withTemporaryDirectory("shoal-contract-recording") { directory in
                let path = directory + "/recording.jsonl"
                let recorder = try await ContractRecorder.start(broker: broker.address, username: nil, password: nil, tls: nil,
                                                                path: path)
                let publisher = try MQTTClient(configuration: .init(port: broker.address.port, clientID: "recorded"),
                                               logger: testLogger("recorded"))
                try await publisher.start()
                defer { publisher.stop() }
                try await publisher.publishConfirmed(MQTTMessage(
                    topic: "shoal/v1/api/nodes.list", payload: Array("{}".utf8), responseTopic: "shoal/v1/reply/me",
                    correlationData: [0, 0xff]))
                try await publisher.publishConfirmed(MQTTMessage(
                    topic: "shoal/v1/node/n1/birth", payload: Array(repeating: UInt8(ascii: "x"), count: 300),
                    userProperties: [ContractRecording.offContract]))
                try await publisher.publishConfirmed(MQTTMessage(
                    topic: "shoal/v1/node/n1/hb", payload: Array(repeating: 1, count: Int(ContractRecording.largestRecorded) + 1)))
                try await publisher.publishConfirmed(MQTTMessage(topic: "shoal/v1/node/n1/death", payload: [0xff, 0xfe]))
                try await publisher.publishConfirmed(MQTTMessage(topic: "elsewhere/x", payload: Array("{}".utf8)))
                // Published just before the end: the barrier still waits for it.
                try await publisher.publishConfirmed(MQTTMessage(topic: "shoal/v1/node/n1/hb", payload: Array("{}".utf8)))
                await recorder.finish()

                let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
                let records = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
                #expect(records.map { $0["topic"] as? String } == [
                    "shoal/v1/api/nodes.list", "shoal/v1/node/n1/birth", "shoal/v1/node/n1/death", "shoal/v1/node/n1/hb",
                ], "the over-large heartbeat and the topic outside shoal/v1 are not recorded")
                #expect(records[0]["payload"] as? String == "{}")
                #expect(records[0]["responseTopic"] as? String == "shoal/v1/reply/me")
                #expect(records[0]["correlation"] as? String == "00ff")
                #expect(records[0]["offContract"] == nil)
                #expect(records[1]["offContract"] as? Bool == true)
                #expect((records[1]["payload"] as? String)?.count == 200)
                #expect(records[1]["bytes"] as? Int == 300)
                #expect(records[2]["notUTF8"] as? Bool == true)
                var status = stat()
                #expect(stat(path, &status) == 0 && status.st_mode & 0o077 == 0, "private: enrollment requests carry secrets")
            }
        }
    }
}
