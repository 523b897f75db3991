import ShoalCore
import ShoalEngine
import Testing

@testable import ShoalDispatcher

/// Rollouts in the store (migration v8): written with their job and with each change,
/// read back for unfinished jobs at start, kept with a finished job, deleted with it.
@Suite struct RolloutStoreTests {
    @Test func aRolloutIsStoredWithItsJobAndEachChangeAndGoesWithIt() async throws {
        try await DispatcherStoreTests.withStores { store in
            let nodes = ["a", "b", "c", "d"]
            var rollout = Rollout(plan: RolloutPlan(batch: .count(2), wait: 30, maxFailures: .percent(25)), nodes: nodes)
            _ = rollout.next(states: [:], at: 100)
            try store.recordJob(DispatcherStoreTests.job("r", expected: 4), expectedNodes: nodes, rollout: rollout)
            #expect(try store.openRollouts() == ["r": rollout])

            _ = rollout.next(states: ["a": .succeeded, "b": .failed], at: 110)
            rollout.pause()
            var batch = PendingWrites()
            batch.rollouts["r"] = rollout
            try store.commit(batch)
            let stored = try #require(try store.openRollouts()["r"])
            #expect(stored == rollout && stored.paused && stored.lastBatchEndedAt == 110)

            batch = PendingWrites()
            batch.finishedJobs = [("r", 120)]
            try store.commit(batch)
            #expect(try store.openRollouts().isEmpty, "a finished job's rollout is not resumed")
            #expect(try store.rollout(of: "r") == rollout, "but it is still shown with the job")
            #expect(try store.rollouts(of: ["r", "other"]) == ["r": rollout])

            try store.deleteJobs(["r"])
            #expect(try store.rollout(of: "r") == nil)
        }
    }
}
