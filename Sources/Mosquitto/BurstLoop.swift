import CMosquitto
import Dispatch
import Glibc
import Logging
import Spawn
import Synchronization

/// The network thread of an `MQTTClient` that takes its messages in batches
/// (`MQTTClient.MessageDelivery.batches`): libmosquitto's own loop, but one wait per burst
/// of packets instead of one per packet, and one hand-over per burst.
///
/// `mosquitto_loop_start`'s thread calls `mosquitto_loop` once per packet: a `pselect`, the
/// packet's reads, and, because every packet libmosquitto queues (each PUBACK) also writes a
/// byte to its wake-up socketpair, a second pass that reads that byte back. For a
/// subscriber taking in 10,000 reports a job that is ~9 system calls a report. This loop
/// waits in `mosquitto_loop` as well, then reads whatever else is already waiting
/// (`mosquitto_loop_read` until the socket would block), drops the wake-up bytes in one
/// read (`WakePair`), writes the queued PUBACKs, and only then delivers the burst.
///
/// While reports trickle in (a burst of fewer than 64), the thread may pause for `gather`
/// before waiting again, so that bursts, and everything done once per burst (a wait, a
/// hand-over, the consumer's wake-up), come bigger and fewer: interrupt moderation, at the
/// price of up to `gather` more latency per message. Measured against libmosquitto's own
/// loop in bench/README.md (fanout-cpu): it is what keeps this module's second loop.
///
/// The handle is put in libmosquitto's "threaded, external loop" mode
/// (`mosquitto_threaded_set`), so that publishes from other threads only queue their packet
/// and wake this thread through the socketpair, as with `mosquitto_loop_start`.
/// Reconnecting follows `mosquitto_loop_forever`: after a lost connection it waits the
/// reconnect delay (doubling from the configured minimum to the maximum, reset by a
/// successful connect) and calls `mosquitto_reconnect`, until `stop` is asked.
///
/// Threading: `start` and `stop` from any thread but the loop's own (`stop` waits for it);
/// everything else, and every libmosquitto callback of the handle, on the loop thread.
final class BurstLoop: @unchecked Sendable {
    private let handle: MosquittoHandle
    private let reconnectDelay: (min: UInt32, max: UInt32)
    private let collector: BurstCollector
    /// How long the thread pauses after a thin burst, so that the next one is bigger
    /// (`MQTTClient.MessageDelivery.batches`); 0: never.
    private let gatherMicroseconds: UInt32
    private let deliver: @Sendable ([MQTTMessage]) -> Void
    private let isConnected: @Sendable () -> Bool
    private let logger: Logger
    private let control = Mutex(Control())
    private let exited = DispatchSemaphore(value: 0)

    private struct Control {
        var started = false
        var stopping = false
        var finished = false
    }

    // Loop thread only.
    private var wakeReader: Int32?
    private var pairSupport = WakePair.Support.unknown
    private let drainBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)

    /// Packets read in one burst at most, so that a flood cannot hold a batch back forever.
    static let burstLimit = 4096
    /// Bursts of this many messages or more are followed by no pause: the loop is busy anyway.
    static let gatherBelow = 64

    init(handle: MosquittoHandle, collector: BurstCollector, gather: Duration, reconnectDelay: (min: UInt32, max: UInt32),
         logger: Logger, isConnected: @escaping @Sendable () -> Bool, deliver: @escaping @Sendable ([MQTTMessage]) -> Void) {
        self.handle = handle
        self.collector = collector
        let (seconds, attoseconds) = max(.zero, min(gather, .seconds(1))).components
        gatherMicroseconds = UInt32(seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
        self.reconnectDelay = reconnectDelay
        self.logger = logger
        self.isConnected = isConnected
        self.deliver = deliver
    }

    deinit {
        drainBuffer.deallocate()
    }

    /// Starts the thread. The handle must have been connected (`mosquitto_connect*`).
    func start() throws(MQTTError) {
        try MQTTError.check(mosquitto_threaded_set(handle.pointer, true), "set threaded mode")
        control.withLock { $0.started = true }
        let result = DetachedThread.start(name: "mosquitto burst") { [self] in
            run()
            control.withLock { $0.finished = true }
            exited.signal()
        }
        if result != 0 {
            control.withLock { $0.started = false }
            throw MQTTError(code: Int32(MOSQ_ERR_ERRNO.rawValue), operation: "start network thread")
        }
    }

    /// Asks the loop to end once the connection is down and waits until it has. `wake` runs
    /// after the request and must bring the connection down (a DISCONNECT, or a shutdown
    /// of the socket); the loop stops at its next lost connection instead of reconnecting.
    func stop(_ wake: () -> Void) {
        let wasRunning = control.withLock { control -> Bool in
            defer { control.stopping = true }
            return control.started && !control.finished && !control.stopping
        }
        wake()
        guard wasRunning else { return }
        exited.wait()
    }

    private var stopping: Bool { control.withLock { $0.stopping } }

    private func run() {
        let mosq = handle.pointer
        var failures: UInt32 = 0
        refreshWakeReader()
        while true {
            var rc = mosquitto_loop(mosq, 1000, 1)
            if rc == MOSQ_ERR_SUCCESS.rawValue {
                rc = drainBurst(mosq)
            }
            let batch = collector.take()
            if !batch.isEmpty { deliver(batch) }
            if rc == MOSQ_ERR_SUCCESS.rawValue {
                if isConnected() { failures = 0 }
                // A thin burst while reports trickle in: let more gather before the next
                // wait (see `gather`). Not after a big burst, nor after a quiet spell.
                if gatherMicroseconds > 0 && !batch.isEmpty && batch.count < Self.gatherBelow { usleep(gatherMicroseconds) }
                continue
            }
            // The connection is gone (libmosquitto has run the disconnect callback).
            while !stopping {
                sleepBeforeReconnect(failures)
                failures += 1
                guard !stopping else { break }
                if mosquitto_reconnect(mosq) == MOSQ_ERR_SUCCESS.rawValue {
                    refreshWakeReader()
                    break
                }
            }
            if stopping { return }
        }
    }

    /// Reads every packet that is already waiting, then writes what reading them queued.
    private func drainBurst(_ mosq: OpaquePointer) -> Int32 {
        var rc = MOSQ_ERR_SUCCESS.rawValue
        if mosquitto_socket(mosq) >= 0 {
            for _ in 0..<Self.burstLimit {
                // A read that would block ends the burst: libmosquitto then returns success
                // with errno EAGAIN. (Anything else leaving EAGAIN behind only ends a burst
                // early; the next wait returns at once while data is waiting.)
                errno = 0
                rc = mosquitto_loop_read(mosq, 1)
                if rc != MOSQ_ERR_SUCCESS.rawValue || errno == EAGAIN || errno == EWOULDBLOCK { break }
            }
        }
        // Every packet queued since the last write (a PUBACK each) left a wake-up byte; a
        // burst with nothing to write (QoS 0 heartbeats) left none, and is spared the read.
        guard mosquitto_want_write(mosq) else { return rc }
        if let wakeReader { WakePair.drain(wakeReader, buffer: drainBuffer) }
        if rc == MOSQ_ERR_SUCCESS.rawValue, mosquitto_socket(mosq) >= 0 {
            rc = mosquitto_loop_write(mosq, 1)
        }
        return rc
    }

    /// libmosquitto recreates its socketpair at every connect.
    private func refreshWakeReader() {
        let checked = pairSupport != .unavailable
        wakeReader = WakePair.checkedReader(of: handle.pointer, support: &pairSupport, buffer: drainBuffer)
        if wakeReader == nil && checked {
            logger.info("libmosquitto's wake-up socketpair is not where expected: one wait per packet")
        }
    }

    /// The reconnect delay, doubling from the minimum to the maximum; it is spent in short
    /// naps so that `stop` is not kept waiting for a whole delay.
    private func sleepBeforeReconnect(_ failures: UInt32) {
        let seconds = min(reconnectDelay.max, reconnectDelay.min << min(failures, 16))
        var remaining = Int(max(1, seconds)) * 1000
        while remaining > 0 && !stopping {
            let nap = min(remaining, 50)
            usleep(UInt32(nap * 1000))
            remaining -= nap
        }
    }
}

/// Where the message callback puts a burst's messages until `BurstLoop` hands them over.
/// It exists before the handle does (the callbacks are set up first).
///
/// Threading: the loop thread only (the message callback runs there).
final class BurstCollector: @unchecked Sendable {
    private var messages: [MQTTMessage] = []

    func append(_ message: MQTTMessage) {
        messages.append(message)
    }

    func take() -> [MQTTMessage] {
        defer { messages = [] }
        return messages
    }
}
