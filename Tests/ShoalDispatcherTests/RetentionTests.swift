import Foundation
import GRDB
import ShoalCore
import ShoalEngine
import ShoalTestSupport
import Testing

@testable import ShoalDispatcher

/// Retention on a real store, with the time given: finished jobs past the age or over the
/// output budget are deleted with their executions and output; unfinished ones never.
@Suite struct RetentionTests {
    @Test func finishedJobsArePrunedByAgeAndSizeAndRunningOnesKept() async throws {
        try await DispatcherStoreTests.withStores { store in
            for (id, finished) in [("old", 1_000.0), ("recent", 5_000.0)] {
                let job = DispatcherStoreTests.job(id, expected: 1, at: finished - 10)
                try store.recordJob(job, expectedNodes: ["a"])
                try store.saveChunk(OutputChunkRecord(job: id, node: "a", seq: 1, stream: "stdout",
                                                      data: String(repeating: "x", count: 1_000)))
                try store.saveExecutions([], finishing: [(id, finished)])
            }
            try store.recordJob(DispatcherStoreTests.job("running", expected: 1, at: 0), expectedNodes: ["a"])
            _ = try store.foldFinishedJobs()

            let sizes = try store.finishedJobSizes()
            #expect(Set(sizes.map(\.id)) == ["old", "recent"])
            #expect(sizes.allSatisfy { $0.outputBytes == 1_000 })

            let policy = RetentionPolicy(maxAge: 3_000, maxBytes: 10_000)
            try store.deleteJobs(policy.expired(sizes, now: 4_500))
            #expect(try store.job("old") == nil)
            #expect(try store.output(of: "old").isEmpty)
            #expect(try store.executions(of: "old").isEmpty)
            #expect(try store.job("recent") != nil)
            #expect(try store.job("running") != nil)

            // Over the output budget: the oldest finished job goes even though it is young.
            let tight = RetentionPolicy(maxAge: 3_000, maxBytes: 500)
            try store.deleteJobs(tight.expired(try store.finishedJobSizes(), now: 5_001))
            #expect(try store.job("recent") == nil)
            #expect(try store.job("running") != nil)
        }
    }
}
