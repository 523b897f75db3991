import Mosquitto
import Synchronization

/// Work handed to the loop thread from elsewhere.
enum SwarmCommand: Sendable {
    /// Runs `body` on the loop; if the swarm stops first, `dropped` runs instead (so that a
    /// waiting caller is always answered).
    case run(_ body: @Sendable (SwarmLoop) -> Void, dropped: @Sendable () -> Void)
    /// Begins the clean shutdown.
    case stop
}

/// The only way into the loop from other threads: a `Mutex`-guarded queue plus the
/// eventfd that wakes epoll. Thread-safe.
///
/// The eventfd is written only on the empty-to-pending transition (one syscall per batch,
/// not per command), and only under the lock, which `close()` also takes: after `close()`
/// nothing writes to the descriptor, and later commands are dropped at once.
final class SwarmCommandQueue: Sendable {
    private struct State {
        var commands: [SwarmCommand] = []
        var wakePending = false
        var open = true
    }

    private let state = Mutex(State())
    private let poll: EventPoll

    init(poll: EventPoll) {
        self.poll = poll
    }

    func enqueue(_ command: SwarmCommand) {
        let accepted = state.withLock { state in
            guard state.open else { return false }
            state.commands.append(command)
            if !state.wakePending {
                state.wakePending = true
                poll.wake()
            }
            return true
        }
        if !accepted, case .run(_, let dropped) = command { dropped() }
    }

    /// Everything queued so far. Loop thread, after the eventfd fired.
    func take() -> [SwarmCommand] {
        state.withLock { state in
            state.wakePending = false
            defer { state.commands = [] }
            return state.commands
        }
    }

    /// Refuses further commands and returns those never run. Loop thread, at the end.
    func close() -> [SwarmCommand] {
        state.withLock { state in
            state.open = false
            defer { state.commands = [] }
            return state.commands
        }
    }
}
