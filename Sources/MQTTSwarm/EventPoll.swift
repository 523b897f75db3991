import Mosquitto
import CLinux
import Glibc

/// An epoll set plus the eventfd that wakes it from other threads.
///
/// Threading: created by `MQTTSwarm.init`, then used by the loop thread only, except for
/// `wake()`, which `SwarmCommandQueue` calls from any thread under its lock; the loop
/// closes the descriptors only after that queue is closed, so no wake can reach a closed
/// (or reused) descriptor number.
final class EventPoll: Sendable {
    /// Token of the eventfd in `epoll_event.data.u64`; clients use their index.
    static let wakeToken = UInt64.max

    let epollFD: Int32
    let wakeFD: Int32

    init() throws(MQTTSwarmError) {
        epollFD = try MQTTSwarmError.check(epoll_create1(Int32(EPOLL_CLOEXEC)), "epoll_create1")
        let wake = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard wake >= 0 else {
            let code = errno
            Glibc.close(epollFD)
            throw .system(operation: "eventfd", errno: code)
        }
        wakeFD = wake
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = Self.wakeToken
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event) == 0 else {
            let code = errno
            Glibc.close(wakeFD)
            Glibc.close(epollFD)
            throw .system(operation: "epoll_ctl(eventfd)", errno: code)
        }
    }

    /// Makes the next (or current) `epoll_wait` return. Any thread.
    func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Resets the eventfd after a wake-up. Loop thread.
    func drainWake() {
        var value: UInt64 = 0
        _ = read(wakeFD, &value, 8)
    }

    /// Registers `fd` (or changes its events). `token` comes back in every event for it.
    func register(_ fd: Int32, events: UInt32, token: UInt64, isNew: Bool) throws(MQTTSwarmError) {
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        if epoll_ctl(epollFD, isNew ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event) == 0 { return }
        // The kernel's view differs from ours (a closed-and-reused number, or a registration
        // dropped when the descriptor closed): take the other operation.
        let fallback = errno == EEXIST ? EPOLL_CTL_MOD : errno == ENOENT ? EPOLL_CTL_ADD : -1
        guard fallback >= 0, epoll_ctl(epollFD, fallback, fd, &event) == 0 else {
            throw .system(operation: "epoll_ctl(\(fd))", errno: errno)
        }
    }

    /// Waits for events, at most `timeout` milliseconds (-1: no limit). EINTR counts as none.
    func wait(into buffer: UnsafeMutableBufferPointer<epoll_event>, timeout: Int32) throws(MQTTSwarmError) -> Int {
        let count = epoll_wait(epollFD, buffer.baseAddress, Int32(buffer.count), timeout)
        if count < 0 {
            if errno == EINTR { return 0 }
            throw .system(operation: "epoll_wait", errno: errno)
        }
        return Int(count)
    }

    /// Loop thread, once the command queue is closed.
    func close() {
        Glibc.close(wakeFD)
        Glibc.close(epollFD)
    }
}
