import Mosquitto
import CMosquitto

/// A received message seen in libmosquitto's own buffer, for the length of one
/// `MQTTSwarmHandler` call: nothing is copied until `copy()` is asked for.
///
/// Why: a simulator process plays thousands of nodes of one cell, and each receives the
/// same kilobytes of job; copying every delivery into an array cost more than deciding
/// what to do with it. Do not let `payload` escape the call.
public struct MQTTMessageView {
    public let topic: String
    /// Valid only until the handler returns.
    public let payload: UnsafeRawBufferPointer
    public let qos: Int32
    public let retain: Bool
    private let message: UnsafePointer<mosquitto_message>
    private let properties: OpaquePointer?

    init(_ message: UnsafePointer<mosquitto_message>, properties: OpaquePointer?) {
        self.message = message
        self.properties = properties
        topic = String(cString: message.pointee.topic)
        payload = UnsafeRawBufferPointer(start: message.pointee.payload, count: Int(max(0, message.pointee.payloadlen)))
        qos = message.pointee.qos
        retain = message.pointee.retain
    }

    /// An owned copy, with its v5 request/response properties.
    public func copy() -> MQTTMessage {
        MQTTMessage(copying: message.pointee, properties: properties)
    }
}
