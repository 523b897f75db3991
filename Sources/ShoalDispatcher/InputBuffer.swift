import Synchronization

/// A many-producer, one-consumer queue that hands out everything queued so far as one
/// batch. Producers never wait; the consumer wakes once per batch, however many items
/// arrived meanwhile.
///
/// Thread-safe: `append` and `finish` may be called from any thread or task.
final class InputBuffer<Element: Sendable>: Sendable {
    private let storage = Storage()
    private let signal: AsyncStream<Void>.Continuation
    /// One consumer.
    let batches: Batches

    init() {
        let (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.signal = signal
        self.batches = Batches(signals: signals, storage: storage)
    }

    func append(_ element: Element) {
        let first = storage.queue.withLock { queue in
            guard !queue.finished else { return false }
            queue.items.append(element)
            return queue.items.count == 1
        }
        // Only the item that starts a batch signals. Any later one joins a batch whose
        // signal is already pending, or that the consumer is about to take: it always looks
        // at the queue before it waits. At 10,000 reports a job this spares the stream's
        // lock (and often a wake-up) for all but the first report of each batch.
        if first { signal.yield() }
    }

    /// Several items at once, in order: one lock, and at most one signal.
    func append<S: Sequence>(contentsOf elements: S) where S.Element == Element {
        let first = storage.queue.withLock { queue in
            guard !queue.finished else { return false }
            let wasEmpty = queue.items.isEmpty
            queue.items.append(contentsOf: elements)
            return wasEmpty && !queue.items.isEmpty
        }
        if first { signal.yield() }
    }

    func finish() {
        storage.queue.withLock { $0.finished = true }
        signal.finish()
    }

    final class Storage: Sendable {
        let queue = Mutex<(items: [Element], finished: Bool)>(([], false))

        func take() -> [Element] {
            queue.withLock { queue in
                defer { queue.items = [] }
                return queue.items
            }
        }
    }

    struct Batches: AsyncSequence, Sendable {
        let signals: AsyncStream<Void>
        let storage: Storage

        func makeAsyncIterator() -> Iterator {
            Iterator(signals: signals.makeAsyncIterator(), storage: storage)
        }

        struct Iterator: AsyncIteratorProtocol {
            var signals: AsyncStream<Void>.Iterator
            let storage: Storage

            mutating func next() async -> [Element]? {
                while true {
                    let batch = storage.take()
                    if !batch.isEmpty { return batch }
                    // Nothing queued: wait for the next signal; the stream ends after finish().
                    guard await signals.next() != nil else {
                        let rest = storage.take()
                        return rest.isEmpty ? nil : rest
                    }
                }
            }
        }
    }
}
