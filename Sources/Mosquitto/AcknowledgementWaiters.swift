import Synchronization

/// Matches broker acknowledgements (PUBACK, SUBACK) to the tasks awaiting them by message id.
///
/// The acknowledgement can arrive on the network thread before the publishing task has
/// registered its wait, so recent unclaimed ids are remembered (a bounded window: ids of
/// fire-and-forget messages are never claimed and must not pile up).
final class AcknowledgementWaiters: Sendable {
    private struct State {
        var waiters: [Int32: CheckedContinuation<Void, any Error>] = [:]
        var early: Set<Int32> = []
        var earlyOrder: [Int32] = []
        var failed = false
    }

    private static let earlyWindow = 8192
    private let state = Mutex(State())

    func acknowledge(_ mid: Int32) {
        let waiter: CheckedContinuation<Void, any Error>? = state.withLock { state in
            if let waiter = state.waiters.removeValue(forKey: mid) { return waiter }
            if state.early.insert(mid).inserted {
                state.earlyOrder.append(mid)
                if state.earlyOrder.count > Self.earlyWindow {
                    let dropped = state.earlyOrder.prefix(Self.earlyWindow / 2)
                    dropped.forEach { state.early.remove($0) }
                    state.earlyOrder.removeFirst(dropped.count)
                }
            }
            return nil
        }
        waiter?.resume()
    }

    func wait(for mid: Int32) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let immediate: Result<Void, any Error>? = state.withLock { state in
                if state.early.remove(mid) != nil { return .success(()) }
                if state.failed { return .failure(MQTTError.shutDown) }
                state.waiters[mid] = continuation
                return nil
            }
            if let immediate { continuation.resume(with: immediate) }
        }
    }

    func failAll() {
        let waiters = state.withLock { state in
            state.failed = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume(throwing: MQTTError.shutDown) }
    }
}
