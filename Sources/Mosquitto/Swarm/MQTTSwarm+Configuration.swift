extension MQTTSwarm {
    /// What the whole swarm shares: where to connect and how hard to push. Plain values.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int32
        /// The most clients this swarm will hold; checked against the open-files limit at init.
        public var capacity: Int
        /// Clients whose TCP connection is open but whose CONNACK has not arrived yet, at most.
        /// mosquitto listens with a backlog of 100: a connect storm above it gets SYNs dropped
        /// and a blocking connect that stalls the loop for a second. Share ~64 between all
        /// swarms that connect to one broker at once.
        public var maxConnecting: Int
        /// Backoff between reconnect attempts of one client: doubles from the lower bound up
        /// to the upper one, each delay drawn uniformly from its upper half (jitter).
        public var reconnectDelay: ClosedRange<Duration>
        /// How long a clean shutdown waits for DISCONNECTs to be written before closing anyway.
        public var shutdownGrace: Duration

        public init(
            host: String = "127.0.0.1", port: Int32 = 1883, capacity: Int, maxConnecting: Int = 64,
            reconnectDelay: ClosedRange<Duration> = .milliseconds(500) ... .seconds(30),
            shutdownGrace: Duration = .seconds(5)
        ) {
            self.host = host
            self.port = port
            self.capacity = capacity
            self.maxConnecting = maxConnecting
            self.reconnectDelay = reconnectDelay
            self.shutdownGrace = shutdownGrace
        }

        public init(broker: BrokerAddress, capacity: Int) {
            self.init(host: broker.host, port: broker.port, capacity: capacity)
        }
    }

    /// One client's MQTT v5 session. Plain values.
    public struct ClientOptions: Sendable {
        public var clientID: String
        public var username: String?
        /// Never logged.
        public var password: String?
        /// Seconds (at least 5, libmosquitto's minimum). A CONNACK that takes longer than this
        /// counts as a failed connect.
        public var keepAlive: Int32
        /// `false` with a non-zero `sessionExpiry` gives a persistent session.
        public var cleanStart: Bool
        public var sessionExpiry: UInt32
        public var will: MQTTConfiguration.Will?
        /// Outgoing QoS 1/2 messages in flight at once (nil: libmosquitto's default, 20).
        public var maxInflight: UInt32?

        public init(
            clientID: String, username: String? = nil, password: String? = nil, keepAlive: Int32 = 30,
            cleanStart: Bool = true, sessionExpiry: UInt32 = 0, will: MQTTConfiguration.Will? = nil,
            maxInflight: UInt32? = nil
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
}
