import Foundation
import Mosquitto
import ShoalTestSupport
import Testing

@Suite("MQTT client against a real mosquitto")
struct MQTTClientTests {
    @Test("publish and subscribe round trip", arguments: [Int32(0), 1])
    func roundTrip(qos: Int32) async throws {
        try await withMosquitto { broker in
            try await withClient(configuration(broker, "subscriber")) { subscriber in
                try await subscriber.subscribe(["rt/+"], qos: qos)
                try await withClient(configuration(broker, "publisher")) { publisher in
                    try publisher.publish("rt/a", Array("hello é".utf8), qos: qos)
                    let message = try #require(try await subscriber.receiveOne())
                    #expect(message.topic == "rt/a")
                    #expect(message.payload == Array("hello é".utf8))
                    #expect(message.qos == qos)
                    #expect(!message.retain)
                    #expect(message.responseTopic == nil)
                    #expect(message.correlationData == nil)
                }
            }
        }
    }

    @Test func anEmptyPayloadRoundTrips() async throws {
        try await withMosquitto { broker in
            try await withClient(configuration(broker, "client")) { client in
                try await client.subscribe(["empty"])
                try await client.publishConfirmed(MQTTMessage(topic: "empty", payload: []))
                let message = try #require(try await client.receiveOne())
                #expect(message.topic == "empty")
                #expect(message.payload.isEmpty)
            }
        }
    }

    @Test func deliveryQoSIsTheLowerOfPublishAndSubscribe() async throws {
        try await withMosquitto { broker in
            try await withClient(configuration(broker, "client")) { client in
                try await client.subscribe(["low"], qos: 0)
                try await client.publishConfirmed(MQTTMessage(topic: "low", payload: [1], qos: 1))
                #expect(try await client.receiveOne()?.qos == 0)
            }
        }
    }

    @Test func manyPipelinedQoS1PublishesAllArriveInOrder() async throws {
        let count = 3000
        try await withMosquitto { broker in
            try await withClient(configuration(broker, "subscriber")) { subscriber in
                try await subscriber.subscribe(["pipe"], qos: 1)
                try await withClient(configuration(broker, "publisher")) { publisher in
                    for index in 0..<count {
                        try publisher.publish("pipe", Array(String(index).utf8), qos: 1)
                    }
                    let received = try await subscriber.receive(count, within: .seconds(20))
                    #expect(received.count == count)
                    #expect(received.map { String(decoding: $0.payload, as: UTF8.self) } == (0..<count).map(String.init))
                    #expect(received.allSatisfy { $0.qos == 1 })
                }
            }
        }
    }

    @Test("publishConfirmed returns once the broker holds the message")
    func publishConfirmedWaitsForPUBACK() async throws {
        try await withMosquitto { broker in
            let topic = uniqueName("retained")
            try await withClient(configuration(broker, "publisher")) { publisher in
                // PUBACK comes after the broker stored the retained message, so a client
                // subscribing afterwards must find it.
                try await publisher.publishConfirmed(
                    MQTTMessage(topic: topic, payload: Array("kept".utf8), qos: 1, retain: true))
            }
            try await withClient(configuration(broker, "late")) { late in
                try await late.subscribe([topic])
                let message = try #require(try await late.receiveOne())
                #expect(message.payload == Array("kept".utf8))
                #expect(message.retain)
            }
        }
    }

    @Test func publishConfirmedReturnsForEveryMessage() async throws {
        try await withMosquitto { broker in
            try await withClient(configuration(broker, "publisher")) { publisher in
                try await withTimeout(.seconds(20), "sequential and concurrent confirmed publishes") {
                    for index in 0..<300 {
                        try await publisher.publishConfirmed(MQTTMessage(topic: "seq", payload: [UInt8(index % 256)]))
                    }
                    // QoS 0 completes once written.
                    try await publisher.publishConfirmed(MQTTMessage(topic: "seq", payload: [], qos: 0))
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for index in 0..<500 {
                            group.addTask {
                                try await publisher.publishConfirmed(MQTTMessage(topic: "par/\(index % 7)", payload: [1]))
                            }
                        }
                        try await group.waitForAll()
                    }
                }
            }
        }
    }

    @Test func waitsFailOnceTheClientIsStopped() async throws {
        try await withMosquitto { broker in
            let client = try MQTTClient(configuration: configuration(broker, "stopped"), logger: testLogger("mqtt"))
            try await withTimeout(.seconds(10)) { try await client.start() }
            #expect(client.isConnected)
            client.stop()
            #expect(!client.isConnected)
            await #expect(throws: MQTTError.self) {
                try await withTimeout(.seconds(10)) {
                    try await client.publishConfirmed(MQTTMessage(topic: "after", payload: [1], qos: 1))
                }
            }
            // The streams end.
            #expect(try await client.receive(1).isEmpty)
        }
    }

    @Test func v5ResponseTopicAndCorrelationDataSurviveTheTrip() async throws {
        let correlation: [UInt8] = [0, 1, 2, 0x7f, 0x80, 0xff, 0]
        try await withMosquitto { broker in
            try await withClient(configuration(broker, "responder")) { responder in
                try await responder.subscribe(["api/+"])
                try await withClient(configuration(broker, "requester")) { requester in
                    try await requester.subscribe(["reply/me"])
                    try await requester.publishConfirmed(MQTTMessage(
                        topic: "api/get", payload: Array("{}".utf8), responseTopic: "reply/me",
                        correlationData: correlation))
                    let request = try #require(try await responder.receiveOne())
                    #expect(request.topic == "api/get")
                    #expect(request.responseTopic == "reply/me")
                    #expect(request.correlationData == correlation)

                    let replyTopic = try #require(request.responseTopic)
                    try await responder.publishConfirmed(MQTTMessage(
                        topic: replyTopic, payload: Array("ok".utf8), correlationData: request.correlationData))
                    let reply = try #require(try await requester.receiveOne())
                    #expect(reply.topic == "reply/me")
                    #expect(reply.payload == Array("ok".utf8))
                    #expect(reply.correlationData == correlation)
                    #expect(reply.responseTopic == nil)
                }
            }
        }
    }

    @Test func v5UserPropertiesSurviveTheTripInOrder() async throws {
        let properties = [MQTTUserProperty(name: "origin", value: "test"), MQTTUserProperty(name: "origin", value: "again"),
                          MQTTUserProperty(name: "", value: ""), MQTTUserProperty(name: "ünï", value: String(repeating: "v", count: 4000))]
        try await withMosquitto { broker in
            try await withClient(configuration(broker, "marked")) { client in
                try await client.subscribe(["marked/+"])
                try await client.publishConfirmed(MQTTMessage(topic: "marked/one", payload: [1], userProperties: properties))
                try await client.publishConfirmed(MQTTMessage(topic: "marked/none", payload: [2]))
                let received = try await client.receive(2)
                #expect(received.map(\.topic) == ["marked/one", "marked/none"])
                #expect(received.first?.userProperties == properties)
                #expect(received.last?.userProperties == [])
            }
        }
    }

    @Test func theBrokerDropsWhatExceedsTheMaximumPacketSizeOfAClient() async throws {
        try await withMosquitto { broker in
            var limited = configuration(broker, "limited")
            limited.maximumPacketSize = 64 * 1024
            try await withClient(limited) { receiver in
                try await receiver.subscribe(["sized/+"])
                try await withClient(configuration(broker, "sender")) { sender in
                    try await sender.publishConfirmed(MQTTMessage(topic: "sized/big", payload: Array(repeating: 1, count: 65 * 1024)))
                    try await sender.publishConfirmed(MQTTMessage(topic: "sized/small", payload: Array(repeating: 2, count: 60 * 1024)))
                    #expect(try await receiver.receiveOne()?.topic == "sized/small")
                }
            }
        }
    }

    @Test func invalidTopicsAreRefused() async throws {
        try await withMosquitto { broker in
            try await withClient(configuration(broker, "client")) { client in
                #expect(throws: MQTTError.self) { try client.publish("a/+/b", [1]) }
                #expect(throws: MQTTError.self) { try client.publish("a/#", [1], qos: 0) }
                await #expect(throws: MQTTError.self) { try await client.subscribe(["a/#/b"]) }
            }
        }
    }

    @Test func aTenMebibytePayloadRoundTrips() async throws {
        let payload = Self.patterned(count: 10 << 20)
        try await withMosquitto { broker in
            try await withClient(configuration(broker, "big")) { client in
                try await client.subscribe(["big"])
                try await client.publishConfirmed(MQTTMessage(topic: "big", payload: payload))
                let message = try #require(try await client.receiveOne(within: .seconds(30)))
                #expect(message.payload.count == payload.count)
                // memcmp: an element-wise `==` over 10 MiB is slow in a debug build.
                let same = message.payload.withUnsafeBytes { received in
                    payload.withUnsafeBytes { sent in memcmp(received.baseAddress!, sent.baseAddress!, sent.count) == 0 }
                }
                #expect(same)
            }
        }
    }

    /// 64 KiB blocks of varied bytes, each stamped with its index so that a lost, repeated
    /// or reordered block shows.
    static func patterned(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let block = (0..<(64 << 10)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var payload = [UInt8](repeating: 0, count: count)
        payload.withUnsafeMutableBytes { bytes in
            for (index, offset) in stride(from: 0, to: count, by: block.count).enumerated() {
                let length = min(block.count, count - offset)
                block.withUnsafeBytes { source in
                    (bytes.baseAddress! + offset).copyMemory(from: source.baseAddress!, byteCount: length)
                }
                withUnsafeBytes(of: UInt32(index).bigEndian) { stamp in
                    (bytes.baseAddress! + offset).copyMemory(from: stamp.baseAddress!, byteCount: min(4, length))
                }
            }
        }
        return payload
    }

    // MARK: Will

    @Test
    func theWillIsPublishedWhenAClientAborts() async throws {
        try await withMosquitto { broker in
            let willTopic = uniqueName("will")
            try await withClient(configuration(broker, "watcher")) { watcher in
                try await watcher.subscribe([willTopic])
                var settings = configuration(broker, "doomed")
                settings.will = .init(topic: willTopic, payload: Array("gone".utf8))
                let doomed = try MQTTClient(configuration: settings, logger: testLogger("doomed"))
                try await withTimeout(.seconds(10)) { try await doomed.start() }
                doomed.abort()
                // `doomed` is still alive: abort() alone must end the connection.
                let will = try #require(try await watcher.receiveOne(within: .seconds(5)))
                #expect(will.topic == willTopic)
                #expect(will.payload == Array("gone".utf8))
                withExtendedLifetime(doomed) {}
            }
        }
    }

    @Test func theWillIsPublishedWhenAnAbortedClientIsGone() async throws {
        /// Connects, aborts and drops the client: what a crashed process looks like.
        func crash(_ settings: MQTTConfiguration) async throws {
            let doomed = try MQTTClient(configuration: settings, logger: testLogger("doomed"))
            try await withTimeout(.seconds(10)) { try await doomed.start() }
            doomed.abort()
        }

        try await withMosquitto { broker in
            let willTopic = uniqueName("will")
            try await withClient(configuration(broker, "watcher")) { watcher in
                try await watcher.subscribe([willTopic])
                var settings = configuration(broker, "doomed")
                settings.will = .init(topic: willTopic, payload: Array("gone".utf8), qos: 1)
                try await crash(settings)
                let will = try #require(try await watcher.receiveOne())
                #expect(will.topic == willTopic)
                #expect(will.payload == Array("gone".utf8))
            }
        }
    }

    @Test func theWillIsNotPublishedWhenAClientStops() async throws {
        try await withMosquitto { broker in
            let willTopic = uniqueName("will")
            try await withClient(configuration(broker, "watcher")) { watcher in
                try await watcher.subscribe([willTopic])
                var settings = configuration(broker, "polite")
                settings.will = .init(topic: willTopic, payload: Array("gone".utf8))
                try await withClient(settings) { _ in }
                // Had the Will been published, the broker would have sent it before this marker.
                try await withClient(configuration(broker, "marker")) { marker in
                    try await marker.publishConfirmed(MQTTMessage(topic: willTopic, payload: Array("marker".utf8)))
                }
                let first = try #require(try await watcher.receiveOne())
                #expect(String(decoding: first.payload, as: UTF8.self) == "marker")
            }
        }
    }

    // MARK: Sessions and reconnection

    @Test func aPersistentSessionReceivesWhatWasPublishedWhileAway() async throws {
        try await withMosquitto { broker in
            var settings = configuration(broker, "persistent")
            settings.cleanStart = false
            settings.sessionExpiry = 300
            try await withClient(settings) { away in
                try await away.subscribe(["queued/#"], qos: 1)
            }
            let payloads = (0..<20).map { Array("missed \($0)".utf8) }
            try await withClient(configuration(broker, "publisher")) { publisher in
                for payload in payloads {
                    try await publisher.publishConfirmed(MQTTMessage(topic: "queued/x", payload: payload, qos: 1))
                }
            }
            // A new client object with the same id: the session, not the process, kept them.
            try await withClient(settings) { back in
                let event = try await back.connectionEvent(where: \.isConnected)
                #expect(event == .connected(sessionPresent: true))
                let received = try await back.receive(payloads.count)
                #expect(received.map(\.payload) == payloads)
                #expect(received.allSatisfy { $0.topic == "queued/x" && $0.qos == 1 })
            }
        }
    }

    @Test func aCleanSessionStartsEmpty() async throws {
        try await withMosquitto { broker in
            var settings = configuration(broker, "clean")
            settings.cleanStart = false
            settings.sessionExpiry = 300
            try await withClient(settings) { client in
                let event = try await client.connectionEvent(where: \.isConnected)
                #expect(event == .connected(sessionPresent: false))
                try await client.subscribe(["x"])
            }
            settings.cleanStart = true
            try await withClient(settings) { client in
                let event = try await client.connectionEvent(where: \.isConnected)
                #expect(event == .connected(sessionPresent: false))
            }
        }
    }

    @Test func startKeepsRetryingUntilABrokerListens() async throws {
        try await withMosquitto { broker in
            await broker.stop()
            let retrying = Signal()
            let client = try MQTTClient(
                configuration: configuration(broker, "early"), logger: .signalling("Broker not reachable", retrying))
            let start = Task {
                try await withTimeout(.seconds(20), "start against a late broker") { try await client.start() }
            }
            do {
                try await withTimeout(.seconds(10), "the first failed attempt") { await retrying.wait() }
                #expect(!client.isConnected)
                try await withRestarted(broker) { _ in
                    try await start.value
                    #expect(client.isConnected)
                    try await client.subscribe(["late"])
                    try await client.publishConfirmed(MQTTMessage(topic: "late", payload: [7]))
                    #expect(try await client.receiveOne()?.payload == [7])
                }
                client.stop()
            } catch {
                start.cancel()
                _ = await start.result
                client.stop()
                throw error
            }
        }
    }

    @Test func startIsCancellableWhileNoBrokerListens() async throws {
        let retrying = Signal()
        let client = try MQTTClient(
            configuration: MQTTConfiguration(port: try LocalPort.free(), clientID: uniqueName("nobody")),
            logger: .signalling("Broker not reachable", retrying))
        defer { client.stop() }
        let start = Task { try await client.start() }
        try await withTimeout(.seconds(10), "the first failed attempt") { await retrying.wait() }
        start.cancel()
        await #expect(throws: CancellationError.self) {
            try await withTimeout(.seconds(5), "start to notice cancellation") { try await start.value }
        }
        #expect(!client.isConnected)
    }

    @Test func theClientReconnectsAndSubscribesAgainAfterTheBrokerRestarts() async throws {
        try await withMosquitto { broker in
            var settings = configuration(broker, "survivor")
            settings.reconnectDelay = (1, 1)
            try await withClient(settings) { client in
                try await client.subscribe(["again/#"])
                await broker.stop()
                let lost = try await client.connectionEvent { !$0.isConnected }
                #expect(lost != nil)
                try await withRestarted(broker) { restarted in
                    let event = try await client.connectionEvent(where: \.isConnected)
                    #expect(event == .connected(sessionPresent: false))
                    // Retained, so it reaches the client whether its SUBSCRIBE lands before or after.
                    try await withClient(configuration(restarted, "publisher")) { publisher in
                        try await publisher.publishConfirmed(MQTTMessage(topic: "again/x", payload: [1], retain: true))
                    }
                    let message = try #require(try await client.receiveOne())
                    #expect(message.topic == "again/x")
                }
            }
        }
    }

    @Test
    func aRefusedSubscriptionDoesNotSpoilResubscribingTheOthers() async throws {
        try await withMosquitto { broker in
            var settings = configuration(broker, "survivor")
            settings.reconnectDelay = (1, 1)
            try await withClient(settings) { client in
                try await client.subscribe(["again/#"])
                await #expect(throws: MQTTError.self) { try await client.subscribe(["bad/#/filter"]) }
                await broker.stop()
                let lost = try await client.connectionEvent { !$0.isConnected }
                #expect(lost != nil)
                try await withRestarted(broker) { restarted in
                    let event = try await client.connectionEvent(where: \.isConnected)
                    #expect(event != nil)
                    try await withClient(configuration(restarted, "publisher")) { publisher in
                        try await publisher.publishConfirmed(MQTTMessage(topic: "again/x", payload: [1], retain: true))
                    }
                    #expect(try await client.receiveOne(within: .seconds(5))?.topic == "again/x")
                }
            }
        }
    }
}
