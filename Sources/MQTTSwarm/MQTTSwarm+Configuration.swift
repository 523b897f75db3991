import Mosquitto
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
        /// TLS for every client (libmosquitto runs the handshake inside the loop's reads and
        /// writes, so the epoll loop drives it like any other traffic).
        public var tls: MQTTTLS?

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

    /// One client's MQTT v5 session (the same values an `MQTTClient` is given).
    public typealias ClientOptions = MQTTSession
}
