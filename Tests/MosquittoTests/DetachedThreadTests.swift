import Foundation
import ShoalTestSupport
import Spawn
import Synchronization
import Testing

/// Fires `released` when the last reference goes: shows when a thread's closure is freed.
private final class Witness: Sendable {
    let released: Signal
    init(released: Signal) { self.released = released }
    deinit { released.fire() }
}

private final class Seen: Sendable {
    let name = Mutex("")
}

@Suite("Detached thread")
struct DetachedThreadTests {
    @Test func runsTheBodyUnderItsNameAndThenReleasesWhatTheBodyCaptured() async throws {
        let ran = Signal()
        let released = Signal()
        let seen = Seen()
        do {
            let witness = Witness(released: released)
            let result = DetachedThread.start(name: "shoal-test-thread", stackSize: 256 * 1024) {
                _ = witness
                let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
                seen.name.withLock { $0 = comm }
                ran.fire()
            }
            #expect(result == 0)
        }
        try await withTimeout(.seconds(10), "the thread to run") { await ran.wait() }
        // Linux keeps 15 bytes of a thread name.
        #expect(seen.name.withLock { $0 } == "shoal-test-thre\n")
        try await withTimeout(.seconds(10), "the closure to be released") { await released.wait() }
    }
}
