import Synchronization

/// Matches broker acknowledgements (PUBACK, SUBACK) to the tasks awaiting them by message id.
///
/// libmosquitto hands out the message id as `mosquitto_publish_v5` returns, but the
/// acknowledgement may already have arrived on the network thread by then, so an unclaimed
/// acknowledgement has to be kept for a while. Ids wrap at 65,535: an acknowledgement kept
/// for a fire-and-forget publish must never confirm a later publish that was handed the
/// same id. Hence the protocol, one `Ticket` per confirmed operation:
///
/// 1. `open()` before the packet is queued: it notes the acknowledgement count so far;
/// 2. `wait(for:_:)` with the id the call returned: an acknowledgement kept for that id
///    counts only if it arrived after step 1 (an older one belongs to an earlier owner of
///    the id and is dropped), otherwise the task waits for the next one;
/// 3. `close(_:)` instead of step 2 if queueing failed.
///
/// Acknowledgements nobody waits for are only kept while some ticket is open, and only
/// the newest per id: memory stays bounded by the id space even under a stream of
/// fire-and-forget publishes. This assumes an id is not handed out again while its
/// previous owner is still unacknowledged, which would take 65,535 messages in flight
/// (libmosquitto's in-flight window is far smaller).
///
/// Thread-safe: `acknowledge` runs on the network thread, the rest on any task.
final class AcknowledgementWaiters: Sendable {
    struct Ticket: Sendable {
        fileprivate let after: UInt64
    }

    private struct State {
        var waiters: [Int32: CheckedContinuation<Void, any Error>] = [:]
        /// Unclaimed acknowledgements: message id → its position in `received`.
        var early: [Int32: UInt64] = [:]
        var received: UInt64 = 0
        var open = 0
        var failed = false
    }

    private let state = Mutex(State())

    func open() -> Ticket {
        state.withLock { state in
            state.open += 1
            return Ticket(after: state.received)
        }
    }

    func close(_ ticket: Ticket) {
        state.withLock { state in
            state.open -= 1
            if state.open == 0 { state.early.removeAll(keepingCapacity: true) }
        }
    }

    func acknowledge(_ mid: Int32) {
        let waiter: CheckedContinuation<Void, any Error>? = state.withLock { state in
            state.received += 1
            if let waiter = state.waiters.removeValue(forKey: mid) { return waiter }
            if state.open > 0 { state.early[mid] = state.received }
            return nil
        }
        waiter?.resume()
    }

    /// Returns once `mid` is acknowledged after `ticket` was opened; closes the ticket.
    func wait(for mid: Int32, _ ticket: Ticket) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let immediate: Result<Void, any Error>? = state.withLock { state in
                let kept = state.early.removeValue(forKey: mid)
                state.open -= 1
                if state.open == 0 { state.early.removeAll(keepingCapacity: true) }
                if let kept, kept > ticket.after { return .success(()) }
                if state.failed { return .failure(MQTTError.shutDown) }
                state.waiters[mid] = continuation
                return nil
            }
            if let immediate { continuation.resume(with: immediate) }
        }
    }

    /// Whether a task waits for `mid` (for tests).
    func isWaiting(for mid: Int32) -> Bool {
        state.withLock { $0.waiters[mid] != nil }
    }

    /// How many unclaimed acknowledgements are kept (for tests).
    var keptCount: Int { state.withLock { $0.early.count } }

    func failAll() {
        let waiters = state.withLock { state in
            state.failed = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume(throwing: MQTTError.shutDown) }
    }
}
