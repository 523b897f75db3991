/// One client's MQTT v5 session: who it is and what the broker keeps for it. Shared by
/// `MQTTClient` (inside `MQTTConfiguration`) and each client of an `MQTTSwarm`. Plain values.
public struct MQTTSession: Sendable {
    public struct Will: Sendable {
        public var topic: String
        public var payload: [UInt8]
        public var qos: Int32
        public var retain: Bool
        public init(topic: String, payload: [UInt8], qos: Int32 = 1, retain: Bool = false) {
            self.topic = topic
            self.payload = payload
            self.qos = qos
            self.retain = retain
        }
    }

    public var clientID: String
    public var username: String?
    /// Never logged.
    public var password: String?
    /// Seconds (at least 5, libmosquitto's minimum).
    public var keepAlive: Int32
    /// `false` with a non-zero `sessionExpiry` gives a persistent session: the broker keeps
    /// subscriptions and queues QoS 1 messages while the client is away.
    public var cleanStart: Bool
    public var sessionExpiry: UInt32
    public var will: Will?
    /// Outgoing QoS 1/2 messages in flight at once (nil: libmosquitto's default, 20).
    public var maxInflight: UInt32?

    public init(
        clientID: String, username: String? = nil, password: String? = nil, keepAlive: Int32 = 30,
        cleanStart: Bool = true, sessionExpiry: UInt32 = 0, will: Will? = nil, maxInflight: UInt32? = nil
    ) {
        self.clientID = clientID
        self.username = username
        self.password = password
        self.keepAlive = keepAlive
        self.cleanStart = cleanStart
        self.sessionExpiry = sessionExpiry
        self.will = will
        self.maxInflight = maxInflight
    }
}

/// How an `MQTTClient` connects: where, its session (whose fields read as this type's own,
/// `configuration.clientID`), and how it waits. Plain values; no I/O.
@dynamicMemberLookup
public struct MQTTConfiguration: Sendable {
    public typealias Will = MQTTSession.Will

    public var host: String
    public var port: Int32
    public var session: MQTTSession
    public var reconnectDelay: (min: UInt32, max: UInt32)
    /// How many QoS 1 messages the broker may send us before we acknowledge them (MQTT v5
    /// Receive Maximum); nil keeps libmosquitto's 20. A subscriber that takes in a whole
    /// fleet's reports needs far more: with 20, every 20 messages wait on a round trip
    /// through a broker that is busy with thousands of other sockets, and the reports
    /// arrive in a trickle, then in a flood at the end.
    public var receiveMaximum: UInt16?
    /// How long `start()` may take to reach the broker and get its CONNACK before it throws
    /// `MQTTConnectError` (`.unreachable` or `.noAnswer`); nil: keep trying until cancelled.
    /// A refusal (bad credentials) ends `start()` at once either way.
    public var connectTimeout: Duration?
    /// nil: a plain TCP connection.
    public var tls: MQTTTLS?
    /// The largest packet this client accepts (MQTT v5 Maximum Packet Size): the broker
    /// drops larger messages for this client instead of sending them. nil: no limit.
    public var maximumPacketSize: UInt32?

    public init(
        host: String = "127.0.0.1", port: Int32 = 1883, clientID: String,
        username: String? = nil, password: String? = nil, keepAlive: Int32 = 30,
        cleanStart: Bool = true, sessionExpiry: UInt32 = 0, will: Will? = nil,
        reconnectDelay: (min: UInt32, max: UInt32) = (1, 10), maxInflight: UInt32 = 1000,
        receiveMaximum: UInt16? = nil, connectTimeout: Duration? = nil, tls: MQTTTLS? = nil,
        maximumPacketSize: UInt32? = nil
    ) {
        self.host = host
        self.port = port
        self.session = MQTTSession(clientID: clientID, username: username, password: password, keepAlive: keepAlive,
                                   cleanStart: cleanStart, sessionExpiry: sessionExpiry, will: will,
                                   maxInflight: maxInflight)
        self.reconnectDelay = reconnectDelay
        self.receiveMaximum = receiveMaximum
        self.connectTimeout = connectTimeout
        self.tls = tls
        self.maximumPacketSize = maximumPacketSize
    }

    public subscript<Value>(dynamicMember field: WritableKeyPath<MQTTSession, Value>) -> Value {
        get { session[keyPath: field] }
        set { session[keyPath: field] = newValue }
    }
}

/// `mqtt://host:port` (the scheme may be omitted; the port defaults to 1883).
public struct BrokerAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int32

    public init(host: String, port: Int32) {
        self.host = host
        self.port = port
    }

    public init?(_ text: String) {
        var rest = Substring(text)
        if rest.hasPrefix("mqtt://") {
            rest = rest.dropFirst("mqtt://".count)
        }
        // One trailing slash is tolerated (a copied URL); any other path is a mistake.
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/") else { return nil }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard let hostPart = parts.first, !hostPart.isEmpty, parts.count <= 2 else { return nil }
        host = String(hostPart)
        if parts.count == 2 {
            guard let port = Int32(parts[1]), (1...65535).contains(port) else { return nil }
            self.port = port
        } else {
            port = 1883
        }
    }

    public var description: String { "mqtt://\(host):\(port)" }
}
