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
    /// Report `rejected` with this reason without claiming the job: its signature does not
    /// authorize it, so its id stays free for the genuine job.
    case refuse(String)
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
        try decide(job, listed: listed, labels: labels, now: now, skewAllowance: skewAllowance, quarantined: quarantined,
                   claimedBefore: { false }, authorize: { nil }, claim: { try !alreadyClaimed() })
    }

    /// The decision of a node that checks signatures: a job it claimed before is a
    /// redelivery (answered from the ledger, whatever its signature now: it may have
    /// expired since); any other is authorized before it is claimed, so that a forged
    /// message cannot take a real job's id in the ledger. `authorize` returns the reason
    /// to reject, or nil; `claim` is the ledger's test-and-set (false: claimed meanwhile).
    public static func decide(
        _ job: JobMessage, listed: Bool, labels: [String: String], now: Double, skewAllowance: Double,
        quarantined: Bool = false, claimedBefore: () -> Bool, authorize: () -> String?, claim: () throws -> Bool
    ) rethrows -> JobAdmission {
        guard listed else { return .notForThisNode }
        if claimedBefore() { return .duplicate }
        if let reason = authorize() { return .refuse(reason) }
        guard try claim() else { return .duplicate }
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
