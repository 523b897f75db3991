import Foundation
import Mosquitto
import ShoalCore
import ShoalTestSupport
import Testing

/// A node that stops heartbeating without a death message (a hung machine, a cut cable)
/// goes offline once it has missed its heartbeats (3 intervals + 1 s by default), by its
/// own interval, even while other nodes with long intervals keep the next check far away.
@Suite struct SilenceDetectionTests {
    @Test func aSilentNodeGoesOfflineByItsOwnInterval() async throws {
        try await withFleet(agents: [:]) { fleet in
            let topics = TopicTree()
            let fake = try MQTTClient(configuration: .init(port: fleet.address.port, clientID: "fake-nodes"),
                                      logger: testLogger("fake-nodes"))
            try await fake.start()
            defer { fake.stop() }
            func birth(_ node: String, interval: Double) async throws {
                let message = BirthMessage(node: node, labels: ["role": "test"], version: "test", bdSeq: 1,
                                           heartbeatInterval: interval, sentAt: Date().timeIntervalSince1970)
                try await fake.publishConfirmed(MQTTMessage(topic: topics.birth(node), payload: Wire.encode(message), qos: 1))
            }
            // A slow node, and a quick one that never beats: once the dispatcher has called the
            // quick one offline, its next look at silence is the slow one's, ~16 s away.
            try await birth("slow", interval: 5)
            try await birth("first", interval: 0.2)
            try await fleet.waitOffline(["first"])
            // Another node with a 0.2 s interval that never beats: offline 1.6 s after its birth.
            let born = ContinuousClock.now
            try await birth("quick", interval: 0.2)
            try await fleet.waitOffline(["quick"])
            let took = ContinuousClock.now - born
            #expect(took < .seconds(8), "went offline after \(took); its deadline was 1.6 s (+ a 0.5 s tick)")
            let nodes = try await fleet.shoal("nodes", "-o", "json")
            let listed = try decodeJSON([NodeView].self, nodes.stdout)
            #expect(listed.first { $0.id == "slow" }?.online == true)
            #expect(listed.first { $0.id == "quick" }?.online == false)
            #expect(listed.first { $0.id == "first" }?.online == false)
        }
    }
}
