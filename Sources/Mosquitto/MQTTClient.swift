import CMosquitto
import Glibc
import Logging
import ServiceLifecycle
import Synchronization

/// An MQTT v5 client over libmosquitto's threaded API. Knows nothing of Shoal.
///
/// Threading: every public method is thread-safe. libmosquitto runs its network loop on a
/// thread of its own (`mosquitto_loop_start`); the C callbacks run there, only copy what
/// they are given and hand it to Swift through `messages`, `connectionEvents` and the
/// acknowledgement waiters, all guarded by one `Mutex`.
///
/// Lifecycle: `start()` connects (retrying with backoff until the broker answers) and
/// starts the loop; from then on libmosquitto reconnects by itself and the client
/// re-subscribes after every connect. `stop()` disconnects cleanly and ends the streams.
/// As a `Service`, `run()` does both around the graceful-shutdown signal.
public final class MQTTClient: Service, Sendable {
    public let configuration: MQTTConfiguration
    /// Every message received on a subscription, in arrival order. One consumer.
    public let messages: AsyncStream<MQTTMessage>
    /// Connects and disconnects, in order. One consumer; may be ignored.
    public let connectionEvents: AsyncStream<MQTTConnectionEvent>

    let callbacks: CallbackTarget
    let handle: MosquittoHandle
    /// The network thread for `.batches` delivery; nil: libmosquitto's own.
    let burstLoop: BurstLoop?
    let logger: Logger
    let lifecycle = Mutex(Lifecycle())

    /// How received messages reach their consumer.
    public enum MessageDelivery: Sendable {
        /// Through `messages`, for one consumer task.
        case stream
        /// A call on libmosquitto's network thread for each message, in arrival order, with
        /// `messages` left empty. For consumers that queue messages in batches of their own:
        /// it spares a task switch per message. The call must return quickly: while it
        /// runs, the connection is neither read nor written.
        case handler(@Sendable (MQTTMessage) -> Void)
        /// A call on the network thread for each burst of messages, in arrival order, with
        /// `messages` left empty: everything that had arrived by the time the thread
        /// caught up, read without a wait per message (see `BurstLoop`). After a thin
        /// burst the thread pauses for `gather` (at most 1 s; zero: never), trading that
        /// much latency for bigger bursts. For a subscriber that takes in a fleet's reports;
        /// the same rules as `handler` apply, and the call must not stop the client (`stop`
        /// waits for that very thread).
        case batches(gather: Duration = .zero, @Sendable ([MQTTMessage]) -> Void)
    }

    public init(configuration: MQTTConfiguration, delivery: MessageDelivery = .stream, logger: Logger) throws(MQTTError) {
        MosquittoLibrary.ensureInitialised()
        self.configuration = configuration
        self.logger = logger
        let (messages, messageSink) = AsyncStream.makeStream(of: MQTTMessage.self)
        let (events, eventSink) = AsyncStream.makeStream(of: MQTTConnectionEvent.self)
        self.messages = messages
        self.connectionEvents = events
        let deliver: @Sendable (MQTTMessage) -> Void
        var burst: (collector: BurstCollector, gather: Duration, handler: @Sendable ([MQTTMessage]) -> Void)?
        switch delivery {
        case .stream: deliver = { messageSink.yield($0) }
        case .handler(let handler):
            deliver = handler
            messageSink.finish()
        case .batches(let gather, let handler):
            let collector = BurstCollector()
            deliver = { collector.append($0) }
            burst = (collector, gather, handler)
            messageSink.finish()
        }
        self.callbacks = CallbackTarget(deliver: deliver, messageSink: messageSink, eventSink: eventSink,
                                        broker: "\(configuration.host):\(configuration.port)",
                                        libmosquittoReconnects: burst == nil, logger: logger)
        // Ownership: `callbacks` is retained by this client for its whole life, and the
        // mosquitto handle (destroyed in deinit, after the loop thread has stopped) is the only
        // holder of the unretained pointer, so the pointer never outlives its object.
        let userdata = Unmanaged.passUnretained(callbacks).toOpaque()
        guard let mosq = mosquitto_new(configuration.clientID, configuration.cleanStart, userdata) else {
            throw MQTTError(code: Int32(MOSQ_ERR_NOMEM.rawValue), operation: "create client")
        }
        handle = MosquittoHandle(mosq)
        callbacks.handle = handle
        let callbacks = callbacks
        burstLoop = burst.map { burst in
            BurstLoop(handle: MosquittoHandle(mosq), collector: burst.collector, gather: burst.gather,
                      reconnectDelay: configuration.reconnectDelay, logger: logger, isConnected: { callbacks.isConnected },
                      deliver: burst.handler)
        }
        try configure(mosq)
    }

    deinit {
        if let burstLoop {
            burstLoop.stop { shutDownSocket() }
        } else {
            mosquitto_loop_stop(handle.pointer, true)
        }
        mosquitto_destroy(handle.pointer)
    }

    /// Closes our side of the connection without DISCONNECT: the broker notices at once and
    /// publishes the Will, as after a crash; a network loop waiting on the socket wakes.
    private func shutDownSocket() {
        let socket = mosquitto_socket(handle.pointer)
        if socket >= 0 { shutdown(socket, Int32(SHUT_RDWR)) }
    }

    private func configure(_ mosq: OpaquePointer) throws(MQTTError) {
        try SessionSetup.apply(to: mosq, username: configuration.username, password: configuration.password,
                               will: configuration.will, maxInflight: configuration.maxInflight,
                               receiveMaximum: configuration.receiveMaximum)
        if let tls = configuration.tls { try SessionSetup.applyTLS(tls, to: mosq) }
        try MQTTError.check(
            mosquitto_reconnect_delay_set(mosq, configuration.reconnectDelay.min, configuration.reconnectDelay.max, true),
            "set reconnect delay")
        mosquitto_connect_v5_callback_set(mosq) { _, userdata, rc, flags, _ in
            CallbackTarget.from(userdata).didConnect(rc: rc, flags: flags)
        }
        mosquitto_disconnect_v5_callback_set(mosq) { _, userdata, rc, _ in
            CallbackTarget.from(userdata).didDisconnect(rc: rc)
        }
        mosquitto_message_v5_callback_set(mosq) { _, userdata, message, properties in
            guard let message else { return }
            CallbackTarget.from(userdata).didReceive(message.pointee, properties: properties)
        }
        mosquitto_publish_v5_callback_set(mosq) { _, userdata, mid, _, _ in
            CallbackTarget.from(userdata).publishes.acknowledge(mid)
        }
        mosquitto_subscribe_v5_callback_set(mosq) { _, userdata, mid, _, _, _ in
            CallbackTarget.from(userdata).subscriptions.acknowledge(mid)
        }
    }

    // MARK: Lifecycle

    /// Connects, retrying with exponential backoff while the broker cannot be reached,
    /// then starts the network thread. Returns once the first CONNACK has accepted us.
    ///
    /// Throws `MQTTConnectError` at once when the broker refuses the connection (bad
    /// credentials: retrying cannot help), and when `configuration.connectTimeout` passes
    /// before a CONNACK (`.unreachable`: no TCP connection; `.noAnswer`: a connection but no
    /// CONNACK, as from a blackholed port). Honours cancellation at any point; the blocking
    /// DNS and TCP steps run on a thread of their own (see `connectOnItsOwnThread`).
    public func start() async throws {
        let deadline = configuration.connectTimeout.map { ContinuousClock.now + $0 }
        callbacks.prepareToConnect()
        var delay: Duration = .milliseconds(50)
        var attempts = 0
        var lastFailure: String?
        while true {
            try Task.checkCancellation()
            if let deadline, let lastFailure, ContinuousClock.now >= deadline {
                throw connectError(.unreachable, lastFailure)
            }
            let expired = lastFailure ?? "no TCP connection (DNS or TCP connect still waiting)"
            let (rc, detail) = try await Self.racing(deadline, { self.connectError(.unreachable, expired) }) {
                try await self.connectOnItsOwnThread()
            }
            if rc == MOSQ_ERR_SUCCESS.rawValue { break }
            if rc == MOSQ_ERR_INVAL.rawValue { try MQTTError.check(rc, "connect") }
            if rc == MOSQ_ERR_TLS.rawValue { throw connectError(.tls, detail) }
            lastFailure = detail
            attempts += 1
            // Say it once where an operator will see it; the retries themselves are noise.
            logger.log(level: attempts == 1 ? .warning : .debug, "Broker not reachable, retrying with backoff",
                       metadata: ["mqtt.broker": "\(configuration.host):\(configuration.port)", "mqtt.error": "\(detail)"])
            // Backoff between attempts is the point here, not synchronisation.
            try await Task.sleep(for: deadline.map { min(delay, $0 - .now) } ?? delay)
            delay = min(delay * 2, .seconds(Int(configuration.reconnectDelay.max)))
        }
        try startLoop()
        do {
            try await Self.racing(deadline, { self.connectError(.noAnswer, "no CONNACK") }) {
                try await self.callbacks.waitUntilConnected()
            }
        } catch {
            // Refused, too slow or cancelled: libmosquitto must not go on connecting behind
            // the caller's back.
            stopLoopAfterFailedStart()
            throw error
        }
    }

    /// Sends DISCONNECT (so no Will is published), stops the network thread and ends the
    /// streams. Pending acknowledgement waiters fail with `MQTTError.shutDown`.
    public func stop() {
        let attemptInFlight = lifecycle.withLock { lifecycle in
            lifecycle.stopped = true
            return lifecycle.attemptInFlight
        }
        // The connect thread owns the handle until its attempt ends; it then sees `stopped`
        // and closes what it opened (the loop cannot have started).
        if attemptInFlight {
            callbacks.finish()
            return
        }
        if let burstLoop {
            burstLoop.stop { mosquitto_disconnect_v5(handle.pointer, 0, nil) }
        } else {
            mosquitto_disconnect_v5(handle.pointer, 0, nil)
            mosquitto_loop_stop(handle.pointer, false)
        }
        callbacks.finish()
    }

    /// Ends the connection without DISCONNECT, so the broker publishes the Will: what a crash
    /// looks like from outside. For tests and for `kill -9`-like behaviour.
    public func abort() {
        if let burstLoop {
            burstLoop.stop { shutDownSocket() }
        } else {
            mosquitto_loop_stop(handle.pointer, true)
            // Stopping the loop leaves the socket open: close our side.
            shutDownSocket()
        }
        callbacks.finish()
    }

    public func run() async throws {
        try await start()
        // Suspends until graceful shutdown (or cancellation); only then disconnect.
        try? await gracefulShutdown()
        stop()
    }

    /// For services: connects and subscribes, unless a graceful shutdown is requested first
    /// (the broker may be unreachable for a long time). Returns false, stopped, in that case.
    public func startUnlessShuttingDown(subscribingTo filters: [String], qos: Int32 = 1) async throws -> Bool {
        do {
            try await cancelWhenGracefulShutdown {
                try await self.start()
                try await self.subscribe(filters, qos: qos)
            }
            return true
        } catch is CancellationError {
            stop()
            return false
        } catch {
            stop()
            throw error
        }
    }

    public var isConnected: Bool { callbacks.isConnected }

    // MARK: Publish and subscribe

    /// Queues a message without waiting for the broker (pipelined). Returns the message id.
    /// QoS 1 messages queued while disconnected are kept in RAM by libmosquitto and sent on
    /// reconnect; durable delivery is the caller's own outbox.
    @discardableResult
    public func publish(_ message: MQTTMessage) throws(MQTTError) -> Int32 {
        try message.send(on: handle.pointer)
    }

    public func publish(_ topic: String, _ payload: [UInt8], qos: Int32 = 1, retain: Bool = false) throws(MQTTError) {
        try publish(MQTTMessage(topic: topic, payload: payload, qos: qos, retain: retain))
    }

    /// Publishes and waits until the broker has acknowledged it (PUBACK for QoS 1).
    public func publishConfirmed(_ message: MQTTMessage) async throws {
        // Opened before the packet is queued: its PUBACK can beat `publish`'s return.
        let ticket = callbacks.publishes.open()
        let mid: Int32
        do {
            mid = try publish(message)
        } catch {
            callbacks.publishes.close(ticket)
            throw error
        }
        try await callbacks.publishes.wait(for: mid, ticket)
    }

    /// Unsubscribes (and no longer subscribes again after a reconnect). Does not wait for
    /// the broker's UNSUBACK: a persistent session's stale subscription is what this is for,
    /// and a caller that needs certainty sends it again at its next start.
    public func unsubscribe(_ filters: [String]) throws {
        guard !filters.isEmpty else { return }
        try callbacks.forgetAndUnsubscribe(filters)
    }

    /// Subscribes (and remembers the filters, to subscribe again after every reconnect);
    /// returns once the broker has answered with SUBACK.
    public func subscribe(_ filters: [String], qos: Int32 = 1) async throws {
        guard !filters.isEmpty else { return }
        let ticket = callbacks.subscriptions.open()
        let mid: Int32
        do {
            mid = try callbacks.sendSubscribe(filters, qos: qos)
        } catch {
            callbacks.subscriptions.close(ticket)
            throw error
        }
        // Only filters libmosquitto accepted are re-sent after a reconnect: a bad one would
        // make the whole batch fail there.
        callbacks.remember(filters, qos: qos)
        try await callbacks.subscriptions.wait(for: mid, ticket)
    }
}

/// libmosquitto's `struct mosquitto *`. It is documented thread-safe for publish,
/// subscribe and disconnect once the threaded loop runs, which is all Shoal calls on it
/// from other threads; creation and destruction happen in `MQTTClient.init`/`deinit`.
struct MosquittoHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

package enum MosquittoLibrary {
    /// `mosquitto_lib_init` is not thread-safe: a `static let` runs it exactly once.
    private static let initialised: Bool = {
        mosquitto_lib_init()
        return true
    }()

    package static func ensureInitialised() { _ = initialised }
}
