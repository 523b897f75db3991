import CMosquitto
import Glibc
import Logging
import Synchronization

/// What libmosquitto's callbacks reach through `userdata`. Callbacks run on the network
/// thread: they copy data, update state under the mutex and return quickly.
final class CallbackTarget: Sendable {
    let publishes = AcknowledgementWaiters()
    let subscriptions = AcknowledgementWaiters()
    private let deliver: @Sendable (MQTTMessage) -> Void
    private let messageSink: AsyncStream<MQTTMessage>.Continuation
    private let eventSink: AsyncStream<MQTTConnectionEvent>.Continuation
    private let logger: Logger
    private let state = Mutex(State())
    // Set once in MQTTClient.init before any callback can run.
    nonisolated(unsafe) var handle: MosquittoHandle?

    private struct State {
        var connected = false
        var finished = false
        var subscriptions: [String: Int32] = [:]
        var connectWaiters: [CheckedContinuation<Void, any Error>] = []
    }

    init(deliver: @escaping @Sendable (MQTTMessage) -> Void, messageSink: AsyncStream<MQTTMessage>.Continuation,
         eventSink: AsyncStream<MQTTConnectionEvent>.Continuation, logger: Logger) {
        self.deliver = deliver
        self.messageSink = messageSink
        self.eventSink = eventSink
        self.logger = logger
    }

    static func from(_ userdata: UnsafeMutableRawPointer?) -> CallbackTarget {
        Unmanaged<CallbackTarget>.fromOpaque(userdata!).takeUnretainedValue()
    }

    var isConnected: Bool { state.withLock { $0.connected } }

    func didConnect(rc: Int32, flags: Int32) {
        guard rc == 0 else {
            logger.warning("Broker refused the connection", metadata: ["mqtt.reason": "\(rc)"])
            return
        }
        let (waiters, filters) = state.withLock { state in
            state.connected = true
            defer { state.connectWaiters = [] }
            return (state.connectWaiters, state.subscriptions)
        }
        // Subscribing again is harmless when the session survived and necessary when it did not.
        for (qos, group) in Dictionary(grouping: filters, by: \.value) {
            do {
                _ = try sendSubscribe(group.map(\.key), qos: qos)
            } catch {
                logger.error("Cannot subscribe again after reconnecting", metadata: ["error": "\(error)"])
            }
        }
        eventSink.yield(.connected(sessionPresent: flags & 1 == 1))
        waiters.forEach { $0.resume() }
    }

    func didDisconnect(rc: Int32) {
        state.withLock { $0.connected = false }
        eventSink.yield(.disconnected(reason: rc))
        if rc != 0 {
            logger.debug("Connection lost, libmosquitto will reconnect", metadata: ["mqtt.rc": "\(rc)"])
        }
    }

    func didReceive(_ message: mosquitto_message, properties: OpaquePointer?) {
        deliver(MQTTMessage(copying: message, properties: properties))
    }

    func remember(_ filters: [String], qos: Int32) {
        state.withLock { state in
            for filter in filters { state.subscriptions[filter] = qos }
        }
    }

    func sendSubscribe(_ filters: [String], qos: Int32) throws(MQTTError) -> Int32 {
        guard let handle else { throw MQTTError.notConnected }
        return try Subscription.send(filters, qos: qos, on: handle.pointer)
    }

    func waitUntilConnected() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let immediate: Result<Void, any Error>? = state.withLock { state in
                if state.connected { return .success(()) }
                if state.finished { return .failure(MQTTError.shutDown) }
                state.connectWaiters.append(continuation)
                return nil
            }
            if let immediate { continuation.resume(with: immediate) }
        }
    }

    func finish() {
        let waiters = state.withLock { state in
            state.finished = true
            state.connected = false
            defer { state.connectWaiters = [] }
            return state.connectWaiters
        }
        waiters.forEach { $0.resume(throwing: MQTTError.shutDown) }
        publishes.failAll()
        subscriptions.failAll()
        messageSink.finish()
        eventSink.finish()
    }
}
