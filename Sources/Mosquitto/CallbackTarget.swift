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
    /// `host:port`, for errors.
    private let broker: String
    /// Whether libmosquitto's own thread reconnects this client (BurstLoop reconnects by itself).
    private let libmosquittoReconnects: Bool
    private let state = Mutex(State())
    // Set once in MQTTClient.init before any callback can run.
    nonisolated(unsafe) var handle: MosquittoHandle?

    private struct State {
        var connected = false
        /// Until the first CONNACK accepts us, a refusal ends `start()` instead of being retried.
        var everConnected = false
        var refusal: MQTTConnectError?
        var finished = false
        var subscriptions: [String: Int32] = [:]
        var nextWaiter = 0
        var connectWaiters: [Int: CheckedContinuation<Void, any Error>] = [:]
    }

    init(deliver: @escaping @Sendable (MQTTMessage) -> Void, messageSink: AsyncStream<MQTTMessage>.Continuation,
         eventSink: AsyncStream<MQTTConnectionEvent>.Continuation, broker: String, libmosquittoReconnects: Bool,
         logger: Logger) {
        self.deliver = deliver
        self.messageSink = messageSink
        self.eventSink = eventSink
        self.broker = broker
        self.libmosquittoReconnects = libmosquittoReconnects
        self.logger = logger
    }

    static func from(_ userdata: UnsafeMutableRawPointer?) -> CallbackTarget {
        Unmanaged<CallbackTarget>.fromOpaque(userdata!).takeUnretainedValue()
    }

    var isConnected: Bool { state.withLock { $0.connected } }

    func didConnect(rc: Int32, flags: Int32) {
        guard rc == 0 else {
            didRefuse(rc)
            return
        }
        let (waiters, filters) = state.withLock { state in
            state.connected = true
            state.everConnected = true
            defer { state.connectWaiters = [:] }
            return (Array(state.connectWaiters.values), state.subscriptions)
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

    /// Credentials, a banned client id: retrying cannot help, so a refusal of the first
    /// connect ends `start()` with it and libmosquitto is told to stop retrying. A refusal on a
    /// later reconnect is logged and reported as a disconnect with the refusal's reason code.
    private func didRefuse(_ rc: Int32) {
        let refusal = MQTTConnectError.refused(rc, broker: broker)
        let waiters: [CheckedContinuation<Void, any Error>]? = state.withLock { state in
            guard !state.everConnected else { return nil }
            state.refusal = refusal
            defer { state.connectWaiters = [:] }
            return Array(state.connectWaiters.values)
        }
        guard let waiters else {
            logger.error("The broker refused to reconnect this client", metadata: ["error": "\(refusal)"])
            eventSink.yield(.disconnected(reason: rc))
            return
        }
        // Sets the "disconnecting" state, so libmosquitto's loop does not connect again.
        if let handle { mosquitto_disconnect_v5(handle.pointer, 0, nil) }
        waiters.forEach { $0.resume(throwing: refusal) }
    }

    func didDisconnect(rc: Int32) {
        state.withLock { $0.connected = false }
        if rc == MQTTDisconnectReason.sessionTakenOver {
            // Two clients with one client id take the session from each other at every
            // reconnect; the one that lost it stops, and its owner decides what to do.
            logger.error("Another client connected with this client id and took the session over; not reconnecting")
            if libmosquittoReconnects, let handle { mosquitto_disconnect_v5(handle.pointer, 0, nil) }
        }
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

    /// Stops re-subscribing to `filters` after a reconnect, and unsubscribes now.
    func forgetAndUnsubscribe(_ filters: [String]) throws(MQTTError) {
        state.withLock { state in
            for filter in filters { state.subscriptions[filter] = nil }
        }
        guard let handle else { throw MQTTError.notConnected }
        try Subscription.cancel(filters, on: handle.pointer)
    }

    func sendSubscribe(_ filters: [String], qos: Int32) throws(MQTTError) -> Int32 {
        guard let handle else { throw MQTTError.notConnected }
        return try Subscription.send(filters, qos: qos, on: handle.pointer)
    }

    /// Forgets the refusal of a previous `start()`, before trying again.
    func prepareToConnect() {
        state.withLock { $0.refusal = nil }
    }

    /// Returns at the first CONNACK that accepts us; throws the refusal if one refuses us
    /// first, `CancellationError` if the task is cancelled.
    func waitUntilConnected() async throws {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let immediate: Result<Void, any Error>? = state.withLock { state in
                    if state.connected { return .success(()) }
                    if let refusal = state.refusal { return .failure(refusal) }
                    if state.finished { return .failure(MQTTError.shutDown) }
                    // The cancellation handler may have run before this waiter existed.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.connectWaiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.connectWaiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }

    func finish() {
        let waiters = state.withLock { state in
            state.finished = true
            state.connected = false
            defer { state.connectWaiters = [:] }
            return Array(state.connectWaiters.values)
        }
        waiters.forEach { $0.resume(throwing: MQTTError.shutDown) }
        publishes.failAll()
        subscriptions.failAll()
        messageSink.finish()
        eventSink.finish()
    }
}
