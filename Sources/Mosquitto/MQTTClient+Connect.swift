import CMosquitto
import Glibc
import Spawn
import Synchronization

/// Where `start()` stands. A connect attempt may still run on its own thread after the task
/// that began it was cancelled; until it ends, that thread alone touches the handle.
struct Lifecycle {
    var attemptInFlight = false
    var loopStarted = false
    var stopped = false
}

extension MQTTClient {
    /// One `mosquitto_connect_bind_v5`: a DNS lookup and a TCP connect that can block for
    /// minutes (a host that drops SYNs), so it runs on a thread of its own instead of one of
    /// the two cooperative threads. A cancelled caller returns at once; the thread finishes
    /// the attempt by itself and, if `stop()` came meanwhile, closes what it opened.
    /// Returns libmosquitto's code and, for a failure, what went wrong in words.
    func connectOnItsOwnThread() async throws -> (rc: Int32, detail: String) {
        try lifecycle.withLock { lifecycle throws(MQTTError) in
            if lifecycle.stopped { throw MQTTError.shutDown }
            if lifecycle.attemptInFlight || lifecycle.loopStarted {
                throw MQTTError(code: Int32(MOSQ_ERR_INVAL.rawValue), operation: "connect (already started)")
            }
            lifecycle.attemptInFlight = true
        }
        let outcome = OneShot<(rc: Int32, detail: String)>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.install(continuation)
                // The thread holds the client (and so the handle) until the attempt ends.
                let result = DetachedThread.start(name: "mqtt connect", stackSize: 256 * 1024) { [self] in
                    let attempt = connectNow()
                    let stoppedMeanwhile = lifecycle.withLock { lifecycle in
                        lifecycle.attemptInFlight = false
                        return lifecycle.stopped
                    }
                    if stoppedMeanwhile && attempt.rc == MOSQ_ERR_SUCCESS.rawValue {
                        mosquitto_disconnect_v5(handle.pointer, 0, nil)
                    }
                    outcome.resume(with: .success(attempt))
                }
                if result != 0 {
                    lifecycle.withLock { $0.attemptInFlight = false }
                    outcome.resume(with: .failure(MQTTError(code: Int32(MOSQ_ERR_ERRNO.rawValue), operation: "start connect thread")))
                }
            }
        } onCancel: {
            outcome.resume(with: .failure(CancellationError()))
        }
    }

    /// Runs on the connect thread. errno is read here: it is per thread.
    private func connectNow() -> (rc: Int32, detail: String) {
        var properties: OpaquePointer? = nil
        defer { mosquitto_property_free_all(&properties) }
        var rc = MOSQ_ERR_SUCCESS.rawValue
        if configuration.sessionExpiry > 0 {
            rc = mosquitto_property_add_int32(&properties, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue),
                                              configuration.sessionExpiry)
        }
        if rc == MOSQ_ERR_SUCCESS.rawValue, let maximumPacketSize = configuration.maximumPacketSize {
            rc = mosquitto_property_add_int32(&properties, Int32(MQTT_PROP_MAXIMUM_PACKET_SIZE.rawValue), maximumPacketSize)
        }
        if rc == MOSQ_ERR_SUCCESS.rawValue {
            rc = mosquitto_connect_bind_v5(
                handle.pointer, configuration.host, configuration.port, configuration.keepAlive, nil, properties)
        }
        let detail = rc == MOSQ_ERR_ERRNO.rawValue ? String(cString: strerror(errno)) : String(cString: mosquitto_strerror(rc))
        return (rc, detail)
    }

    /// Starts the network thread unless `stop()` came first; under the lock, so that a
    /// concurrent `stop()` either prevents it or sees it running.
    func startLoop() throws(MQTTError) {
        try lifecycle.withLock { lifecycle throws(MQTTError) in
            if lifecycle.stopped { throw MQTTError.shutDown }
            if let burstLoop {
                try burstLoop.start()
            } else {
                try MQTTError.check(mosquitto_loop_start(handle.pointer), "start network loop")
            }
            lifecycle.loopStarted = true
        }
    }

    func stopLoopAfterFailedStart() {
        let wasStarted = lifecycle.withLock { lifecycle in
            defer { lifecycle.loopStarted = false }
            return lifecycle.loopStarted && !lifecycle.stopped
        }
        guard wasStarted else { return }
        if let burstLoop {
            burstLoop.stop { mosquitto_disconnect_v5(handle.pointer, 0, nil) }
        } else {
            // DISCONNECT sets the state that makes libmosquitto's loop end instead of
            // reconnecting; the join then returns promptly.
            mosquitto_disconnect_v5(handle.pointer, 0, nil)
            mosquitto_loop_stop(handle.pointer, false)
        }
    }

    func connectError(_ kind: MQTTConnectError.Kind, _ detail: String) -> MQTTConnectError {
        let limit = configuration.connectTimeout.map { " within \($0)" } ?? ""
        return MQTTConnectError(kind: kind, broker: "\(configuration.host):\(configuration.port)", detail: detail + limit)
    }

    /// `body`, or the error `expired` makes once `deadline` passes (nil: no deadline).
    static func racing<T: Sendable>(
        _ deadline: ContinuousClock.Instant?, _ expired: @escaping @Sendable () -> any Error,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard let deadline else { return try await body() }
        return try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                throw expired()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}

/// A continuation that is resumed exactly once, by whichever comes first (the result, or a
/// cancellation), even if that comes before the continuation is installed.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var early: Result<Value, any Error>?
        var done = false
    }

    private let state = Mutex(State())

    func install(_ continuation: CheckedContinuation<Value, any Error>) {
        let early: Result<Value, any Error>? = state.withLock { state in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func resume(with result: Result<Value, any Error>) {
        let continuation: CheckedContinuation<Value, any Error>? = state.withLock { state in
            guard !state.done else { return nil }
            state.done = true
            if let continuation = state.continuation { return continuation }
            state.early = result
            return nil
        }
        continuation?.resume(with: result)
    }
}
