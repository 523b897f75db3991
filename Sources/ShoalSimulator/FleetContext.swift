import Foundation
import Glibc
import Logging
import ShoalCore

/// What the simulated agents of one simulator share: configuration, the connected count,
/// random jitter, and decoded jobs.
///
/// Threading: the swarm's loop thread only, like the agents themselves.
final class FleetContext {
    let configuration: SimulatorConfiguration
    let logger: Logger
    /// One birth/death sequence for the whole run: milliseconds since 1970 at start, so it
    /// grows from run to run without a file to keep it in (the real agent keeps one).
    let bdSeq: UInt64
    let kernel: String
    var random: SplitMix64
    private(set) var connected = 0
    private let progress: AsyncStream<FleetProgress>.Continuation
    private var jobs = JobCache()
    /// A small number per job id, so that an agent's ledger holds integers.
    private var jobSerials: [String: Int] = [:]

    init(configuration: SimulatorConfiguration, logger: Logger, progress: AsyncStream<FleetProgress>.Continuation) {
        self.configuration = configuration
        self.logger = logger
        self.progress = progress
        let now = Date().timeIntervalSince1970
        bdSeq = UInt64(now * 1000)
        random = SplitMix64(seed: UInt64(now * 1_000_000) ^ UInt64(getpid()))
        var system = utsname()
        uname(&system)
        kernel = withUnsafeBytes(of: &system.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    var topics: TopicTree { configuration.topics }

    func agentConnected() {
        connected += 1
        progress.yield(FleetProgress(connected: connected, total: configuration.count))
    }

    func agentDisconnected() {
        connected -= 1
        progress.yield(FleetProgress(connected: connected, total: configuration.count))
    }

    /// A node's labels as a real agent would report them: automatic ones (with fixed values
    /// for a small machine, and `simulated=true`) overridden by the configured spec.
    func labels(node: String, number: Int) -> [String: String] {
        let automatic = [
            "name": node, "os": "linux", "arch": "amd64", "cpus": "2", "mem_mb": "2048", "gpus": "0",
            "kernel": kernel, "agent": configuration.version, "simulated": "true",
        ]
        return automatic.merging(configuration.labels.labels(forNode: number)) { _, configured in configured }
    }

    /// Whether `--fail-rate` turns this execution into a failure: a fixed hash of (job, node),
    /// so a rerun of the same job fails on the same nodes.
    func fails(job: String, node: String) -> Bool {
        guard configuration.failRate > 0 else { return false }
        let hash = StableHash.fnv1a(node.utf8, seed: StableHash.fnv1a(job + "\u{0}"))
        return StableHash.unit(StableHash.mix(hash)) < configuration.failRate
    }

    /// A decoded job with what every agent of the cell would work out alike: its node list
    /// as a set (found in without scanning hundreds of ids) and its synthetic outcome.
    struct PreparedJob {
        let job: JobMessage
        /// The same for every payload of one job id (its cell and node publications).
        let serial: Int
        let nodes: Set<String>
        let outcome: SyntheticTask
    }

    /// Decodes a delivered job. Thousands of agents of one cell receive the same payload;
    /// decoding it once per process instead of once per agent is what lets one core play
    /// 5,000 machines (each real agent decodes its own copy, on its own machine). Every agent
    /// still takes its own decision on the decoded job. nil (logged once) if malformed.
    func decodeJob(_ payload: UnsafeRawBufferPointer, topic: String) -> PreparedJob? {
        if let cached = jobs.lookup(payload) { return cached }
        let bytes = [UInt8](payload)
        var prepared: PreparedJob?
        do {
            let decoded = try Wire.decode(JobMessage.self, from: bytes)
            guard JobID.isValid(decoded.id) else { throw WireError(description: "invalid job id") }
            let serial = jobSerials[decoded.id] ?? jobSerials.count
            jobSerials[decoded.id] = serial
            prepared = PreparedJob(job: decoded, serial: serial, nodes: Set(decoded.nodes),
                                   outcome: SyntheticTask.interpret(decoded.task, taskTime: configuration.taskTime))
        } catch {
            logger.warning("Dropped a malformed job message", metadata: ["topic": "\(topic)", "error": "\(error)"])
        }
        jobs.store(bytes, prepared)
        return prepared
    }
}

/// The last few distinct job payloads and what they decoded to.
///
/// Looked up with libmosquitto's buffer as it is: copying each delivery's kilobytes only to
/// find it is a job already decoded cost more than the lookup.
private struct JobCache {
    /// A payload's identity. Hashing every byte of a large job (its `nodes` list) for each
    /// of thousands of deliveries would cost more than the cache saves: the hash covers the
    /// length and both ends only, and a hit is then confirmed by comparing every byte.
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes.count)
        if bytes.count <= 256 {
            hasher.combine(bytes: bytes)
        } else {
            hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: bytes.prefix(128)))
            hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: bytes.suffix(128)))
        }
        return hasher.finalize()
    }

    private struct Entry {
        let bytes: [UInt8]
        let job: FleetContext.PreparedJob?
    }

    private static let capacity = 64
    private var entries: [Int: [Entry]] = [:]
    private var order: [(hash: Int, bytes: [UInt8])] = []

    func lookup(_ payload: UnsafeRawBufferPointer) -> FleetContext.PreparedJob?? {
        guard let candidates = entries[Self.hash(payload)] else { return nil }
        for entry in candidates where entry.bytes.count == payload.count {
            let same = entry.bytes.withUnsafeBytes { stored in
                payload.isEmpty || memcmp(stored.baseAddress!, payload.baseAddress!, payload.count) == 0
            }
            if same { return .some(entry.job) }
        }
        return nil
    }

    mutating func store(_ bytes: [UInt8], _ job: FleetContext.PreparedJob?) {
        let hash = bytes.withUnsafeBytes { Self.hash($0) }
        entries[hash, default: []].append(Entry(bytes: bytes, job: job))
        order.append((hash, bytes))
        guard order.count > Self.capacity else { return }
        let oldest = order.removeFirst()
        entries[oldest.hash]?.removeAll { $0.bytes == oldest.bytes }
        if entries[oldest.hash]?.isEmpty == true { entries[oldest.hash] = nil }
    }
}
