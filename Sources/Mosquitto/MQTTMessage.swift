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

    public init(
        topic: String, payload: [UInt8], qos: Int32 = 1, retain: Bool = false,
        responseTopic: String? = nil, correlationData: [UInt8]? = nil
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.responseTopic = responseTopic
        self.correlationData = correlationData
    }
}

public enum MQTTConnectionEvent: Sendable, Equatable {
    case connected(sessionPresent: Bool)
    case disconnected(reason: Int32)
}
