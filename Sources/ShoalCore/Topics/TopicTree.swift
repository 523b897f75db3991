/// Builds and parses Shoal's MQTT topics under a prefix (default `shoal/v1`).
///
/// Everything an agent publishes sits under `node/{id}/`, so the broker's ACL can pin each
/// agent to its own subtree.
public struct TopicTree: Sendable, Hashable {
    public let prefix: String

    public init(prefix: String = "shoal/v1") {
        self.prefix = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
    }

    public func cellJob(_ cell: Cell) -> String { "\(prefix)/cell/\(cell.region)/\(cell.arch)/\(cell.role)/job" }
    public func nodeJob(_ node: String) -> String { "\(prefix)/node/\(node)/job" }
    public func nodeControl(_ node: String) -> String { "\(prefix)/node/\(node)/ctl" }
    public func birth(_ node: String) -> String { "\(prefix)/node/\(node)/birth" }
    public func death(_ node: String) -> String { "\(prefix)/node/\(node)/death" }
    public func heartbeat(_ node: String) -> String { "\(prefix)/node/\(node)/hb" }
    public func metrics(_ node: String) -> String { "\(prefix)/node/\(node)/metrics" }
    public func execStatus(node: String, job: String) -> String { "\(prefix)/node/\(node)/exec/\(job)/status" }
    public func execOutput(node: String, job: String) -> String { "\(prefix)/node/\(node)/exec/\(job)/out" }
    public func api(_ operation: APIOperation) -> String { "\(prefix)/api/\(operation.rawValue)" }
    public func reply(client: String) -> String { "\(prefix)/reply/\(client)" }
    public func jobEvents(_ job: String) -> String { "\(prefix)/events/job/\(job)" }
    public func nodeEvents(_ node: String) -> String { "\(prefix)/events/node/\(node)" }
    /// Enrollment: outside `node/` on purpose, so that the bootstrap user's rights and an
    /// agent's never overlap.
    public func enrollmentRequest(_ node: String) -> String { "\(prefix)/enroll/\(node)/request" }
    public func enrollmentAnswer(_ node: String) -> String { "\(prefix)/enroll/\(node)/answer" }

    /// What the dispatcher subscribes to: every node's reports and the API.
    public var dispatcherFilters: [String] {
        [
            "\(prefix)/node/+/birth", "\(prefix)/node/+/death", "\(prefix)/node/+/hb", "\(prefix)/node/+/metrics",
            "\(prefix)/node/+/exec/+/status", "\(prefix)/node/+/exec/+/out", "\(prefix)/api/+",
            "\(prefix)/enroll/+/request",
        ]
    }

    /// What one agent subscribes to: its cell's jobs and its own job and control topics.
    public func agentFilters(node: String, cell: Cell) -> [String] {
        [cellJob(cell), nodeJob(node), nodeControl(node)]
    }

    public enum Route: Sendable, Equatable {
        case birth(node: String)
        case death(node: String)
        case heartbeat(node: String)
        case metrics(node: String)
        case execStatus(node: String, job: String)
        case execOutput(node: String, job: String)
        case nodeJob(node: String)
        case nodeControl(node: String)
        case cellJob(Cell)
        case enrollmentRequest(node: String)
        case enrollmentAnswer(node: String)
        case api(APIOperation)
        /// `api/{name}` with a name no operation has: answered with an error, not silence.
        case unknownAPI(String)
    }

    /// Classifies a received topic; nil for anything Shoal does not know (ignored, not fatal).
    ///
    /// Works on UTF-8 bytes: splitting the `String` itself walks grapheme clusters, which
    /// showed in the dispatcher's profile at 10,000 reports a job.
    public func route(_ topic: String) -> Route? {
        let utf8 = topic.utf8
        guard utf8.starts(with: prefix.utf8) else { return nil }
        var levels: [Substring] = []
        levels.reserveCapacity(5)
        var index = utf8.index(utf8.startIndex, offsetBy: prefix.utf8.count)
        guard index != utf8.endIndex, utf8[index] == UInt8(ascii: "/") else { return nil }
        utf8.formIndex(after: &index)
        var start = index
        while index != utf8.endIndex {
            if utf8[index] == UInt8(ascii: "/") {
                guard levels.count < 4 else { return nil }
                levels.append(Substring(utf8[start..<index]))
                start = utf8.index(after: index)
            }
            utf8.formIndex(after: &index)
        }
        levels.append(Substring(utf8[start..<index]))
        switch (levels.count, levels[0]) {
        case (3, "node"):
            let node = String(levels[1])
            switch levels[2] {
            case "birth": return .birth(node: node)
            case "death": return .death(node: node)
            case "hb": return .heartbeat(node: node)
            case "metrics": return .metrics(node: node)
            case "job": return .nodeJob(node: node)
            case "ctl": return .nodeControl(node: node)
            default: return nil
            }
        case (5, "node") where levels[2] == "exec":
            let node = String(levels[1]), job = String(levels[3])
            switch levels[4] {
            case "status": return .execStatus(node: node, job: job)
            case "out": return .execOutput(node: node, job: job)
            default: return nil
            }
        case (3, "enroll"):
            let node = String(levels[1])
            switch levels[2] {
            case "request": return .enrollmentRequest(node: node)
            case "answer": return .enrollmentAnswer(node: node)
            default: return nil
            }
        case (5, "cell") where levels[4] == "job":
            return .cellJob(Cell(region: String(levels[1]), arch: String(levels[2]), role: String(levels[3])))
        case (2, "api"):
            return APIOperation(rawValue: String(levels[1])).map(Route.api) ?? .unknownAPI(String(levels[1]))
        default:
            return nil
        }
    }

    /// A node id or label value is usable as one topic level when it holds none of MQTT's
    /// separators or wildcards.
    public static func isValidLevel(_ text: String) -> Bool {
        !text.isEmpty && !text.utf8.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") || $0 == 0 }
    }
}

extension TopicTree {
    /// A topic one may publish to: non-empty, no wildcards, not a `$` system topic.
    public static func isValidTopicName(_ topic: String) -> Bool {
        !topic.isEmpty && topic.utf8.count < 65_536 && !topic.hasPrefix("$")
            && !topic.utf8.contains { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") || $0 == 0 }
    }
}
