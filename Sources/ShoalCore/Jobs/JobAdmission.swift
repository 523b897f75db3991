/// What a node does with a delivered job, decided from the job, the node's labels and
/// clock, and whether its ledger already holds the job. Pure, so the real agent and the
/// fleet simulator take exactly the same decisions.
public enum JobAdmission: Sendable, Equatable {
    /// Not one of the nodes this publication is for: ignore it silently.
    case notForThisNode
    /// Already claimed (a redelivery, or the same job after a restart): do nothing.
    case duplicate
    /// Report `rejected` with this reason.
    case reject(String)
    /// Claim it and run it.
    case run

    /// `alreadyClaimed` is asked only for jobs meant for this node, so that a node never
    /// touches its ledger for other nodes' jobs.
    public static func decide(
        _ job: JobMessage, node: String, labels: [String: String], now: Double, skewAllowance: Double,
        quarantined: Bool = false, alreadyClaimed: () throws -> Bool
    ) rethrows -> JobAdmission {
        try decide(job, listed: job.nodes.contains(node), labels: labels, now: now, skewAllowance: skewAllowance,
                   quarantined: quarantined, alreadyClaimed: alreadyClaimed)
    }

    /// The same decision, for a caller that already knows whether the node is in
    /// `job.nodes` (the simulator asks a set once per delivery instead of scanning the list).
    /// A quarantined node runs incident jobs only, whatever the dispatcher planned (a stale
    /// registry, a forged or replayed publication).
    public static func decide(
        _ job: JobMessage, listed: Bool, labels: [String: String], now: Double, skewAllowance: Double,
        quarantined: Bool = false, alreadyClaimed: () throws -> Bool
    ) rethrows -> JobAdmission {
        guard listed else { return .notForThisNode }
        guard try !alreadyClaimed() else { return .duplicate }
        do {
            try job.validate()
        } catch {
            return .reject("invalid job: \(error.description)")
        }
        if now > job.deadline + skewAllowance { return .reject("deadline passed before the node received the job") }
        if quarantined && job.incident != true { return .reject("node is quarantined: it runs incident jobs only") }
        guard job.selector.matches(labels) else {
            return .reject("node labels no longer match selector '\(job.selector)'")
        }
        return .run
    }
}
