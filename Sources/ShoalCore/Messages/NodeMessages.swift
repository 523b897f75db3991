/// `node/{id}/birth`: published on every connect. Carries everything the registry knows.
public struct BirthMessage: Sendable, Codable, Equatable {
    public var v: Int = Wire.version
    public var node: String
    /// Automatic labels (name, os, arch, cpus, mem_mb, gpus, kernel, agent) merged with
    /// configured ones; configured labels win.
    public var labels: [String: String]
    public var version: String
    /// Birth/death sequence: a death with an older bdSeq than the last birth is stale.
    public var bdSeq: UInt64
    public var heartbeatInterval: Double
    public var sentAt: Double
    /// Reserved for enrollment (Ed25519 public key, base64).
    public var publicKey: String?
    /// The agent's isolation action is in force (it was quarantined); absent means false.
    public var isolated: Bool?
    /// The agent obeys only signed jobs and control operations (it trusts operator keys);
    /// absent means false. The dispatcher refuses unsigned control requests for such a node
    /// at once, instead of recording a change the node will refuse.
    public var signedOnly: Bool?

    public init(node: String, labels: [String: String], version: String, bdSeq: UInt64,
                heartbeatInterval: Double, sentAt: Double, publicKey: String? = nil, isolated: Bool? = nil,
                signedOnly: Bool? = nil) {
        self.signedOnly = signedOnly
        self.node = node
        self.labels = labels
        self.version = version
        self.bdSeq = bdSeq
        self.heartbeatInterval = heartbeatInterval
        self.sentAt = sentAt
        self.publicKey = publicKey
        self.isolated = isolated
    }
}

/// `node/{id}/death`: the MQTT Will, and also sent on clean shutdown.
public struct DeathMessage: Sendable, Codable, Equatable {
    public var v: Int = Wire.version
    public var node: String
    public var bdSeq: UInt64

    public init(node: String, bdSeq: UInt64) {
        self.node = node
        self.bdSeq = bdSeq
    }
}

/// `node/{id}/hb`: liveness plus a load summary. `sentAt` exposes clock skew.
public struct HeartbeatMessage: Sendable, Codable, Equatable {
    public var v: Int = Wire.version
    public var node: String
    public var seq: UInt64
    public var uptime: Double
    public var load1: Double?
    public var running: Int
    public var sentAt: Double

    public init(node: String, seq: UInt64, uptime: Double, load1: Double?, running: Int, sentAt: Double) {
        self.node = node
        self.seq = seq
        self.uptime = uptime
        self.load1 = load1
        self.running = running
        self.sentAt = sentAt
    }
}
