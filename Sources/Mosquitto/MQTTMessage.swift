/// One received (or to-be-sent) application message. The payload is copied out of
/// libmosquitto's buffer, which is freed as soon as the callback returns.
public struct MQTTMessage: Sendable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int32
    public var retain: Bool
    /// MQTT v5 request/response properties.
    public var responseTopic: String?
    public var correlationData: [UInt8]?
    /// MQTT v5 user properties, in order (a name may repeat).
    public var userProperties: [MQTTUserProperty]

    public init(
        topic: String, payload: [UInt8], qos: Int32 = 1, retain: Bool = false,
        responseTopic: String? = nil, correlationData: [UInt8]? = nil, userProperties: [MQTTUserProperty] = []
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.responseTopic = responseTopic
        self.correlationData = correlationData
        self.userProperties = userProperties
    }
}

/// One MQTT v5 user property: a name/value pair the broker forwards untouched.
public struct MQTTUserProperty: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

public enum MQTTConnectionEvent: Sendable, Equatable {
    case connected(sessionPresent: Bool)
    case disconnected(reason: Int32)
}
