import Mosquitto
import CMosquitto
import Glibc
import Logging

/// Connecting, reconnecting with backoff, and the clean shutdown.
extension SwarmLoop {
    func configure(_ client: SwarmClient) throws(MQTTError) {
        let handle = client.handle
        let options = client.options
        // Ownership: unretained; `clients` keeps the object alive for longer than the handle.
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(client).toOpaque())
        try SessionSetup.apply(to: handle, username: options.username, password: options.password,
                               will: options.will, maxInflight: options.maxInflight)
        if let tls = configuration.tls { try SessionSetup.applyTLS(tls, to: handle) }
        // Capture-free closures, i.e. C function pointers; they run on this loop thread,
        // inside mosquitto_loop_read/_write/_misc or a publish, and find the client through
        // `userdata`.
        mosquitto_connect_v5_callback_set(handle) { _, userdata, rc, flags, _ in
            let client = SwarmClient.from(userdata)
            client.loop.clientDidConnect(client, rc: rc, flags: flags)
        }
        mosquitto_disconnect_v5_callback_set(handle) { _, userdata, rc, _ in
            let client = SwarmClient.from(userdata)
            client.loop.clientDidDisconnect(client, rc: rc)
        }
        mosquitto_message_v5_callback_set(handle) { _, userdata, message, properties in
            guard let message else { return }
            let client = SwarmClient.from(userdata)
            client.handler?.swarmClient(client, didReceive: MQTTMessageView(message, properties: properties))
        }
        mosquitto_publish_v5_callback_set(handle) { _, userdata, mid, _, _ in
            let client = SwarmClient.from(userdata)
            client.handler?.swarmClient(client, didPublish: mid)
        }
        mosquitto_subscribe_v5_callback_set(handle) { _, userdata, mid, _, _, _ in
            let client = SwarmClient.from(userdata)
            client.handler?.swarmClient(client, didSubscribe: mid)
        }
    }

    // MARK: Connecting

    /// Starts queued connects while fewer than `maxConnecting` clients await a CONNACK.
    func startConnects() {
        guard !isStopping else { return }
        while connectingCount < configuration.maxConnecting, let client = connectQueue.popFirst() {
            guard client.state == .queued else { continue }
            connect(client)
        }
    }

    /// A blocking TCP connect (fast on a LAN or loopback: that is what the swarm is for)
    /// followed by CONNECT, written at once.
    private func connect(_ client: SwarmClient) {
        var properties: OpaquePointer? = nil
        defer { mosquitto_property_free_all(&properties) }
        if client.options.sessionExpiry > 0 {
            _ = mosquitto_property_add_int32(
                &properties, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), client.options.sessionExpiry)
        }
        // Connecting closes the previous socket, if any; epoll forgot it when it closed.
        client.registration = nil
        let rc = mosquitto_connect_bind_v5(
            client.handle, configuration.host, configuration.port, client.options.keepAlive, nil, properties)
        // libmosquitto made a new wake-up pair for this attempt (and closed the old one).
        client.wakeReader = nil
        if rc == MOSQ_ERR_SUCCESS.rawValue {
            client.state = .connecting
            connectingCount += 1
            client.wakeReader = wakeReader(of: client)
            sync(client)
            return
        }
        // Read now: errno, behind MOSQ_ERR_ERRNO, changes with the next system call.
        let reason = String(cString: mosquitto_strerror(rc))
        if rc == MOSQ_ERR_INVAL.rawValue {
            logger.error("Client options refused by libmosquitto; not connecting it",
                         metadata: ["mqtt.client": "\(client.clientID)", "mqtt.error": "\(reason)"])
            client.state = .stopped
            return
        }
        warnOccasionally("Cannot connect to the broker; retrying with backoff",
                         metadata: ["mqtt.broker": "\(configuration.host):\(configuration.port)", "mqtt.error": "\(reason)"])
        backOff(client)
    }

    /// The client's wake-up pair reader, once `WakePair`'s checks pass (the full one on
    /// the swarm's first connect).
    private func wakeReader(of client: SwarmClient) -> Int32? {
        let checked = wakePairSupport != .unavailable
        let reader = WakePair.checkedReader(of: client.handle, support: &wakePairSupport, buffer: drainBuffer)
        if reader == nil && checked {
            logger.info("""
                libmosquitto's wake-up socketpairs are not where expected: not draining them \
                (each client's pair may hold up to a socket buffer of kernel memory)
                """)
        }
        return reader
    }

    func clientDidConnect(_ client: SwarmClient, rc: Int32, flags: Int32) {
        guard rc == 0 else {
            // libmosquitto drops the connection right after; the disconnect callback retries.
            warnOccasionally("The broker refused a connection",
                             metadata: ["mqtt.client": "\(client.clientID)", "mqtt.reason": "\(rc)"])
            return
        }
        guard client.state == .connecting else { return }
        connectingCount -= 1
        client.state = .connected
        client.failedAttempts = 0
        connectedCount += 1
        counters.connected.add(1, ordering: .relaxed)
        client.handler?.swarmClientDidConnect(client, sessionPresent: flags & 1 == 1)
    }

    func clientDidDisconnect(_ client: SwarmClient, rc: Int32) {
        let previous = client.state
        // libmosquitto closes the socket around this callback; epoll drops it then.
        client.registration = nil
        switch previous {
        case .connecting:
            connectingCount -= 1
        case .connected:
            connectedCount -= 1
            counters.connected.subtract(1, ordering: .relaxed)
        case .queued, .backingOff, .stopped:
            break
        }
        if isStopping {
            client.state = .stopped
        } else if previous == .connecting || previous == .connected {
            logger.debug("Swarm client lost its connection; reconnecting with backoff",
                         metadata: ["mqtt.client": "\(client.clientID)", "mqtt.rc": "\(rc)"])
            backOff(client)
        }
        if previous == .connected {
            client.handler?.swarmClientDidDisconnect(client, reason: rc)
        }
    }

    /// Queues the client again after a delay that doubles with each failed attempt, drawn
    /// from the upper half of that interval so that clients cut off together spread out.
    func backOff(_ client: SwarmClient) {
        client.state = .backingOff
        client.failedAttempts += 1
        let lower = Monotonic.nanoseconds(configuration.reconnectDelay.lowerBound)
        let upper = max(lower, Monotonic.nanoseconds(configuration.reconnectDelay.upperBound))
        let exponent = UInt64(min(client.failedAttempts - 1, 30))
        let ceiling = max(1, min(upper, lower << exponent))
        let delay = ceiling / 2 + UInt64.random(in: 0...(ceiling - ceiling / 2), using: &random)
        schedule(after: .nanoseconds(Int64(delay))) { loop in
            guard client.state == .backingOff else { return }
            client.state = .queued
            loop.connectQueue.append(client)
        }
    }

    // MARK: Shutdown

    /// Goodbyes, then DISCONNECT everywhere. The loop keeps running until every socket is
    /// closed or the grace period is over.
    func beginStop() {
        guard !isStopping else { return }
        stopDeadline = Monotonic.now() &+ Monotonic.nanoseconds(configuration.shutdownGrace)
        timers.removeAll()
        connectQueue.removeAll()
        for client in clients {
            switch client.state {
            case .connected:
                client.handler?.swarmClientWillStop(client)
                _ = mosquitto_disconnect_v5(client.handle, 0, nil)
                markDirty(client)
            case .connecting:
                _ = mosquitto_disconnect_v5(client.handle, 0, nil)
                markDirty(client)
            case .queued, .backingOff:
                client.state = .stopped
            case .stopped:
                break
            }
        }
    }

    func isStopComplete() -> Bool {
        guard let deadline = stopDeadline else { return false }
        if Monotonic.now() >= deadline { return true }
        return clients.allSatisfy { mosquitto_socket($0.handle) < 0 }
    }

    /// Destroys every handle (closing what is still open), answers the commands that will
    /// never run, and closes the epoll set and the eventfd.
    func finish() {
        let open = clients.filter { mosquitto_socket($0.handle) >= 0 }.count
        if open > 0 {
            logger.debug("Closing connections whose DISCONNECT was not written in time", metadata: ["swarm.open": "\(open)"])
        }
        for command in commands.close() {
            if case .run(_, let dropped) = command { dropped() }
        }
        timers.removeAll()
        connectQueue.removeAll()
        dirty = []
        for client in clients {
            client.handler = nil
            mosquitto_destroy(client.handle)
        }
        clients = []
        connectedCount = 0
        connectingCount = 0
        counters.connected.store(0, ordering: .relaxed)
        drainBuffer.deallocate()
        poll.close()
    }
}
