@testable import MQTTSwarm
import BrokerLauncher
import Foundation
import Glibc
@testable import Mosquitto
import ShoalTestSupport
import Testing

@Suite("MQTT swarm against a real mosquitto")
struct MQTTSwarmTests {
    @Test("200 clients connect, each receives a shared message and replies, and all leave cleanly")
    func manyClientsRoundTrip() async throws {
        let count = 200
        let prefix = uniqueName("swarm")
        try await withMosquitto { broker in
            try await withClient(configuration(broker, "watcher")) { watcher in
                try await watcher.subscribe(["\(prefix)/reply/+", "\(prefix)/hello/+", "\(prefix)/will/+"], qos: 1)
                let (events, sink) = AsyncStream.makeStream(of: ProbeEvent.self)
                let swarm = try MQTTSwarm(configuration: swarmConfiguration(broker, capacity: count), logger: testLogger("swarm"))
                try swarm.start()
                do {
                    try await swarm.perform { loop in
                        for index in 0..<count {
                            try loop.addClient(probeOptions(prefix, index), handler: Probe(prefix: prefix, events: sink))
                        }
                    }
                    // Every client is connected and subscribed (SUBACK) before anything is published.
                    let ready = try await collect(events, count, "SUBACKs") { event in
                        if case .subscribed(let index) = event { return index }
                        return nil
                    }
                    #expect(ready == Set(0..<count))
                    #expect(swarm.connectedCount == count)

                    // A message on the shared topic reaches every client, whose handler replies
                    // from the loop thread (inside the message callback).
                    try watcher.publish("\(prefix)/all", Array("ping".utf8), qos: 1)
                    let replies = try await watcher.receive(count, within: .seconds(20))
                    #expect(Set(replies.map(\.topic)) == Set((0..<count).map { "\(prefix)/reply/\($0)" }))
                    #expect(replies.allSatisfy { $0.payload == Array("pong".utf8) })

                    // Publishing from another thread goes through the command queue.
                    for index in 0..<count {
                        swarm.publish(client: index, MQTTMessage(topic: "\(prefix)/hello/\(index)", payload: [UInt8(index % 256)]))
                    }
                    let hellos = try await watcher.receive(count, within: .seconds(20))
                    #expect(Set(hellos.map(\.topic)) == Set((0..<count).map { "\(prefix)/hello/\($0)" }))
                } catch {
                    await swarm.shutdown()
                    throw error
                }
                await swarm.shutdown()
                #expect(swarm.connectedCount == 0)
                await #expect(throws: MQTTSwarmError.self, "a stopped swarm runs nothing") {
                    try await swarm.perform { _ in true }
                }

                // Every client sent DISCONNECT, so the broker publishes none of the Wills. The
                // closed sockets reached the broker before this marker did, so a Will would be
                // delivered ahead of it.
                try watcher.publish("\(prefix)/will/marker", Array("end".utf8), qos: 1)
                let afterShutdown = try await watcher.receive(1)
                #expect(afterShutdown.map(\.topic) == ["\(prefix)/will/marker"])
            }
        }
    }

    /// TLS through the epoll loop: libmosquitto runs each handshake inside the loop's reads
    /// and writes. Against the secure profile (TLS, passwords, ACL), as the dispatcher's user.
    @Test func clientsConnectOverTLSWithCredentials() async throws {
        let count = 20
        var made: SecureBrokerProfile?
        try await withMosquitto(configure: { directory in
            let profile = try await SecureBrokerProfile.create(in: directory + "/secure")
            made = profile
            return profile.brokerLines
        }) { broker in
            let profile = try #require(made)
            let user = SecureBrokerProfile.dispatcherUser
            let password = try String(contentsOfFile: profile.secretFile(for: user), encoding: .utf8).trimmingCharacters(in: .newlines)
            let tls = MQTTTLS(caFile: profile.caFile)
            let prefix = "shoal/v1/" + uniqueName("swarm-tls")
            var watcherConfiguration = configuration(broker, "tls-watcher")
            watcherConfiguration.username = user
            watcherConfiguration.password = password
            watcherConfiguration.tls = tls
            try await withClient(watcherConfiguration) { watcher in
                try await watcher.subscribe(["\(prefix)/reply/+"], qos: 1)
                let (events, sink) = AsyncStream.makeStream(of: ProbeEvent.self)
                var swarmSettings = swarmConfiguration(broker, capacity: count)
                swarmSettings.tls = tls
                let swarm = try MQTTSwarm(configuration: swarmSettings, logger: testLogger("swarm-tls"))
                try swarm.start()
                do {
                    try await swarm.perform { loop in
                        for index in 0..<count {
                            var options = probeOptions(prefix, index)
                            options.username = user
                            options.password = password
                            try loop.addClient(options, handler: Probe(prefix: prefix, events: sink))
                        }
                    }
                    let ready = try await collect(events, count, "SUBACKs over TLS") { event in
                        if case .subscribed(let index) = event { return index }
                        return nil
                    }
                    #expect(ready == Set(0..<count))
                    try watcher.publish("\(prefix)/all", Array("ping".utf8), qos: 1)
                    let replies = try await watcher.receive(count, within: .seconds(20))
                    #expect(Set(replies.map(\.topic)) == Set((0..<count).map { "\(prefix)/reply/\($0)" }))
                } catch {
                    await swarm.shutdown()
                    throw error
                }
                await swarm.shutdown()
            }
        }
    }

    @Test func clientsReconnectAfterTheBrokerRestarts() async throws {
        let count = 50
        let prefix = uniqueName("swarm")
        try await withMosquitto { broker in
            let (events, sink) = AsyncStream.makeStream(of: ProbeEvent.self)
            var configuration = swarmConfiguration(broker, capacity: count)
            configuration.reconnectDelay = .milliseconds(20) ... .milliseconds(200)
            let swarm = try MQTTSwarm(configuration: configuration, logger: testLogger("swarm"))
            try swarm.start()
            do {
                try await swarm.perform { loop in
                    for index in 0..<count {
                        try loop.addClient(probeOptions(prefix, index), handler: Probe(prefix: prefix, events: sink))
                    }
                }
                let first = try await collect(events, count, "first connects") { event in
                    if case .connected(let index) = event { return index }
                    return nil
                }
                #expect(first == Set(0..<count))
                await broker.stop()
                let lost = try await collect(events, count, "disconnects") { event in
                    if case .disconnected(let index) = event { return index }
                    return nil
                }
                #expect(lost == Set(0..<count))
                #expect(swarm.connectedCount == 0)
                try await withRestarted(broker) { _ in
                    let again = try await collect(events, count, "reconnects") { event in
                        if case .connected(let index) = event { return index }
                        return nil
                    }
                    #expect(again == Set(0..<count))
                    #expect(swarm.connectedCount == count)
                    await swarm.shutdown()
                }
            } catch {
                await swarm.shutdown()
                throw error
            }
        }
    }

    @Test func timersRunInDeadlineOrderAndCancelledOnesDoNot() async throws {
        let swarm = try MQTTSwarm(configuration: .init(capacity: 1), logger: testLogger("swarm"))
        try swarm.start()
        let (fired, sink) = AsyncStream.makeStream(of: Int.self)
        try await swarm.perform { loop in
            loop.schedule(after: .milliseconds(30)) { _ in sink.yield(30) }
            let cancelled = loop.schedule(after: .milliseconds(5)) { _ in sink.yield(5) }
            loop.schedule(after: .milliseconds(10)) { _ in sink.yield(10) }
            loop.schedule(after: .milliseconds(20)) { loop in
                sink.yield(20)
                loop.schedule(after: .zero) { _ in sink.yield(21) }
            }
            loop.cancel(cancelled)
        }
        let order = try await withTimeout(.seconds(10), "timers") {
            var order: [Int] = []
            for await value in fired {
                order.append(value)
                if order.count == 4 { break }
            }
            return order
        }
        #expect(order == [10, 20, 21, 30])
        await swarm.shutdown()
    }

    @Test("libmosquitto's wake-up socketpair is found, verified and drained")
    func drainsTheWakeUpSocketpair() async throws {
        let prefix = uniqueName("swarm")
        try await withMosquitto { broker in
            let (events, sink) = AsyncStream.makeStream(of: ProbeEvent.self)
            let swarm = try MQTTSwarm(configuration: swarmConfiguration(broker, capacity: 1), logger: testLogger("swarm"))
            try swarm.start()
            do {
                try await swarm.perform { loop in
                    _ = try loop.addClient(probeOptions(prefix, 0), handler: Probe(prefix: prefix, events: sink))
                }
                _ = try await collect(events, 1, "connect") { event in
                    if case .connected(let index) = event { return index }
                    return nil
                }
                // One closure on the loop thread, so no sweep can drain in between.
                let (found, queued, left) = try await swarm.perform { loop in
                    let client = loop.clients[0]
                    guard let reader = client.wakeReader else { return (false, 0, 0) }
                    WakePair.drain(reader, buffer: loop.drainBuffer)
                    for index in 0..<100 { _ = try? client.publish("\(prefix)/noise", [UInt8(index)], qos: 0) }
                    let queued = waitingBytes(reader)
                    WakePair.drain(reader, buffer: loop.drainBuffer)
                    return (true, queued, waitingBytes(reader))
                }
                #expect(found, "the pair was not verified on this libmosquitto")
                #expect(queued >= 100, "libmosquitto writes a byte per queued packet")
                #expect(left == 0)
            } catch {
                await swarm.shutdown()
                throw error
            }
            await swarm.shutdown()
        }
    }

    @Test func refusesMoreClientsThanTheOpenFilesLimitAllows() throws {
        let maximum = MQTTSwarm.maximumClients()
        #expect(maximum > 0)
        let error = #expect(throws: MQTTSwarmError.self) {
            _ = try MQTTSwarm(configuration: .init(capacity: maximum + 1), logger: testLogger("swarm"))
        }
        #expect(error?.description.contains("run at most \(maximum) clients per process") == true)
    }
}

/// Bytes waiting in a socket, without taking them.
private func waitingBytes(_ fd: Int32) -> Int {
    var buffer = [UInt8](repeating: 0, count: 65_536)
    return max(0, recv(fd, &buffer, buffer.count, Int32(MSG_PEEK | MSG_DONTWAIT)))
}

private func swarmConfiguration(_ broker: MosquittoBroker, capacity: Int) -> MQTTSwarm.Configuration {
    MQTTSwarm.Configuration(host: broker.address.host, port: broker.address.port, capacity: capacity)
}

private func probeOptions(_ prefix: String, _ index: Int) -> MQTTSwarm.ClientOptions {
    MQTTSwarm.ClientOptions(
        clientID: "\(prefix)-\(index)", keepAlive: 10,
        will: .init(topic: "\(prefix)/will/\(index)", payload: Array("gone".utf8)))
}

/// Waits for `count` distinct values that `pick` extracts from the stream's events.
private func collect(
    _ events: AsyncStream<ProbeEvent>, _ count: Int, _ what: String, _ pick: @escaping @Sendable (ProbeEvent) -> Int?
) async throws -> Set<Int> {
    try await withTimeout(.seconds(30), what) {
        var seen = Set<Int>()
        for await event in events {
            if let index = pick(event) { seen.insert(index) }
            if seen.count == count { break }
        }
        return seen
    }
}

private enum ProbeEvent: Sendable {
    case connected(Int)
    case subscribed(Int)
    case disconnected(Int)
}

/// A swarm client's handler for the tests: subscribes on connect, answers the shared
/// topic, reports what happens. Lives on the loop thread.
private final class Probe: MQTTSwarmHandler {
    let prefix: String
    let events: AsyncStream<ProbeEvent>.Continuation
    var subscription: Int32 = -1

    init(prefix: String, events: AsyncStream<ProbeEvent>.Continuation) {
        self.prefix = prefix
        self.events = events
    }

    func swarmClientDidConnect(_ client: SwarmClient, sessionPresent: Bool) {
        events.yield(.connected(client.index))
        subscription = (try? client.subscribe(["\(prefix)/all"], qos: 1)) ?? -1
    }

    func swarmClientDidDisconnect(_ client: SwarmClient, reason: Int32) {
        events.yield(.disconnected(client.index))
    }

    func swarmClient(_ client: SwarmClient, didSubscribe messageID: Int32) {
        if messageID == subscription { events.yield(.subscribed(client.index)) }
    }

    func swarmClient(_ client: SwarmClient, didReceive message: MQTTMessage) {
        guard message.topic == "\(prefix)/all" else { return }
        _ = try? client.publish("\(prefix)/reply/\(client.index)", Array("pong".utf8), qos: 1)
    }
}
