/// The dispatcher's request/response API, one topic per operation: `api/{operation}`.
/// The reply goes to the MQTT v5 Response Topic with the request's Correlation Data, or,
/// for MQTT 3.1.1 clients, to `replyTo` with `id` taken from the request body.
public enum APIOperation: String, Sendable, CaseIterable, Codable {
    case submitJob = "jobs.submit"
    case getJob = "jobs.get"
    case listJobs = "jobs.list"
    case jobOutput = "jobs.output"
    case listNodes = "nodes.list"
    case forgetNode = "nodes.forget"
    case listRules = "rules.list"
    case addRule = "rules.add"
    case removeRule = "rules.remove"
    case ruleHistory = "rules.history"
    case approveNode = "nodes.approve"
    case rejectNode = "nodes.reject"
    case cancelJob = "jobs.cancel"
    case cordonNode = "nodes.cordon"
    case uncordonNode = "nodes.uncordon"
    case quarantineNode = "nodes.quarantine"
    case releaseNode = "nodes.release"
    case labelNode = "nodes.label"
    case listAudit = "audit.list"
    case queryMetrics = "metrics.query"
    case queryLogs = "logs.query"
    case pauseJob = "jobs.pause"
    case resumeJob = "jobs.resume"
    case planJob = "jobs.plan"
}

/// Reply routing for clients without MQTT v5 properties.
public struct ReplyRouting: Sendable, Codable, Equatable {
    public var replyTo: String?
    public var id: String?
    public init(replyTo: String? = nil, id: String? = nil) {
        self.replyTo = replyTo
        self.id = id
    }
}

/// Every reply: `ok` with a `result`, or an `error` a person can act on.
public struct APIResponse<Result: Codable & Sendable>: Sendable, Codable {
    public var v: Int = Wire.version
    public var ok: Bool
    public var error: String?
    public var id: String?
    public var result: Result?

    public static func success(_ result: Result, id: String? = nil) -> Self {
        APIResponse(ok: true, error: nil, id: id, result: result)
    }

    public static func failure(_ message: String, id: String? = nil) -> Self {
        APIResponse(ok: false, error: message, id: id, result: nil)
    }
}

/// Placeholder result type for error replies whose operation could not be decoded.
public struct EmptyResult: Sendable, Codable, Equatable { public init() {} }
