import Foundation
import ShoalCore
import ShoalTestSupport
import Testing

@testable import ShoalAgent

@Suite struct ExecutionLedgerTests {
    @Test func aJobIsClaimedOnlyOnceEvenAcrossRestarts() async throws {
        try await withTemporaryDirectory { directory in
            let ledger = try ExecutionLedger(directory: directory)
            #expect(try ledger.claim("job-1", at: 1))
            #expect(try !ledger.claim("job-1", at: 2))
            // A new instance (the agent restarted) sees the same claims.
            let reopened = try ExecutionLedger(directory: directory)
            #expect(try !reopened.claim("job-1", at: 3))
            #expect(try reopened.claim("job-2", at: 3))
        }
    }

    @Test func unfinishedListsOnlyNonTerminalEntries() async throws {
        try await withTemporaryDirectory { directory in
            let ledger = try ExecutionLedger(directory: directory)
            _ = try ledger.claim("a", at: 1)
            _ = try ledger.claim("b", at: 1)
            _ = try ledger.claim("c", at: 1)
            try ledger.update(.init(job: "b", state: .running, processGroup: 123, processStart: 9, claimedAt: 1))
            try ledger.update(.init(job: "c", state: .succeeded, exitCode: 0, claimedAt: 1))
            let unfinished = try ExecutionLedger(directory: directory).unfinished().sorted { $0.job < $1.job }
            #expect(unfinished.map(\.job) == ["a", "b"])
            #expect(unfinished.last?.processGroup == 123)
            #expect(ledger.entry("c")?.state == .succeeded)
        }
    }

    @Test func concurrentClaimsOfOneJobHaveExactlyOneWinner() async throws {
        try await withTemporaryDirectory { directory in
            let ledger = try ExecutionLedger(directory: directory)
            let wins = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<16 { group.addTask { (try? ledger.claim("contested", at: 1)) ?? false } }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1)
        }
    }
}

@Suite struct OutboxTests {
    @Test func pendingMessagesSurviveARestartInOrder() async throws {
        try await withTemporaryDirectory { directory in
            let outbox = try Outbox(directory: directory)
            let first = try outbox.append(topic: "t/1", payload: Array("one".utf8))
            let second = try outbox.append(topic: "t/2", payload: Array("two\nlines".utf8))
            let third = try outbox.append(topic: "t/3", payload: [])
            outbox.remove(second)
            let reopened = try Outbox(directory: directory)
            let pending = reopened.pending()
            #expect(pending.map(\.sequence) == [first, third])
            #expect(pending.map(\.topic) == ["t/1", "t/3"])
            #expect(pending.first?.payload == Array("one".utf8))
            // Numbering continues after the highest pending entry.
            #expect(try reopened.append(topic: "t/4", payload: []) > third)
        }
    }

    @Test func replayOrderFollowsNumbersNotNames() async throws {
        try await withTemporaryDirectory { directory in
            let outbox = try Outbox(directory: directory)
            var sequences: [UInt64] = []
            for index in 0..<12 { sequences.append(try outbox.append(topic: "t/\(index)", payload: [])) }
            #expect(outbox.pending().map(\.sequence) == sequences)
        }
    }
}

@Suite struct NodeFactsTests {
    @Test func automaticLabelsAreAllPresent() {
        let labels = NodeFacts.collect(nodeID: "n1")
        for key in ["name", "os", "arch", "cpus", "mem_mb", "gpus", "kernel", "agent"] {
            #expect(labels[key]?.isEmpty == false, "missing \(key)")
        }
        #expect(labels["name"] == "n1")
        #expect(Int(labels["cpus"] ?? "") ?? 0 >= 1)
        #expect(Int(labels["gpus"] ?? "") != nil)
    }

    @Test func architecturesUseDebianNames() {
        #expect(NodeFacts.normalisedArch("x86_64") == "amd64")
        #expect(NodeFacts.normalisedArch("aarch64") == "arm64")
        #expect(NodeFacts.normalisedArch("riscv64") == "riscv64")
    }

    @Test func configuredLabelsOverrideAutomaticOnes() {
        let agent = Agent(configuration: .init(broker: .init(host: "127.0.0.1", port: 1), nodeID: "n",
                                               labels: ["arch": "arm64", "role": "web"], dataDirectory: "/nonexistent"),
                          logger: testLogger("agent"))
        #expect(agent.labels["arch"] == "arm64")
        #expect(agent.labels["role"] == "web")
        #expect(agent.cell == Cell(region: "_", arch: "arm64", role: "web"))
    }
}

@Suite("Ledger retention")
struct LedgerRetentionTests {
    @Test func finishedEntriesAreForgottenOnlyWhenNoDeliveryCanNeedThem() async throws {
        try await withTemporaryDirectory("shoal-ledger") { directory in
            let ledger = try ExecutionLedger(directory: directory)
            let claimed = 1_800_000_000.0
            for job in ["done", "running"] { #expect(try ledger.claim(job, at: claimed)) }
            try ledger.update(.init(job: "done", state: .succeeded, exitCode: 0, claimedAt: claimed))
            let keep = LedgerRetention.defaultKeep
            #expect(ledger.prune(now: claimed + keep) == 0)
            #expect(ledger.entry("done") != nil)
            #expect(ledger.prune(now: claimed + keep + 1) == 1)
            #expect(ledger.entry("done") == nil)
            // Never an unfinished one: the agent kills and reports it after a restart.
            #expect(ledger.prune(now: 1e300) == 0)
            #expect(ledger.entry("running")?.state == .accepted)
        }
    }
}
