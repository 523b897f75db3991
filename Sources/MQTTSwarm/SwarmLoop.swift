import Mosquitto
import CLinux
import CMosquitto
import Glibc
import Logging

/// The part of an `MQTTSwarm` that lives on its loop thread: the clients, the connect
/// queue, the timers and the epoll set, and the loop that drives them.
///
/// Threading: use it only on the swarm's loop thread, which is where handlers, timer
/// actions and `MQTTSwarm.execute`/`perform` closures run, one at a time. It is not
/// `Sendable`; `MQTTSwarm` hands it to its thread once (`LoopBinding`).
///
/// One iteration: `epoll_wait` (timeout: the next timer, at most 1 s) → read/write each
/// ready client's socket (`mosquitto_loop_read`/`_write`, which run the callbacks) and run
/// the commands other threads queued → write what callbacks queued → due timers →
/// start connects while fewer than `maxConnecting` await their CONNACK. Once a second
/// `mosquitto_loop_misc` runs on every connection (keepalive PINGREQ, and the timeout
/// that drops a connection whose CONNACK or PINGRESP never came).
public final class SwarmLoop {
    public let configuration: MQTTSwarm.Configuration
    /// Every client added, by `SwarmClient.index`.
    public internal(set) var clients: [SwarmClient] = []
    /// Clients with a CONNACK and no disconnect since.
    public internal(set) var connectedCount = 0

    let logger: Logger
    let poll: EventPoll
    let commands: SwarmCommandQueue
    let counters: SwarmCounters

    var connectingCount = 0
    var connectQueue = ClientQueue()
    var timers = TimerHeap()
    var dirty: [SwarmClient] = []
    /// Set by `beginStop()`: when the shutdown gives up waiting for DISCONNECTs.
    var stopDeadline: UInt64?
    var random = SystemRandomNumberGenerator()
    var lastWarning: UInt64 = 0
    var wakePairSupport = WakePair.Support.unknown
    let drainBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
    private var thread: pthread_t?

    init(configuration: MQTTSwarm.Configuration, logger: Logger, poll: EventPoll, commands: SwarmCommandQueue,
         counters: SwarmCounters) {
        self.configuration = configuration
        self.logger = logger
        self.poll = poll
        self.commands = commands
        self.counters = counters
    }

    /// True once the swarm has begun shutting down: no more clients, connects or timers.
    public var isStopping: Bool { stopDeadline != nil }

    // MARK: Clients

    /// Creates a client and queues its first connect. `handler` gets its events (on this
    /// thread) and is held by the client until shutdown. Throws `MQTTSwarmError.stopped`
    /// while shutting down, `MQTTSwarmError.capacity` past the configured capacity, or an
    /// `MQTTError` if libmosquitto refuses an option.
    @discardableResult
    public func addClient(_ options: MQTTSwarm.ClientOptions, handler: any MQTTSwarmHandler) throws -> SwarmClient {
        assertOnLoopThread()
        guard !isStopping else { throw MQTTSwarmError.stopped }
        guard clients.count < configuration.capacity else {
            let soft = MQTTSwarm.raiseDescriptorLimit()
            throw MQTTSwarmError.capacity(
                clients: clients.count + 1, needed: (clients.count + 1) * MQTTSwarm.descriptorsPerClient,
                limit: soft.soft, hardLimit: soft.hard, maximum: configuration.capacity)
        }
        guard let handle = mosquitto_new(options.clientID, options.cleanStart, nil) else {
            throw MQTTError(code: Int32(MOSQ_ERR_NOMEM.rawValue), operation: "create client \(options.clientID)")
        }
        let client = SwarmClient(index: clients.count, options: options, handle: handle, loop: self, handler: handler)
        do {
            try configure(client)
        } catch {
            mosquitto_destroy(handle)
            throw error
        }
        clients.append(client)
        counters.clients.add(1, ordering: .relaxed)
        connectQueue.append(client)
        return client
    }

    /// Publishes from client `index`; used by `MQTTSwarm.publish(client:_:)`.
    func publish(client index: Int, _ message: MQTTMessage) {
        guard clients.indices.contains(index) else {
            logger.debug("Publish for an unknown swarm client", metadata: ["swarm.client": "\(index)"])
            return
        }
        do {
            try clients[index].publish(message)
        } catch {
            logger.debug("Swarm publish failed", metadata: ["swarm.client": "\(index)", "error": "\(error)"])
        }
    }

    // MARK: Timers

    /// Runs `action` on this thread after `delay` (at the earliest; the loop wakes for it).
    @discardableResult
    public func schedule(after delay: Duration, _ action: @escaping (SwarmLoop) -> Void) -> SwarmTimer {
        timers.schedule(at: Monotonic.now() &+ Monotonic.nanoseconds(delay), action)
    }

    public func cancel(_ timer: SwarmTimer) {
        timers.cancel(timer)
    }

    // MARK: The loop

    /// The thread's body: returns after a clean shutdown (or a failing `epoll_wait`), once
    /// every handle is destroyed and the descriptors are closed.
    func run() {
        thread = pthread_self()
        scheduleSweep()
        let events = UnsafeMutableBufferPointer<epoll_event>.allocate(capacity: 1024)
        defer { events.deallocate() }
        while !isStopComplete() {
            let count: Int
            do {
                count = try poll.wait(into: events, timeout: nextTimeout())
            } catch {
                logger.critical("The swarm's event loop failed; closing every connection", metadata: ["error": "\(error)"])
                break
            }
            for slot in 0..<count {
                let token = events[slot].data.u64
                if token == EventPoll.wakeToken {
                    poll.drainWake()
                    runCommands()
                } else if token < UInt64(clients.count) {
                    handleIO(clients[Int(token)], events: events[slot].events)
                }
            }
            flushDirty()
            runDueTimers()
            flushDirty()
            startConnects()
        }
        finish()
    }

    private func nextTimeout() -> Int32 {
        let cap: UInt64 = isStopping ? 100 : 1000
        guard let next = timers.nextDeadline() else { return Int32(cap) }
        let now = Monotonic.now()
        guard next > now else { return 0 }
        return Int32(min(cap, (next - now + 999_999) / 1_000_000))
    }

    private func runCommands() {
        for command in commands.take() {
            switch command {
            case .run(let body, _): body(self)
            case .stop: beginStop()
            }
        }
    }

    private func handleIO(_ client: SwarmClient, events: UInt32) {
        let handle = client.handle
        client.needsDrain = true
        if events & (EPOLLIN.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 {
            // Errors end in the disconnect callback, which schedules the reconnect.
            _ = mosquitto_loop_read(handle, 1)
        }
        if mosquitto_socket(handle) >= 0, events & EPOLLOUT.rawValue != 0 || mosquitto_want_write(handle) {
            _ = mosquitto_loop_write(handle, 1)
        }
        sync(client)
    }

    /// A publish or subscribe may have left output queued (always, inside a callback).
    func markDirty(_ client: SwarmClient) {
        client.needsDrain = true
        guard !client.isDirty else { return }
        client.isDirty = true
        dirty.append(client)
    }

    /// Writes what dirty clients have queued (it is outside any callback now, so
    /// libmosquitto writes at once) and brings their epoll registration up to date.
    private func flushDirty() {
        while !dirty.isEmpty {
            let batch = dirty
            dirty = []
            for client in batch {
                client.isDirty = false
                if mosquitto_socket(client.handle) >= 0, mosquitto_want_write(client.handle) {
                    _ = mosquitto_loop_write(client.handle, 1)
                }
                sync(client)
            }
        }
    }

    /// Makes epoll watch the client's current socket: readable always, writable while
    /// libmosquitto has output queued. A closed socket left epoll by itself when it closed.
    func sync(_ client: SwarmClient) {
        let fd = mosquitto_socket(client.handle)
        guard fd >= 0 else {
            client.registration = nil
            return
        }
        var wanted = EPOLLIN.rawValue
        if mosquitto_want_write(client.handle) { wanted |= EPOLLOUT.rawValue }
        if let registration = client.registration, registration.fd == fd, registration.events == wanted { return }
        let isNew = client.registration?.fd != fd
        if isNew {
            // libmosquitto does not set close-on-exec: keep our sockets out of child processes,
            // where they would outlive our close and hide it from the broker.
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        do {
            try poll.register(fd, events: wanted, token: UInt64(client.index), isNew: isNew)
            client.registration = (fd, wanted)
        } catch {
            logger.error("Cannot watch a client's socket; dropping its connection",
                         metadata: ["mqtt.client": "\(client.clientID)", "error": "\(error)"])
            client.registration = nil
            // A connection epoll does not watch would go deaf; closing it makes it reconnect.
            _ = mosquitto_disconnect_v5(client.handle, 0, nil)
        }
    }

    private func runDueTimers() {
        let now = Monotonic.now()
        // Bounded, so a timer that keeps rescheduling itself at once cannot starve the sockets.
        var budget = timers.count
        while budget > 0, let action = timers.popDue(now: now) {
            budget -= 1
            action(self)
        }
    }

    /// Once a second: keepalive and CONNACK timeouts on every open connection, and the
    /// wake-up bytes libmosquitto wrote since the last sweep (`WakePair`).
    private func scheduleSweep() {
        schedule(after: .seconds(1)) { loop in
            for client in loop.clients where client.state == .connecting || client.state == .connected {
                if client.needsDrain, let reader = client.wakeReader {
                    WakePair.drain(reader, buffer: loop.drainBuffer)
                }
                _ = mosquitto_loop_misc(client.handle)
                loop.markDirty(client)
            }
            loop.scheduleSweep()
        }
    }

    func assertOnLoopThread() {
        assert(thread.map { pthread_equal($0, pthread_self()) != 0 } ?? true, "SwarmLoop used off its thread")
    }

    /// Says something at warning level at most every 10 s, at debug level otherwise: a
    /// broker outage seen by 5,000 clients is one problem, not 5,000.
    func warnOccasionally(_ message: Logger.Message, metadata: Logger.Metadata) {
        let now = Monotonic.now()
        if lastWarning == 0 || now &- lastWarning >= 10_000_000_000 {
            lastWarning = now
            logger.warning(message, metadata: metadata)
        } else {
            logger.debug(message, metadata: metadata)
        }
    }
}

/// A FIFO of clients waiting for a connect slot.
struct ClientQueue {
    private var items: [SwarmClient] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }

    mutating func append(_ client: SwarmClient) {
        items.append(client)
    }

    mutating func popFirst() -> SwarmClient? {
        guard head < items.count else { return nil }
        let client = items[head]
        head += 1
        if head == items.count || head >= 4096 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return client
    }

    mutating func removeAll() {
        items = []
        head = 0
    }
}
