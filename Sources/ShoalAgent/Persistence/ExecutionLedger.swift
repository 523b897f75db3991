// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import ShoalCore
import Synchronization

/// The agent's durable record of every job it has claimed, one file per job under
/// `{data}/ledger/`. A job is claimed by creating its file exclusively (and fsyncing it)
/// before anything runs, so a redelivered job, or the same job after a crash, is never run
/// twice on this node.
///
/// Thread-safe: file operations are atomic; entries are only rewritten by the job's own task.
public final class ExecutionLedger: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var job: String
        public var state: ExecutionState
        /// Process group of the running job, and its start time as /proc reports it
        /// (so a recycled pid is never killed by mistake).
        public var processGroup: Int32?
        public var processStart: UInt64?
        public var exitCode: Int32?
        public var claimedAt: Double
        /// The terminal report's details, so that it can be repeated when the dispatcher
        /// asks again (its first report was lost).
        public var reason: String?
        public var startedAt: Double?
        public var finishedAt: Double?

        public init(job: String, state: ExecutionState, processGroup: Int32? = nil, processStart: UInt64? = nil,
                    exitCode: Int32? = nil, claimedAt: Double) {
            self.job = job
            self.state = state
            self.processGroup = processGroup
            self.processStart = processStart
            self.exitCode = exitCode
            self.claimedAt = claimedAt
        }
    }

    private let directory: String

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    private func path(_ job: String) -> String { "\(directory)/\(job).json" }

    /// True when this call claimed the job; false when it was claimed before.
    public func claim(_ job: String, at time: Double) throws -> Bool {
        let entry = Entry(job: job, state: .accepted, claimedAt: time)
        return try DurableFile.create(path(job), with: Wire.encode(entry), sync: true)
    }

    public func update(_ entry: Entry) throws {
        try DurableFile.replace(path(entry.job), with: Wire.encode(entry))
    }

    public func entry(_ job: String) -> Entry? {
        DurableFile.read(path(job)).flatMap { try? Wire.decode(Entry.self, from: $0) }
    }

    /// Claimed jobs that never reached a terminal state: the agent died while they ran.
    public func unfinished() -> [Entry] {
        all().filter { !$0.state.isTerminal }
    }

    private func all() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") }.compactMap { name in
            DurableFile.read("\(directory)/\(name)").flatMap { try? Wire.decode(Entry.self, from: $0) }
        }
    }

    /// Deletes the entries `LedgerRetention` says no delivery can need any more; returns
    /// how many. `now` is given so that the rule can be tested at any time.
    @discardableResult
    public func prune(now: Double, retention: LedgerRetention = LedgerRetention()) -> Int {
        var removed = 0
        for entry in all() where retention.canForget(state: entry.state, claimedAt: entry.claimedAt, now: now) {
            if unlink(path(entry.job)) == 0 { removed += 1 }
        }
        return removed
    }
}
