import Mosquitto
import CMosquitto
import Glibc

/// One MQTT v5 client of a swarm: a libmosquitto handle driven by the swarm's loop.
///
/// Threading: loop thread only (handlers, timers, `execute` closures). Other threads
/// publish through `MQTTSwarm.publish(client:_:)`.
///
/// Ownership: the loop keeps every client in `SwarmLoop.clients` until it shuts down, and
/// libmosquitto reaches the client through `userdata`, an *unretained* pointer to it. The
/// handle is destroyed (`mosquitto_destroy`, after which no callback can run) before the
/// loop releases the client, so the pointer never outlives its object.
public final class SwarmClient {
    /// Position in `SwarmLoop.clients`; stable for the swarm's life.
    public let index: Int
    public let options: MQTTSwarm.ClientOptions
    public var clientID: String { options.clientID }
    /// Set to nil at shutdown, which breaks any client-handler cycle.
    public internal(set) var handler: (any MQTTSwarmHandler)?

    /// The loop this client runs on (for timers). The loop owns the client.
    public unowned let loop: SwarmLoop
    let handle: OpaquePointer

    enum State: Equatable {
        /// In the connect queue, waiting for a connect slot.
        case queued
        /// TCP connected and CONNECT sent; no CONNACK yet (counts against `maxConnecting`).
        case connecting
        case connected
        /// Waiting out the backoff before queueing again.
        case backingOff
        case stopped
    }

    var state = State.queued
    /// Connect attempts since the last CONNACK, for the backoff.
    var failedAttempts = 0
    /// What epoll currently has for this client's socket, if anything.
    var registration: (fd: Int32, events: UInt32)?
    /// Queued for `SwarmLoop.flushDirty()` (a publish or subscribe may have left output).
    var isDirty = false
    /// The reading end of libmosquitto's wake-up socketpair, when it can be drained (`WakePair`).
    var wakeReader: Int32?
    /// Packets were queued since the last drain, so the pair holds bytes.
    var needsDrain = false

    init(index: Int, options: MQTTSwarm.ClientOptions, handle: OpaquePointer, loop: SwarmLoop,
         handler: any MQTTSwarmHandler) {
        self.index = index
        self.options = options
        self.handle = handle
        self.loop = loop
        self.handler = handler
    }

    public var isConnected: Bool { state == .connected }

    static func from(_ userdata: UnsafeMutableRawPointer?) -> SwarmClient {
        Unmanaged<SwarmClient>.fromOpaque(userdata!).takeUnretainedValue()
    }

    /// Queues a message (pipelined: no waiting for the broker) and returns its message id.
    /// QoS 1 messages published while disconnected stay in libmosquitto's memory and go out
    /// after the reconnect; QoS 0 ones fail with "no connection".
    @discardableResult
    public func publish(_ message: MQTTMessage) throws(MQTTError) -> Int32 {
        defer { loop.markDirty(self) }
        return try message.send(on: handle)
    }

    @discardableResult
    public func publish(_ topic: String, _ payload: [UInt8], qos: Int32 = 1, retain: Bool = false) throws(MQTTError) -> Int32 {
        try publish(MQTTMessage(topic: topic, payload: payload, qos: qos, retain: retain))
    }

    /// Sends SUBSCRIBE for `filters` and returns its message id (SUBACK arrives as
    /// `swarmClient(_:didSubscribe:)`). Not remembered across reconnects: a handler
    /// subscribes in `swarmClientDidConnect`.
    @discardableResult
    public func subscribe(_ filters: [String], qos: Int32 = 1) throws(MQTTError) -> Int32 {
        guard !filters.isEmpty else { return 0 }
        defer { loop.markDirty(self) }
        return try Subscription.send(filters, qos: qos, on: handle)
    }
}
