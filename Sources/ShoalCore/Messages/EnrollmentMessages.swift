/// Where a node stands in enrollment. A node without a record was given its credentials by
/// an operator (provisioned) and is treated as approved.
public enum EnrollmentState: String, Sendable, Codable, Equatable, CaseIterable {
    /// Asked to join; gets no work until approved.
    case pending
    /// Has broker credentials of its own; gets work like any node.
    case approved
    /// Refused for good; gets no work (its credentials, if any, are removed).
    case rejected
}

/// `enroll/{node}/request`: published by an agent that has only the bootstrap credentials.
/// `secret` is the password the agent chose for itself and keeps in its data directory
/// (mode 0600): on approval the dispatcher gives the broker that password for this node id,
/// so no credential ever travels back. Only the dispatcher may read this topic.
public struct EnrollmentRequest: Sendable, Codable, Equatable {
    public var v: Int = Wire.version
    public var node: String
    public var labels: [String: String]
    public var secret: String
    public var sentAt: Double

    public init(node: String, labels: [String: String], secret: String, sentAt: Double) {
        self.node = node
        self.labels = labels
        self.secret = secret
        self.sentAt = sentAt
    }

    /// The shortest secret accepted: what the agent makes is 64 hex digits.
    public static let secretBytes = 32...256

    public func validate() throws(BoundsError) {
        try Bounds.checkLabels(labels, "labels")
        try Bounds.check(secret.utf8.count, "secret length", in: Self.secretBytes)
        // The broker's password file is line-based and `:`-separated only before the hash.
        if secret.utf8.contains(where: { $0 < 0x21 || $0 > 0x7E }) {
            throw BoundsError(field: "secret", "must be printable ASCII without spaces")
        }
        try Bounds.checkTimestamp(sentAt, "sentAt")
    }
}

/// `enroll/{node}/answer`: the dispatcher's decision. Carries no secret.
public struct EnrollmentAnswer: Sendable, Codable, Equatable {
    public var v: Int = Wire.version
    public var node: String
    public var state: EnrollmentState
    public var reason: String?

    public init(node: String, state: EnrollmentState, reason: String? = nil) {
        self.node = node
        self.state = state
        self.reason = reason
    }
}
