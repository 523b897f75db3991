#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A child process started with `posix_spawnp`, leader of its own process group, whose
/// stdout and stderr are read by a dedicated reaper thread.
///
/// Why not `Foundation.Process`: Shoal must kill a job's whole process tree on timeout,
/// which needs the child to lead its own process group, and it must read output without
/// blocking the two threads of Swift's cooperative pool on this class of machine.
///
/// Threading: all methods are thread-safe. `onOutput` is called on the reaper thread, in
/// the order bytes were read, and never after `wait()` has returned.
public final class ChildProcess: Sendable {
    public enum Stream: String, Sendable, Codable { case stdout, stderr }

    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)

        /// Shell convention: 128 + signal for a signalled process.
        public var exitCode: Int32 {
            switch self {
            case .exited(let code): code
            case .signaled(let signal): 128 + signal
            }
        }
    }

    public struct Options: Sendable {
        public var arguments: [String]
        public var environment: [String: String]?
        public var newProcessGroup: Bool
        public var captureOutput: Bool

        /// `arguments[0]` is looked up on `PATH`.
        public init(
            arguments: [String],
            environment: [String: String]? = nil,
            newProcessGroup: Bool = true,
            captureOutput: Bool = true
        ) {
            self.arguments = arguments
            self.environment = environment
            self.newProcessGroup = newProcessGroup
            self.captureOutput = captureOutput
        }
    }

    public let pid: pid_t
    public let processGroup: pid_t?
    private let state: Mutex<State>

    private struct State: ~Copyable {
        var termination: Termination?
        var waiters: [CheckedContinuation<Termination, Never>] = []
    }

    private init(pid: pid_t, processGroup: pid_t?) {
        self.pid = pid
        self.processGroup = processGroup
        self.state = Mutex(State())
    }

    /// Starts the process. Throws `SpawnError` when it cannot be started (for example, no
    /// such executable), so a caller can tell "did not start" from "exited non-zero".
    public static func spawn(
        _ options: Options,
        onOutput: @escaping @Sendable (Stream, [UInt8]) -> Void = { _, _ in },
        onExit: @escaping @Sendable (Termination) -> Void = { _ in }
    ) throws(SpawnError) -> ChildProcess {
        guard let executable = options.arguments.first, !executable.isEmpty else {
            throw SpawnError(message: "no command given", errno: 0)
        }
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        if options.captureOutput {
            guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
                throw SpawnError(message: "pipe failed", errno: errno)
            }
            // Close-on-exec so that other children spawned concurrently do not inherit them
            // (a leaked write end would keep a reader waiting for EOF).
            for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if options.captureOutput {
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
            posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Children start with default signal dispositions and an empty mask whatever the
        // parent (which ignores SIGPIPE, as servers do) has set.
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var flags = Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        if options.newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let environment = options.environment.map { overrides in
            ProcessInfo.processInfo.environment.merging(overrides) { _, new in new }
        } ?? ProcessInfo.processInfo.environment
        let argv = options.arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
        if options.captureOutput {
            close(outPipe[1])
            close(errPipe[1])
        }
        guard rc == 0 else {
            if options.captureOutput {
                close(outPipe[0])
                close(errPipe[0])
            }
            throw SpawnError(message: "cannot start '\(executable)'", errno: rc)
        }
        let child = ChildProcess(pid: pid, processGroup: options.newProcessGroup ? pid : nil)
        let fds = options.captureOutput ? [(outPipe[0], Stream.stdout), (errPipe[0], Stream.stderr)] : []
        let reaper = Thread { child.reap(fds: fds, onOutput: onOutput, onExit: onExit) }
        reaper.name = "shoal.reaper.\(pid)"
        reaper.stackSize = 256 * 1024
        reaper.start()
        return child
    }

    /// Waits until the process has exited and all its output has been delivered.
    public func wait() async -> Termination {
        await withCheckedContinuation { continuation in
            let done: Termination? = state.withLock { state in
                if let termination = state.termination { return termination }
                state.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    public var termination: Termination? { state.withLock { $0.termination } }

    /// Sends `signal` to the whole process group when the child leads one, else to the child.
    public func kill(_ signal: Int32 = SIGKILL) {
        guard termination == nil else { return }
        if let group = processGroup {
            _ = Glibc.kill(-group, signal)
        } else {
            _ = Glibc.kill(pid, signal)
        }
    }

    private func reap(
        fds: [(Int32, Stream)], onOutput: @Sendable (Stream, [UInt8]) -> Void, onExit: @Sendable (Termination) -> Void
    ) {
        var open = fds
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var status: Int32 = 0
        var exited = false
        while !open.isEmpty {
            var pollSet = open.map { pollfd(fd: $0.0, events: Int16(POLLIN), revents: 0) }
            // A bounded wait: a grandchild that inherited the pipes can keep them open after
            // the child exits; then we stop reading once the child itself is gone.
            let ready = poll(&pollSet, nfds_t(pollSet.count), 200)
            if ready < 0 && errno != EINTR { break }
            var closed: [Int32] = []
            for entry in pollSet where entry.revents != 0 {
                let stream = open.first { $0.0 == entry.fd }!.1
                let count = read(entry.fd, &buffer, buffer.count)
                if count > 0 {
                    onOutput(stream, Array(buffer[0..<count]))
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    closed.append(entry.fd)
                }
            }
            for fd in closed {
                close(fd)
                open.removeAll { $0.0 == fd }
            }
            if !open.isEmpty && ready == 0 && waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                break
            }
        }
        for (fd, _) in open { close(fd) }
        if !exited {
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        let termination: Termination = (status & 0x7f) == 0
            ? .exited((status >> 8) & 0xff)
            : .signaled(status & 0x7f)
        onExit(termination)
        let waiters = state.withLock { state in
            state.termination = termination
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume(returning: termination) }
    }
}

public struct SpawnError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let errno: Int32
    public var description: String {
        errno == 0 ? message : "\(message): \(String(cString: strerror(errno)))"
    }
}
