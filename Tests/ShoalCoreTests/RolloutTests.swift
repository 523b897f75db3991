import Testing

@testable import ShoalCore

/// Rollouts as the engine will apply them: batches, canary, wait, abort threshold, pause.
/// Pure: states and times go in, decisions come out.
@Suite struct RolloutTests {
    private let nodes = (1...10).map { "n\($0 < 10 ? "0" : "")\($0)" }

    @Test func batchesFollowTheCanaryAndTheShare() {
        let plan = RolloutPlan(batch: .percent(30), canary: 1)
        #expect(plan.batches(of: nodes).map(\.count) == [1, 3, 3, 3])
        #expect(RolloutPlan(batch: .count(4)).batches(of: nodes).map(\.count) == [4, 4, 2])
        #expect(RolloutPlan(batch: .percent(0.001)).batches(of: ["a", "b"]).map(\.count) == [1, 1])
        #expect(RolloutPlan(batch: .count(5), canary: 50).batches(of: ["a", "b"]) == [["a", "b"]])
        #expect(RolloutPlan(batch: .count(1)).batches(of: []).isEmpty)
        #expect(Array(plan.batches(of: nodes).joined()) == nodes)
    }

    @Test func batchesGoOutOneAfterAnotherWithTheWaitBetween() {
        var rollout = Rollout(plan: RolloutPlan(batch: .count(5), wait: 30), nodes: nodes)
        #expect(rollout.next(states: [:], at: 0) == .release(batch: 0, nodes: Array(nodes[0..<5])))
        var states: [String: ExecutionState] = [:]
        for node in nodes[0..<4] { states[node] = .succeeded }
        #expect(rollout.next(states: states, at: 10) == .wait(until: nil))
        states[nodes[4]] = .succeeded
        #expect(rollout.next(states: states, at: 20) == .wait(until: 50))
        #expect(rollout.next(states: states, at: 49.9) == .wait(until: 50))
        #expect(rollout.next(states: states, at: 50) == .release(batch: 1, nodes: Array(nodes[5...])))
        for node in nodes[5...] { states[node] = .succeeded }
        #expect(rollout.next(states: states, at: 60) == .complete)
    }

    @Test func oneFailureMoreThanAllowedAbortsAndSkipsTheRest() {
        var rollout = Rollout(plan: RolloutPlan(batch: .count(3), maxFailures: .count(1)), nodes: nodes)
        _ = rollout.next(states: [:], at: 0)
        var states: [String: ExecutionState] = ["n01": .failed, "n02": .succeeded, "n03": .succeeded]
        #expect(rollout.next(states: states, at: 1) == .release(batch: 1, nodes: ["n04", "n05", "n06"]))
        states["n04"] = .timedOut
        guard case .abort(let reason, let skipped) = rollout.next(states: states, at: 2) else {
            Issue.record("expected an abort")
            return
        }
        #expect(reason == "rollout aborted: 2 node(s) failed, more than the 1 allowed")
        #expect(skipped == ["n07", "n08", "n09", "n10"])
        #expect(rollout.abortReason == reason)
        #expect(rollout.next(states: states, at: 3) == .complete)
    }

    @Test func aCanaryMustSucceed() {
        var rollout = Rollout(plan: RolloutPlan(batch: .percent(50), canary: 1, maxFailures: .percent(50)), nodes: nodes)
        #expect(rollout.next(states: [:], at: 0) == .release(batch: 0, nodes: ["n01"]))
        guard case .abort(let reason, let skipped) = rollout.next(states: ["n01": .failed], at: 1) else {
            Issue.record("expected an abort")
            return
        }
        #expect(reason == "rollout aborted: canary n01 ended failed")
        #expect(skipped.count == 9)
    }

    @Test func pauseHoldsTheNextBatchUntilResume() {
        var rollout = Rollout(plan: RolloutPlan(batch: .count(5)), nodes: nodes)
        _ = rollout.next(states: [:], at: 0)
        rollout.pause()
        let done = Dictionary(uniqueKeysWithValues: nodes[0..<5].map { ($0, ExecutionState.succeeded) })
        #expect(rollout.next(states: done, at: 1) == .paused)
        rollout.resume()
        #expect(rollout.next(states: done, at: 2) == .release(batch: 1, nodes: Array(nodes[5...])))
    }

    @Test func sharesAreReadAndCheckedWhereTheyEnter() throws {
        #expect(RolloutPlan.Share("10") == .count(10))
        #expect(RolloutPlan.Share("25%") == .percent(25))
        #expect(RolloutPlan.Share("2.5%") == .percent(2.5))
        for bad in ["", "%", "-1", "1e3", "0x10", "10%%", "nan%", "1,5%", "99999999999", " 5"] {
            #expect(RolloutPlan.Share(bad) == nil, "\(bad)")
        }
        func field(_ plan: RolloutPlan) -> String? {
            do {
                try plan.validate()
                return nil
            } catch {
                return error.field
            }
        }
        #expect(field(RolloutPlan(batch: .count(1))) == nil)
        #expect(field(RolloutPlan(batch: .count(0))) == "rollout.batch")
        #expect(field(RolloutPlan(batch: .percent(0))) == "rollout.batch (%)")
        #expect(field(RolloutPlan(batch: .percent(101))) == "rollout.batch (%)")
        #expect(field(RolloutPlan(batch: .percent(.nan))) == "rollout.batch (%)")
        #expect(field(RolloutPlan(batch: .count(Int.max))) == "rollout.batch")
        #expect(field(RolloutPlan(batch: .count(1), canary: -1)) == "rollout.canary")
        #expect(field(RolloutPlan(batch: .count(1), wait: 1e300)) == "rollout.wait")
        #expect(field(RolloutPlan(batch: .count(1), wait: -1)) == "rollout.wait")
        #expect(field(RolloutPlan(batch: .count(1), maxFailures: .count(-1))) == "rollout.maxFailures")
        #expect(field(RolloutPlan(batch: .count(1), maxFailures: .percent(0))) == nil)
        let decoded = try Wire.decode(RolloutPlan.self, from: Array(#"{"batch":"10%","canary":1,"wait":30,"maxFailures":2}"#.utf8))
        #expect(decoded == RolloutPlan(batch: .percent(10), canary: 1, wait: 30, maxFailures: .count(2)))
        #expect(try Wire.decode(RolloutPlan.self, from: Wire.encode(decoded)) == decoded)
    }
}
