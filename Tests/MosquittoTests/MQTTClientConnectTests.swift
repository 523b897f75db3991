import BrokerLauncher
import Foundation
import CMosquitto
import Glibc
import Mosquitto
import ShoalTestSupport
import Spawn
import Testing

/// How `start()` ends when the broker will not have us: refused, unreachable, silent,
/// cancelled; and what a client does when another one takes its session.
@Suite("MQTT client: failing to connect")
struct MQTTClientConnectTests {
    @Test func badCredentialsEndStartWithTheRefusal() async throws {
        try await withPasswordProtectedMosquitto { broker in
            var settings = configuration(broker, "intruder")
            settings.username = "shoal"
            settings.password = "wrong"
            let client = try MQTTClient(configuration: settings, logger: testLogger("mqtt"))
            defer { client.stop() }
            // No connectTimeout: only the refusal can end this within the guard.
            let error = try await withTimeout(.seconds(10), "start() against a refusing broker") {
                do {
                    try await client.start()
                    return nil as MQTTConnectError?
                } catch let error as MQTTConnectError {
                    return error
                }
            }
            let refusal = try #require(error)
            #expect(refusal.kind == .refused(reasonCode: 0x87))
            #expect(refusal.description.contains("refused the connection: not authorized"))
            #expect(!client.isConnected)
        }
    }

    @Test func goodCredentialsConnect() async throws {
        try await withPasswordProtectedMosquitto { broker in
            var settings = configuration(broker, "member")
            settings.username = "shoal"
            settings.password = "secret"
            try await withClient(settings) { client in
                try await client.subscribe(["auth/ok"])
                try await client.publishConfirmed(MQTTMessage(topic: "auth/ok", payload: [1]))
                #expect(try await client.receiveOne()?.payload == [1])
            }
        }
    }

    @Test func aPortNobodyListensOnEndsStartWithinTheTimeout() async throws {
        let port = try LocalPort.free()
        var settings = MQTTConfiguration(port: port, clientID: uniqueName("lonely"))
        settings.connectTimeout = .seconds(1)
        let client = try MQTTClient(configuration: settings, logger: testLogger("mqtt"))
        defer { client.stop() }
        let error = try await withTimeout(.seconds(10), "start() against a closed port") {
            do {
                try await client.start()
                return nil as MQTTConnectError?
            } catch let error as MQTTConnectError {
                return error
            }
        }
        let unreachable = try #require(error)
        #expect(unreachable.kind == .unreachable)
        // The reason is the last attempt's, unless the deadline came while the first was running
        // (a loaded machine).
        #expect(unreachable.description.contains("could not be reached: "))
    }

    @Test func aBrokerThatNeverAnswersEndsStartWithinTheTimeout() async throws {
        try await withSilentListener { port in
            var settings = MQTTConfiguration(port: port, clientID: uniqueName("ignored"))
            // Long enough for the TCP connection itself on a loaded machine: then only the
            // missing CONNACK is left to time out.
            settings.connectTimeout = .seconds(3)
            let client = try MQTTClient(configuration: settings, logger: testLogger("mqtt"))
            defer { client.stop() }
            let error = try await withTimeout(.seconds(15), "start() against a silent listener") {
                do {
                    try await client.start()
                    return nil as MQTTConnectError?
                } catch let error as MQTTConnectError {
                    return error
                }
            }
            #expect(try #require(error).kind == .noAnswer)
        }
    }

    @Test("start() ends at cancellation", arguments: ["closed port", "silent listener"])
    func startHonoursCancellation(target: String) async throws {
        let cancelled: (Int32) async throws -> Void = { port in
            // No connectTimeout: it would go on for ever.
            let client = try MQTTClient(configuration: MQTTConfiguration(port: port, clientID: uniqueName("patient")),
                                        logger: testLogger("mqtt"))
            defer { client.stop() }
            let attempt = Task { try await client.start() }
            // Cancelled while it tries: it must notice, whatever step it is in.
            attempt.cancel()
            let result = try await withTimeout(.seconds(5), "start() to end after cancellation") { await attempt.result }
            #expect(throws: CancellationError.self) { try result.get() }
        }
        if target == "closed port" {
            try await cancelled(try LocalPort.free())
        } else {
            try await withSilentListener { port in try await cancelled(port) }
        }
    }

    /// What the client whose session is taken over gets. MQTT v5 says DISCONNECT 0x8E, and
    /// the client then stops reconnecting; mosquitto 2.0.11 queues that DISCONNECT but closes
    /// the socket before writing it, so libmosquitto reports a lost connection (7). The agent
    /// therefore finds a twin by itself (`Agent`'s twin watch, tested in ShoalAgentTests).
    @Test func aTakenOverSessionEndsTheOlderConnection() async throws {
        try await withMosquitto { broker in
            var settings = configuration(broker, "twin")
            settings.cleanStart = false
            settings.sessionExpiry = 60
            try await withClient(settings) { first in
                try await withClient(settings) { _ in
                    let kicked = try await first.connectionEvent { !$0.isConnected }
                    let lost = Int32(MOSQ_ERR_CONN_LOST.rawValue)
                    #expect([.disconnected(reason: lost), .disconnected(reason: MQTTDisconnectReason.sessionTakenOver)]
                        .contains(kicked))
                }
            }
        }
    }
}

/// A mosquitto that only lets `shoal`/`secret` in.
private func withPasswordProtectedMosquitto(_ body: (MosquittoBroker) async throws -> Void) async throws {
    try await withMosquitto(configure: { directory in
        let path = directory + "/passwd"
        let termination = try await ChildProcess.spawn(
            .init(arguments: ["mosquitto_passwd", "-b", "-c", path, "shoal", "secret"]), onOutput: { _, _ in }).wait()
        try #require(termination.exitCode == 0)
        // Read by mosquitto after it drops to its own user.
        chmod(path, 0o644)
        return ["allow_anonymous false", "password_file \(path)"]
    }, body)
}

/// A TCP socket that listens (so connects succeed through the kernel's backlog) but is never
/// accepted or read: a broker that hangs.
private func withSilentListener(_ body: (Int32) async throws -> Void) async throws {
    let (fd, port) = try LocalPort.bound(listening: true)
    defer { close(fd) }
    try await body(port)
}
