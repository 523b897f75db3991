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

    /// Decodes a delivered job. Thousands of agents of one cell receive the same payload;
    /// decoding it once per process instead of once per agent is what lets one core play
    /// 5,000 machines (each real agent decodes its own copy, on its own machine). Every agent
    /// still takes its own decision on the decoded job. nil (logged once) if malformed.
    func decodeJob(_ payload: [UInt8], topic: String) -> JobMessage? {
        if let cached = jobs.lookup(payload) { return cached }
        var job: JobMessage?
        do {
            let decoded = try Wire.decode(JobMessage.self, from: payload)
            guard JobID.isValid(decoded.id) else { throw WireError(description: "invalid job id") }
            job = decoded
        } catch {
            logger.warning("Dropped a malformed job message", metadata: ["topic": "\(topic)", "error": "\(error)"])
        }
        jobs.store(payload, job)
        return job
    }
}

/// The last few distinct job payloads and what they decoded to.
private struct JobCache {
    /// A payload as a dictionary key. Hashing every byte of a large job (its `nodes` list)
    /// for each of thousands of deliveries would cost more than the cache saves: the hash
    /// covers the length and both ends only, and equality compares everything.
    private struct Key: Hashable {
        let bytes: [UInt8]
        let hash: UInt64

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
            let ends = bytes.count <= 256 ? bytes[...] : bytes.prefix(128) + bytes.suffix(128)
            hash = StableHash.fnv1a(ends, seed: UInt64(bytes.count))
        }

        func hash(into hasher: inout Hasher) { hasher.combine(hash) }

        static func == (lhs: Key, rhs: Key) -> Bool {
            guard lhs.hash == rhs.hash, lhs.bytes.count == rhs.bytes.count else { return false }
            guard !lhs.bytes.isEmpty else { return true }
            return lhs.bytes.withUnsafeBytes { left in
                rhs.bytes.withUnsafeBytes { right in memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0 }
            }
        }
    }

    private static let capacity = 64
    private var entries: [Key: JobMessage?] = [:]
    private var order: [Key] = []

    func lookup(_ payload: [UInt8]) -> JobMessage?? {
        entries[Key(payload)]
    }

    mutating func store(_ payload: [UInt8], _ job: JobMessage?) {
        let key = Key(payload)
        if entries.updateValue(job, forKey: key) == nil { order.append(key) }
        if order.count > Self.capacity {
            entries[order.removeFirst()] = nil
        }
    }
}
