import Foundation
import Logging
import Mosquitto
import ShoalTestSupport
import Synchronization
import Testing

/// `MQTTClient` with `.batches` delivery, which runs its own network thread (`BurstLoop`)
/// instead of libmosquitto's: the same guarantees as the default client, against a real
/// mosquitto.
@Suite("MQTT client with batch delivery against a real mosquitto")
struct MQTTClientBatchDeliveryTests {
    /// What a batch-delivery client received: every message in order, and the batch sizes.
    final class Inbox: Sendable {
        let messages: AsyncStream<MQTTMessage>
        private let sink: AsyncStream<MQTTMessage>.Continuation
        private let sizes = Mutex<[Int]>([])

        init() {
            (messages, sink) = AsyncStream.makeStream(of: MQTTMessage.self)
        }

        func take(_ batch: [MQTTMessage]) {
            sizes.withLock { $0.append(batch.count) }
            batch.forEach { sink.yield($0) }
        }

        var batchSizes: [Int] { sizes.withLock { $0 } }

        func receive(_ count: Int, within limit: Duration = .seconds(10)) async throws -> [MQTTMessage] {
            try await receiveMessages(count, from: messages, within: limit, "in batches")
        }
    }

    static func withBatchClient<Result>(
        _ configuration: MQTTConfiguration, gather: Duration = .zero, _ body: (MQTTClient, Inbox) async throws -> Result
    ) async throws -> Result {
        let inbox = Inbox()
        let client = try MQTTClient(configuration: configuration, delivery: .batches(gather: gather) { inbox.take($0) },
                                    logger: testLogger("batches"))
        defer { client.stop() }
        try await withTimeout(.seconds(10), "connecting \(configuration.clientID)") { try await client.start() }
        return try await body(client, inbox)
    }

    @Test("many QoS 1 messages arrive once, in order, in fewer batches", arguments: [Duration.zero, .milliseconds(2)])
    func manyQoS1MessagesArriveOnceInOrderInFewerBatches(gather: Duration) async throws {
        let count = 3000
        try await withMosquitto { broker in
            var settings = configuration(broker, "collector")
            settings.receiveMaximum = 1000
            try await Self.withBatchClient(settings, gather: gather) { collector, inbox in
                try await collector.subscribe(["burst"], qos: 1)
                try await withClient(configuration(broker, "publisher")) { publisher in
                    for index in 0..<count {
                        try publisher.publish("burst", Array(String(index).utf8), qos: 1)
                    }
                    let received = try await inbox.receive(count, within: .seconds(20))
                    #expect(received.map { String(decoding: $0.payload, as: UTF8.self) } == (0..<count).map(String.init))
                    #expect(received.allSatisfy { $0.topic == "burst" && $0.qos == 1 })
                    // Bursts, not a call per message.
                    #expect(inbox.batchSizes.count < count)
                    #expect(inbox.batchSizes.reduce(0, +) == count)
                }
            }
        }
    }

    @Test func publishesFromOtherThreadsGoOutAndAreAcknowledged() async throws {
        try await withMosquitto { broker in
            try await Self.withBatchClient(configuration(broker, "echo")) { client, inbox in
                try await client.subscribe(["self/+"])
                // Each confirmed publish needs the network thread to wake, write and read.
                for index in 0..<50 {
                    try await withTimeout(.seconds(5), "PUBACK \(index)") {
                        try await client.publishConfirmed(MQTTMessage(topic: "self/\(index)", payload: [UInt8(index)]))
                    }
                }
                let received = try await inbox.receive(50)
                #expect(received.map(\.topic) == (0..<50).map { "self/\($0)" })
            }
        }
    }

    @Test func v5PropertiesSurviveTheTrip() async throws {
        try await withMosquitto { broker in
            try await Self.withBatchClient(configuration(broker, "requests")) { client, inbox in
                try await client.subscribe(["req"])
                try await withClient(configuration(broker, "caller")) { caller in
                    try await caller.publishConfirmed(MQTTMessage(
                        topic: "req", payload: [7], responseTopic: "reply/here", correlationData: [1, 2, 3]))
                }
                let message = try #require(try await inbox.receive(1).first)
                #expect(message.responseTopic == "reply/here")
                #expect(message.correlationData == [1, 2, 3])
            }
        }
    }

    @Test func itReconnectsAndSubscribesAgainAfterTheBrokerRestarts() async throws {
        try await withMosquitto { broker in
            var settings = configuration(broker, "survivor")
            settings.reconnectDelay = (1, 1)
            try await Self.withBatchClient(settings) { client, inbox in
                try await client.subscribe(["again/#"])
                await broker.stop()
                #expect(try await client.connectionEvent { !$0.isConnected } != nil)
                try await withRestarted(broker) { restarted in
                    #expect(try await client.connectionEvent(where: \.isConnected) == .connected(sessionPresent: false))
                    try await withClient(configuration(restarted, "publisher")) { publisher in
                        try await publisher.publishConfirmed(MQTTMessage(topic: "again/x", payload: [1], retain: true))
                    }
                    let message = try #require(try await inbox.receive(1).first)
                    #expect(message.topic == "again/x")
                }
            }
        }
    }

    @Test func theWillIsPublishedOnAbortAndNotOnStop() async throws {
        try await withMosquitto { broker in
            let willTopic = uniqueName("will")
            try await withClient(configuration(broker, "watcher")) { watcher in
                try await watcher.subscribe([willTopic])
                var polite = configuration(broker, "polite")
                polite.will = .init(topic: willTopic, payload: Array("polite".utf8))
                try await Self.withBatchClient(polite) { _, _ in }

                var doomed = configuration(broker, "doomed")
                doomed.will = .init(topic: willTopic, payload: Array("doomed".utf8))
                let client = try MQTTClient(configuration: doomed, delivery: .batches { _ in }, logger: testLogger("doomed"))
                try await withTimeout(.seconds(10)) { try await client.start() }
                client.abort()
                // Only the aborted client's Will: the stopped one said DISCONNECT first.
                let will = try #require(try await watcher.receiveOne(within: .seconds(5)))
                #expect(String(decoding: will.payload, as: UTF8.self) == "doomed")
                withExtendedLifetime(client) {}
            }
        }
    }
}
