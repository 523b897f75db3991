// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ShoalCore
import Synchronization

/// What operators decided for this node through the control plane: labels set or removed
/// (`ctl` `labels`) and quarantine (`ctl` `quarantine` / `release`). Kept in the data
/// directory (`operator-state.json`), so that a restarted agent keeps its labels and stays
/// quarantined until it is released.
///
/// Thread-safe: the message loop changes it, job tasks and births read it.
final class OperatorState: Sendable {
    struct Stored: Codable, Equatable {
        var set: [String: String] = [:]
        var removed: [String] = []
        var quarantined = false
        /// The isolation action last succeeded and no release has run since.
        var isolated = false
    }

    private let path: String
    /// Automatic labels merged with the configured ones.
    private let base: [String: String]
    private let stored: Mutex<Stored>

    init(directory: String, base: [String: String]) {
        path = directory + "/operator-state.json"
        self.base = base
        stored = Mutex(DurableFile.read(path).flatMap { try? Wire.decode(Stored.self, from: $0) } ?? Stored())
    }

    /// Base labels, then those set from the control plane, minus those removed from it.
    var labels: [String: String] {
        stored.withLock { Self.labels(base: base, $0) }
    }

    var quarantined: Bool { stored.withLock { $0.quarantined } }
    var isolated: Bool { stored.withLock { $0.isolated } }

    private static func labels(base: [String: String], _ stored: Stored) -> [String: String] {
        base.merging(stored.set) { _, set in set }.filter { !stored.removed.contains($0.key) }
    }

    /// Applies a `labels` control message and returns the labels the node now has. A key
    /// set again after being removed comes back; a key removed is removed whatever set it.
    func applyLabels(set: [String: String], remove: [String]) throws -> [String: String] {
        try change { stored in
            for (key, value) in set {
                stored.set[key] = value
                stored.removed.removeAll { $0 == key }
            }
            for key in remove {
                stored.set[key] = nil
                if !stored.removed.contains(key) { stored.removed.append(key) }
            }
        }
        return labels
    }

    func setQuarantined(_ quarantined: Bool, isolated: Bool) throws {
        try change { stored in
            stored.quarantined = quarantined
            stored.isolated = isolated
        }
    }

    /// Changes the state and writes it; on a failed write (a full disk) memory is changed
    /// all the same (the node acts on the decision now), and the error says it will not
    /// survive a restart.
    private func change(_ body: (inout Stored) -> Void) throws {
        let snapshot = stored.withLock { stored -> Stored in
            body(&stored)
            return stored
        }
        try DurableFile.replace(path, with: Wire.encode(snapshot), sync: true)
    }
}
