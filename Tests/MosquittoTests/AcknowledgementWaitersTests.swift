@testable import Mosquitto
import Synchronization
import ShoalTestSupport
import Testing

/// Matching acknowledgements to waiters when message ids wrap at 65,535. No broker: the
/// network thread's calls are made by hand, in the orders that thread can produce.
@Suite struct AcknowledgementWaitersTests {
    @Test func anAcknowledgementThatBeatsTheWaitConfirmsIt() async throws {
        let waiters = AcknowledgementWaiters()
        let ticket = waiters.open()
        waiters.acknowledge(7)  // PUBACK before mosquitto_publish_v5 has returned mid 7
        try await withTimeout(.seconds(5), "the early acknowledgement") { try await waiters.wait(for: 7, ticket) }
        #expect(waiters.keptCount == 0)
    }

    @Test func aStaleAcknowledgementOfAReusedIdDoesNotConfirmTheNewPublish() async throws {
        let waiters = AcknowledgementWaiters()
        // A confirmed publish is between its call and its wait while a fire-and-forget
        // publish with id 7 is acknowledged: that acknowledgement has to be kept a while.
        let slow = waiters.open()
        waiters.acknowledge(7)
        #expect(waiters.keptCount == 1)
        // Ids wrap: a later confirmed publish is handed 7 again.
        let wrapped = waiters.open()
        let confirmed = Latch()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await waiters.wait(for: 7, wrapped)
                confirmed.set()
            }
            // It waits for its own PUBACK instead of taking the old one.
            try await withTimeout(.seconds(5), "the wait to register") {
                while !waiters.isWaiting(for: 7) { await Task.yield() }
            }
            #expect(!confirmed.isSet)
            waiters.acknowledge(7)
            try await group.next()
        }
        #expect(confirmed.isSet)
        waiters.acknowledge(9)
        try await withTimeout(.seconds(5), "the slow publish") { try await waiters.wait(for: 9, slow) }
    }

    @Test func acknowledgementsNobodyCanClaimAreNotKept() {
        let waiters = AcknowledgementWaiters()
        for mid in Int32(1)...20_000 { waiters.acknowledge(mid) }
        #expect(waiters.keptCount == 0)
        let ticket = waiters.open()
        for mid in Int32(1)...70_000 { waiters.acknowledge(mid % 65_535 + 1) }
        // At most one per id, however many wraps.
        #expect(waiters.keptCount == 65_535)
        waiters.close(ticket)
        #expect(waiters.keptCount == 0)
    }

    @Test func stoppingFailsTheWaiters() async throws {
        let waiters = AcknowledgementWaiters()
        let ticket = waiters.open()
        await #expect(throws: MQTTError.self) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await waiters.wait(for: 3, ticket) }
                try await withTimeout(.seconds(5), "the wait to register") {
                    while !waiters.isWaiting(for: 3) { await Task.yield() }
                }
                waiters.failAll()
                try await group.next()
            }
        }
    }
}

private final class Latch: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
