import CMosquitto
import Glibc

// What the threaded MQTTClient and the epoll-driven MQTTSwarm do alike with a libmosquitto
// handle. Callers own the handle and call these on the thread their mode allows.

extension MQTTMessage {
    /// Copies a received message out of libmosquitto's buffers, which are freed when the
    /// callback returns.
    package init(copying message: mosquitto_message, properties: OpaquePointer?) {
        let payload: [UInt8] = message.payloadlen > 0
            ? Array(UnsafeRawBufferPointer(start: message.payload, count: Int(message.payloadlen)))
            : []
        var responseTopic: String?
        var correlation: [UInt8]?
        var userProperties: [MQTTUserProperty] = []
        if let properties {
            var value: UnsafeMutablePointer<CChar>? = nil
            if mosquitto_property_read_string(properties, Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue), &value, false) != nil,
               let value {
                responseTopic = String(cString: value)
                free(value)
            }
            var data: UnsafeMutableRawPointer? = nil
            var length: UInt16 = 0
            if mosquitto_property_read_binary(properties, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), &data, &length, false) != nil,
               let data {
                correlation = Array(UnsafeRawBufferPointer(start: data, count: Int(length)))
                free(data)
            }
            userProperties = Self.userProperties(in: properties)
        }
        self.init(topic: String(cString: message.topic), payload: payload, qos: message.qos, retain: message.retain,
                  responseTopic: responseTopic, correlationData: correlation, userProperties: userProperties)
    }

    private static func userProperties(in properties: OpaquePointer) -> [MQTTUserProperty] {
        var found: [MQTTUserProperty] = []
        let identifier = Int32(MQTT_PROP_USER_PROPERTY.rawValue)
        var name: UnsafeMutablePointer<CChar>? = nil
        var value: UnsafeMutablePointer<CChar>? = nil
        var cursor = mosquitto_property_read_string_pair(properties, identifier, &name, &value, false)
        while cursor != nil {
            if let name, let value { found.append(MQTTUserProperty(name: String(cString: name), value: String(cString: value))) }
            free(name)
            free(value)
            (name, value) = (nil, nil)
            cursor = mosquitto_property_read_string_pair(cursor, identifier, &name, &value, true)
        }
        return found
    }
}

extension MQTTMessage {
    /// Publishes on `handle` with the message's v5 properties. Returns the message id.
    /// Not connected: libmosquitto still queued a QoS>0 message for after the reconnect.
    package func send(on handle: OpaquePointer) throws(MQTTError) -> Int32 {
        var properties: OpaquePointer? = nil
        defer { mosquitto_property_free_all(&properties) }
        if let responseTopic {
            try MQTTError.check(
                mosquitto_property_add_string(&properties, Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue), responseTopic),
                "set response topic")
        }
        if let correlationData {
            try MQTTError.check(
                mosquitto_property_add_binary(&properties, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), correlationData,
                                              UInt16(clamping: correlationData.count)),
                "set correlation data")
        }
        for property in userProperties {
            try MQTTError.check(
                mosquitto_property_add_string_pair(&properties, Int32(MQTT_PROP_USER_PROPERTY.rawValue), property.name,
                                                   property.value),
                "set user property \(property.name)")
        }
        var mid: Int32 = 0
        let rc = payload.withUnsafeBytes { bytes in
            mosquitto_publish_v5(handle, &mid, topic, Int32(bytes.count), bytes.baseAddress, qos, retain, properties)
        }
        if rc == MOSQ_ERR_NO_CONN.rawValue && qos > 0 { return mid }
        try MQTTError.check(rc, "publish to \(topic)")
        return mid
    }
}

package enum Subscription {
    /// Sends one SUBSCRIBE for `filters`; returns its message id (SUBACK answers it).
    package static func send(_ filters: [String], qos: Int32, on handle: OpaquePointer) throws(MQTTError) -> Int32 {
        var cStrings = filters.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var mid: Int32 = 0
        let rc = cStrings.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafeMutablePointer<CChar>?.self, capacity: buffer.count) {
                mosquitto_subscribe_multiple(handle, &mid, Int32(filters.count), $0, qos, 0, nil)
            }
        }
        try MQTTError.check(rc, "subscribe")
        return mid
    }

    /// Sends one UNSUBSCRIBE per filter, without waiting for UNSUBACK.
    package static func cancel(_ filters: [String], on handle: OpaquePointer) throws(MQTTError) {
        for filter in filters {
            try MQTTError.check(mosquitto_unsubscribe(handle, nil, filter), "unsubscribe")
        }
    }
}

package enum SessionSetup {
    /// What every Shoal client sets on a new handle: MQTT v5, TCP_NODELAY (small QoS 1
    /// exchanges otherwise wait on Nagle), credentials, the Will, the in-flight windows.
    package static func apply(
        to handle: OpaquePointer, username: String?, password: String?, will: MQTTConfiguration.Will?,
        maxInflight: UInt32?, receiveMaximum: UInt16? = nil
    ) throws(MQTTError) {
        try MQTTError.check(mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5), "set protocol")
        try MQTTError.check(mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1), "set TCP_NODELAY")
        if let maxInflight {
            try MQTTError.check(mosquitto_max_inflight_messages_set(handle, maxInflight), "set inflight")
        }
        if let receiveMaximum {
            try MQTTError.check(
                mosquitto_int_option(handle, MOSQ_OPT_RECEIVE_MAXIMUM, Int32(max(1, receiveMaximum))), "set receive maximum")
        }
        if let username {
            try MQTTError.check(mosquitto_username_pw_set(handle, username, password), "set credentials")
        }
        if let will {
            try MQTTError.check(
                mosquitto_will_set_v5(handle, will.topic, Int32(will.payload.count), will.payload, will.qos, will.retain, nil),
                "set will")
        }
    }

    /// TLS with the peer verified (the broker's certificate must chain to `caFile` and name
    /// the host), TLS 1.2 or later. A client certificate is optional.
    package static func applyTLS(_ tls: MQTTTLS, to handle: OpaquePointer) throws(MQTTError) {
        try MQTTError.check(
            mosquitto_tls_set(handle, tls.caFile, nil, tls.certificateFile, tls.keyFile, nil), "set TLS files")
        try MQTTError.check(mosquitto_tls_opts_set(handle, 1, "tlsv1.2", nil), "set TLS options")
    }
}
