import Testing

@testable import ShoalDispatcher

/// The dispatcher's input queue: many producer threads, one consumer taking batches.
@Suite(.timeLimit(.minutes(1))) struct InputBufferTests {
    /// Every item arrives exactly once and each producer's items keep their order, however
    /// appends and takes interleave (only the first item of a batch signals the consumer,
    /// so a lost wake-up would show as a consumer that never sees the last items).
    @Test func everyItemArrivesOnceInOrderPerProducer() async throws {
        let producers = 4
        let perProducer = 20_000
        let buffer = InputBuffer<(producer: Int, seq: Int)>()

        let consumer = Task {
            var next = [Int](repeating: 0, count: producers)
            var batches = 0
            var received = 0
            for await batch in buffer.batches {
                batches += 1
                for item in batch {
                    #expect(item.seq == next[item.producer], "producer \(item.producer) out of order")
                    next[item.producer] = item.seq + 1
                    received += 1
                }
                if received == producers * perProducer { break }
            }
            return (received, batches)
        }
        // Concurrent producers, as libmosquitto's network thread and the timers are.
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<producers {
                group.addTask {
                    for seq in 0..<perProducer { buffer.append((producer, seq)) }
                }
            }
        }
        let (received, batches) = await consumer.value
        #expect(received == producers * perProducer)
        #expect(batches >= 1)
    }

    /// Items appended after the consumer drained the queue and went back to waiting still
    /// wake it, one at a time.
    @Test func aLoneItemAfterADrainWakesTheConsumer() async throws {
        let buffer = InputBuffer<Int>()
        var iterator = buffer.batches.makeAsyncIterator()
        for round in 0..<100 {
            buffer.append(round)
            let batch = await iterator.next()
            #expect(batch == [round])
        }
    }

    @Test func finishEndsTheBatchesAfterWhatWasQueued() async throws {
        let buffer = InputBuffer<Int>()
        buffer.append(1)
        buffer.append(2)
        buffer.finish()
        buffer.append(3)  // refused: the buffer is finished
        var all: [Int] = []
        for await batch in buffer.batches { all += batch }
        #expect(all == [1, 2])
    }
}
