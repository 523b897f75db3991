import Mosquitto
import Logging
import Spawn
import Synchronization

/// Many MQTT v5 clients (thousands) driven by one dedicated OS thread, for load generators
/// and fleet simulators. Knows nothing of Shoal.
///
/// Why: `MQTTClient` runs one libmosquitto thread per client, and libmosquitto's own loop
/// uses `select()`, which fails for descriptors above 1024. The swarm uses libmosquitto's
/// non-threaded API instead (`mosquitto_socket`, `mosquitto_loop_read`/`_write`/`_misc`,
/// `mosquitto_want_write`) under one `epoll` set, with timers on the same thread.
///
/// Threading:
/// - `MQTTSwarm` itself is thread-safe. Work reaches the loop thread through a
///   `Mutex`-guarded command queue and an eventfd that wakes `epoll_wait`: `execute`,
///   `perform` and `publish(client:_:)`.
/// - Everything else, `SwarmLoop`, `SwarmClient` and the `MQTTSwarmHandler`s, lives on the
///   loop thread: libmosquitto's callbacks, timer actions and `execute` closures all run
///   there, one at a time, so they share state without locks.
///
/// Lifecycle: `init` raises the open-files limit and checks that `capacity` clients fit
/// (3 descriptors each), `start()` starts the thread, clients are added on the loop
/// (`perform { loop in try loop.addClient(...) }`) and connect with at most
/// `maxConnecting` awaiting their CONNACK; a client that loses its connection reconnects
/// with backoff. `shutdown()` lets handlers say goodbye, sends DISCONNECT on every
/// connection (so the broker publishes no Will), stops the thread and destroys the handles.
public final class MQTTSwarm: Sendable {
    public let configuration: Configuration

    private let poll: EventPoll
    private let commands: SwarmCommandQueue
    private let counters: SwarmCounters
    private let binding: LoopBinding
    private let lifecycle = Mutex(Lifecycle())

    private struct Lifecycle {
        var phase = Phase.created
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private enum Phase { case created, running, stopped }

    /// Throws `MQTTSwarmError.capacity` when `configuration.capacity` clients cannot fit in
    /// this process's open-files limit, even raised to its hard limit.
    public init(configuration: Configuration, logger: Logger) throws(MQTTSwarmError) {
        MosquittoLibrary.ensureInitialised()
        try Self.reserveDescriptors(for: configuration.capacity)
        self.configuration = configuration
        poll = try EventPoll()
        commands = SwarmCommandQueue(poll: poll)
        counters = SwarmCounters()
        binding = LoopBinding(SwarmLoop(
            configuration: configuration, logger: logger, poll: poll, commands: commands, counters: counters))
    }

    deinit {
        // Started swarms are kept alive by their thread until it has closed everything.
        if lifecycle.withLock({ $0.phase }) == .created {
            _ = commands.close()
            poll.close()
        }
    }

    /// Starts the loop thread (a detached POSIX thread: full Foundation's `Thread` is kept
    /// out of this module, which the agent links). Call once. Throws if the thread cannot be
    /// created; the swarm is then stopped.
    public func start() throws(MQTTSwarmError) {
        let starting = lifecycle.withLock { lifecycle in
            guard lifecycle.phase == .created else { return false }
            lifecycle.phase = .running
            return true
        }
        precondition(starting, "MQTTSwarm.start() called twice or after shutdown()")
        let binding = self.binding
        // The thread holds the swarm until its loop has ended and closed everything.
        let result = DetachedThread.start(name: "shoal-swarm") { [self] in
            binding.loop.run()
            loopDidEnd()
        }
        guard result == 0 else {
            lifecycle.withLock { $0.phase = .stopped }
            _ = commands.close()
            poll.close()
            throw .system(operation: "pthread_create", errno: result)
        }
    }

    /// Clients currently connected (CONNACK received), from any thread.
    public var connectedCount: Int { counters.connected.load(ordering: .relaxed) }

    /// Clients added so far.
    public var clientCount: Int { counters.clients.load(ordering: .relaxed) }

    /// Runs `body` on the loop thread, soon; dropped silently if the swarm has stopped.
    public func execute(_ body: @escaping @Sendable (SwarmLoop) -> Void) {
        commands.enqueue(.run(body, dropped: {}))
    }

    /// Runs `body` on the loop thread and returns its result. Throws
    /// `MQTTSwarmError.stopped` if the swarm stops (or has stopped) before running it.
    public func perform<Result: Sendable>(
        _ body: @escaping @Sendable (SwarmLoop) throws -> Result
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            commands.enqueue(.run({ loop in
                continuation.resume(with: Swift.Result { try body(loop) })
            }, dropped: {
                continuation.resume(throwing: MQTTSwarmError.stopped)
            }))
        }
    }

    /// Publishes `message` from client number `index` (the `SwarmClient.index` of a client),
    /// from any thread. Pipelined: returns before anything is sent. A failure (unknown
    /// client, not connected with QoS 0) is logged at debug level.
    public func publish(client index: Int, _ message: MQTTMessage) {
        execute { loop in loop.publish(client: index, message) }
    }

    /// Clean shutdown: handlers' `swarmClientWillStop`, DISCONNECT on every connection
    /// (waiting up to `shutdownGrace` for them to be written), then the thread ends and every
    /// handle is destroyed. Returns when all of that is done. Safe to call more than once.
    public func shutdown() async {
        let phase = lifecycle.withLock { lifecycle in
            defer { if lifecycle.phase == .created { lifecycle.phase = .stopped } }
            return lifecycle.phase
        }
        switch phase {
        case .created:
            _ = commands.close()
            poll.close()
        case .stopped:
            return
        case .running:
            commands.enqueue(.stop)
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let stopped = lifecycle.withLock { lifecycle in
                    if lifecycle.phase != .stopped { lifecycle.waiters.append(continuation) }
                    return lifecycle.phase == .stopped
                }
                if stopped { continuation.resume() }
            }
        }
    }

    /// On the loop thread, after `run()` returned (queue closed, descriptors closed).
    private func loopDidEnd() {
        let waiters = lifecycle.withLock { lifecycle in
            lifecycle.phase = .stopped
            defer { lifecycle.waiters = [] }
            return lifecycle.waiters
        }
        waiters.forEach { $0.resume() }
    }
}

/// Counters the loop keeps and other threads read.
final class SwarmCounters: Sendable {
    let connected = Atomic<Int>(0)
    let clients = Atomic<Int>(0)
}

/// Carries the loop to its thread. `@unchecked Sendable` because `SwarmLoop` is not: before
/// `start()` nobody touches `loop`, and after it only the loop thread does (everything else
/// goes through the command queue). `SwarmLoop.assertOnLoopThread()` checks it in debug builds.
final class LoopBinding: @unchecked Sendable {
    let loop: SwarmLoop
    init(_ loop: SwarmLoop) { self.loop = loop }
}
