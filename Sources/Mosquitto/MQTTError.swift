import CMosquitto

/// A libmosquitto failure, named. Every `MOSQ_ERR_*` return goes through `check(_:_:)`.
public struct MQTTError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let operation: String

    package init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    public var description: String {
        let reason = String(cString: mosquitto_strerror(code))
        return "MQTT \(operation) failed: \(reason)"
    }

    public static let notConnected = MQTTError(code: Int32(MOSQ_ERR_NO_CONN.rawValue), operation: "publish")
    public static let shutDown = MQTTError(code: Int32(MOSQ_ERR_NO_CONN.rawValue), operation: "wait (client stopped)")

    /// The one choke point that turns a libmosquitto status code into a thrown error.
    @inline(__always)
    package static func check(_ code: Int32, _ operation: String) throws(MQTTError) {
        if code != MOSQ_ERR_SUCCESS.rawValue { throw MQTTError(code: code, operation: operation) }
    }
}

/// Why `MQTTClient.start()` gave up. Its description is meant for an operator.
public struct MQTTConnectError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The broker answered CONNECT with this MQTT v5 reason code (e.g. 0x87, not authorized).
        case refused(reasonCode: Int32)
        /// No TCP connection within the time allowed; `detail` says what the last attempt got.
        case unreachable
        /// The TCP connection was made but no CONNACK came within the time allowed.
        case noAnswer
        /// The TLS handshake failed (an unknown CA, a certificate that does not name the
        /// host, a plain listener): retrying cannot help.
        case tls
    }

    public let kind: Kind
    public let broker: String
    public let detail: String

    public init(kind: Kind, broker: String, detail: String) {
        self.kind = kind
        self.broker = broker
        self.detail = detail
    }

    static func refused(_ reasonCode: Int32, broker: String) -> MQTTConnectError {
        var reason = String(cString: mosquitto_reason_string(reasonCode))
        // "Not authorized" reads better inside a sentence.
        if let first = reason.first { reason = first.lowercased() + reason.dropFirst() }
        return MQTTConnectError(kind: .refused(reasonCode: reasonCode), broker: broker, detail: reason)
    }

    public var description: String {
        switch kind {
        case .refused(let code):
            "the broker at \(broker) refused the connection: \(detail) (reason code \(code))"
        case .unreachable:
            "the broker at \(broker) could not be reached: \(detail)"
        case .noAnswer:
            "the broker at \(broker) accepted a connection but did not answer it: \(detail)"
        case .tls:
            "the TLS handshake with the broker at \(broker) failed: \(detail) (check --tls-ca and the broker's certificate)"
        }
    }
}

/// MQTT v5 DISCONNECT reason codes a client acts on.
public enum MQTTDisconnectReason {
    /// Another client connected with the same client id and took the session over.
    public static let sessionTakenOver = Int32(MQTT_RC_SESSION_TAKEN_OVER.rawValue)
}
