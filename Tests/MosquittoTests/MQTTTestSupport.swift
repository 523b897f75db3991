import BrokerLauncher
import Foundation
import Logging
import Mosquitto
import ShoalTestSupport
import Synchronization

/// A configuration for `broker` with a client id unique to this run.
func configuration(_ broker: MosquittoBroker, _ name: String) -> MQTTConfiguration {
    MQTTConfiguration(host: broker.address.host, port: broker.address.port, clientID: uniqueName(name))
}

func uniqueName(_ name: String) -> String {
    "\(name)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// Starts a client, runs `body`, and stops the client on every exit path.
func withClient<Result>(
    _ configuration: MQTTConfiguration, logger: Logger = testLogger("mqtt"),
    _ body: (MQTTClient) async throws -> Result
) async throws -> Result {
    let client = try MQTTClient(configuration: configuration, logger: logger)
    do {
        try await withTimeout(.seconds(10), "connecting \(configuration.clientID)") { try await client.start() }
        let result = try await body(client)
        client.stop()
        return result
    } catch {
        client.stop()
        throw error
    }
}

/// Starts `broker` again on its port and directory, runs `body`, and stops it on every exit path.
func withRestarted<Result>(
    _ broker: MosquittoBroker, _ body: (MosquittoBroker) async throws -> Result
) async throws -> Result {
    let restarted = try await restart(broker)
    do {
        let result = try await body(restarted)
        await restarted.stop()
        return result
    } catch {
        await restarted.stop()
        throw error
    }
}

extension MQTTClient {
    /// The next `count` messages (fewer only if the stream ended), or a `TimeoutError`.
    func receive(_ count: Int, within limit: Duration = .seconds(10)) async throws -> [MQTTMessage] {
        try await receiveMessages(count, from: messages, within: limit, "on \(configuration.clientID)")
    }

    func receiveOne(within limit: Duration = .seconds(10)) async throws -> MQTTMessage? {
        try await receive(1, within: limit).first
    }

    /// Skips connection events until one satisfies `predicate`.
    func connectionEvent(
        within limit: Duration = .seconds(10), where predicate: @escaping @Sendable (MQTTConnectionEvent) -> Bool
    ) async throws -> MQTTConnectionEvent? {
        try await withTimeout(limit, "a connection event on \(configuration.clientID)") { [connectionEvents] in
            for await event in connectionEvents where predicate(event) {
                return event
            }
            return nil
        }
    }
}

/// The next `count` messages of `stream` (fewer only if it ended), or a `TimeoutError`.
func receiveMessages(
    _ count: Int, from stream: AsyncStream<MQTTMessage>, within limit: Duration, _ where: String
) async throws -> [MQTTMessage] {
    try await withTimeout(limit, "receiving \(count) message(s) \(`where`)") {
        var received: [MQTTMessage] = []
        for await message in stream {
            received.append(message)
            if received.count == count { break }
        }
        return received
    }
}

extension MQTTConnectionEvent {
    var isConnected: Bool {
        if case .connected = self { return true }
        return false
    }
}

/// A log handler that fires `signal` when a message containing `text` is logged: lets a
/// test await something the code under test only reports through its log.
struct SignallingLogHandler: LogHandler {
    let text: String
    let signal: Signal
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    func log(event: LogEvent) {
        if event.message.description.contains(text) { signal.fire() }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
}

extension Logger {
    static func signalling(_ text: String, _ signal: Signal) -> Logger {
        Logger(label: "test") { _ in SignallingLogHandler(text: text, signal: signal) }
    }
}
