import CMosquitto

/// A libmosquitto failure, named. Every `MOSQ_ERR_*` return goes through `check(_:_:)`.
public struct MQTTError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let operation: String

    public var description: String {
        let reason = String(cString: mosquitto_strerror(code))
        return "MQTT \(operation) failed: \(reason)"
    }

    public static let notConnected = MQTTError(code: Int32(MOSQ_ERR_NO_CONN.rawValue), operation: "publish")
    public static let shutDown = MQTTError(code: Int32(MOSQ_ERR_NO_CONN.rawValue), operation: "wait (client stopped)")

    /// The one choke point that turns a libmosquitto status code into a thrown error.
    @inline(__always)
    static func check(_ code: Int32, _ operation: String) throws(MQTTError) {
        if code != MOSQ_ERR_SUCCESS.rawValue { throw MQTTError(code: code, operation: operation) }
    }
}
