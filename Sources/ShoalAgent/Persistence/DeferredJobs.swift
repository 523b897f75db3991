// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import ShoalCore

/// Jobs delivered while the agent was stopping, kept under `{data}/deferred/` for its next
/// start. libmosquitto acknowledges a QoS 1 message as it arrives, so the broker will not
/// deliver such a job again: unless it is kept here, it is lost, and the dispatcher waits
/// for its result until the deadline.
///
/// Thread-safe: each job is its own file, written atomically.
final class DeferredJobs: Sendable {
    private let directory: String

    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    private func path(_ job: String) -> String { "\(directory)/\(job).json" }

    /// `payload` is the job message as delivered, so that it is decoded again next time
    /// exactly as a delivery would be.
    func keep(_ job: String, payload: [UInt8]) throws {
        try DurableFile.replace(path(job), with: payload, sync: true)
    }

    /// Removes a kept job once it has been handed to the executor, which claims it in the
    /// ledger first: a crash in between makes it a duplicate, never a second run.
    func remove(_ job: String) {
        unlink(path(job))
    }

    /// The kept jobs, oldest deadline first. Unreadable files are removed: they cannot
    /// become readable.
    func all() -> [JobMessage] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") }.compactMap { name -> JobMessage? in
            let file = "\(directory)/\(name)"
            guard let job = DurableFile.read(file).flatMap({ try? Wire.decode(JobMessage.self, from: $0) }) else {
                unlink(file)
                return nil
            }
            return job
        }.sorted { $0.deadline < $1.deadline }
    }
}
