#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization
import CSpawn

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
        /// The child is in this cgroup before it runs `arguments`, so every process it
        /// starts is in it; whatever is left there when the child exits is killed. A v2
        /// cgroup takes the child at its creation (clone3 `CLONE_INTO_CGROUP`); a v1 one,
        /// or a kernel without that, through a `/bin/sh` step that writes its own pid and
        /// then execs (one more exec, ~0.5 ms, see bench/README.md).
        public var cgroup: ProcessCgroup?

        /// `arguments[0]` is looked up on `PATH`.
        public init(
            arguments: [String],
            environment: [String: String]? = nil,
            newProcessGroup: Bool = true,
            captureOutput: Bool = true,
            cgroup: ProcessCgroup? = nil
        ) {
            self.arguments = arguments
            self.environment = environment
            self.newProcessGroup = newProcessGroup
            self.captureOutput = captureOutput
            self.cgroup = cgroup
        }

        /// What is executed when the child cannot be created inside its cgroup: the joining
        /// step first.
        var joiningThroughShell: [String] {
            guard let cgroup else { return arguments }
            return ["/bin/sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", cgroup.procsFile] + arguments
        }
    }

    public let pid: pid_t
    public let processGroup: pid_t?
    private let state: Mutex<State>

    private struct State: ~Copyable {
        var exited = false
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
        guard let first = options.arguments.first, !first.isEmpty else {
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
        let environment = options.environment.map { overrides in
            ProcessInfo.processInfo.environment.merging(overrides) { _, new in new }
        } ?? ProcessInfo.processInfo.environment
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var rc = ENOSYS
        var pid: pid_t = 0
        if let cgroup = options.cgroup, cgroup.takesChildrenAtCreation {
            rc = spawnInsideCgroup(cgroup, options, envp: envp, out: outPipe[1], err: errPipe[1], pid: &pid)
        }
        if Self.cannotCloneIntoCgroup(rc) {
            rc = posixSpawn(options, arguments: options.joiningThroughShell, envp: envp,
                            out: outPipe[1], err: errPipe[1], pid: &pid)
        }
        if options.captureOutput {
            close(outPipe[1])
            close(errPipe[1])
        }
        guard rc == 0 else {
            if options.captureOutput {
                close(outPipe[0])
                close(errPipe[0])
            }
            throw SpawnError(message: "cannot start '\(first)'", errno: rc)
        }
        let child = ChildProcess(pid: pid, processGroup: options.newProcessGroup ? pid : nil)
        let fds = options.captureOutput ? [(outPipe[0], Stream.stdout), (errPipe[0], Stream.stderr)] : []
        // 256 KiB of stack: the reaper's read buffer is on the heap.
        let started = DetachedThread.start(name: "reap-\(pid)", stackSize: 256 * 1024) {
            child.reap(fds: fds, cgroup: options.cgroup, onOutput: onOutput, onExit: onExit)
        }
        guard started == 0 else {
            // Nobody would ever read its output or collect its status: undo the start.
            child.kill(SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            for (fd, _) in fds { close(fd) }
            throw SpawnError(message: "cannot start a reaper thread for '\(first)'", errno: started)
        }
        return child
    }

    /// Errors that say "not this way" rather than "this command cannot run": an old kernel
    /// (no clone3), a cgroup that cannot take a process at creation, a sandbox that forbids it.
    private static func cannotCloneIntoCgroup(_ rc: Int32) -> Bool {
        [ENOSYS, EINVAL, EOPNOTSUPP, EBADF, EPERM, E2BIG].contains(rc)
    }

    private static func spawnInsideCgroup(
        _ cgroup: ProcessCgroup, _ options: Options, envp: [UnsafeMutablePointer<CChar>?],
        out: Int32, err: Int32, pid: inout pid_t
    ) -> Int32 {
        let directory = open(cgroup.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { return EBADF }
        defer { close(directory) }
        let argv = options.arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        return shoal_spawn_into_cgroup(
            &pid, options.arguments[0], argv, envp, directory,
            options.captureOutput ? out : -1, options.captureOutput ? err : -1, options.newProcessGroup ? 1 : 0)
    }

    private static func posixSpawn(
        _ options: Options, arguments: [String], envp: [UnsafeMutablePointer<CChar>?],
        out: Int32, err: Int32, pid: inout pid_t
    ) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if options.captureOutput {
            posix_spawn_file_actions_adddup2(&actions, out, 1)
            posix_spawn_file_actions_adddup2(&actions, err, 2)
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
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        return posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
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

    /// The child has ended but the reaper has not collected it yet: after this process was
    /// stopped (SIGSTOP, a stalled VM), the child's end and the caller's time limit can
    /// come due at the same moment, and only the kernel knows which came first. Looked at
    /// without reaping (`WNOWAIT`), so the reaper still collects the status.
    private var hasEndedUnreaped: Bool {
        var info = siginfo_t()
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info._sifields._kill.si_pid == pid
    }

    /// The child has exited (its status is collected); its output may still be draining.
    public var hasExited: Bool { state.withLock { $0.exited } }

    /// Kills the child's process group, and its cgroup when it has one, unless the child
    /// has already exited. True when it was still running: the caller's limit killed it.
    public func killIfRunning(cgroup: ProcessCgroup? = nil) -> Bool {
        let running = state.withLock { !$0.exited }
        guard running, !hasEndedUnreaped else { return false }
        kill(SIGKILL)
        cgroup?.killAll()
        return true
    }

    private func reap(
        fds: [(Int32, Stream)], cgroup: ProcessCgroup?, onOutput: @Sendable (Stream, [UInt8]) -> Void,
        onExit: @Sendable (Termination) -> Void
    ) {
        var open = fds
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var status: Int32 = 0
        var exited = false
        // Output still read after the child has exited, when something it started holds
        // the pipes open (without a cgroup to end it): enough for what was already written,
        // never for ever.
        var drainBudget = 1024 * 1024
        while !open.isEmpty {
            if !exited && waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                state.withLock { $0.exited = true }
                // Whatever the child left behind ends with it; the pipes then close. Most
                // jobs leave nothing, and a kill would wait on a kernel-wide lock.
                if let cgroup, cgroup.isPopulated { cgroup.killAll() }
            }
            var pollSet = open.map { pollfd(fd: $0.0, events: Int16(POLLIN), revents: 0) }
            // A bounded wait, so the child's exit is noticed while the pipes stay open.
            let ready = poll(&pollSet, nfds_t(pollSet.count), exited ? 0 : 200)
            if ready < 0 && errno != EINTR { break }
            if exited && (ready == 0 || drainBudget <= 0) { break }
            var closed: [Int32] = []
            for entry in pollSet where entry.revents != 0 {
                let stream = open.first { $0.0 == entry.fd }!.1
                let count = read(entry.fd, &buffer, buffer.count)
                if count > 0 {
                    if exited { drainBudget -= count }
                    onOutput(stream, Array(buffer[0..<count]))
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    closed.append(entry.fd)
                }
            }
            for fd in closed {
                close(fd)
                open.removeAll { $0.0 == fd }
            }
        }
        for (fd, _) in open { close(fd) }
        if !exited {
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            state.withLock { $0.exited = true }
            if let cgroup, cgroup.isPopulated { cgroup.killAll() }
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

/// A detached POSIX thread running one closure: each child's reaper, and any module the
/// agent links that needs a thread of its own.
///
/// Why not Foundation's `Thread`: it is the one thing this module needed from full
/// Foundation, which the agent must not load (see bench/README.md, agent-rss).
public enum DetachedThread {
    /// The closure, boxed so it can travel through `pthread_create`'s `void *` argument.
    private final class Body: Sendable {
        let name: String
        let run: @Sendable () -> Void
        init(name: String, run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }

    /// Starts `body` on a new detached thread named `name` (Linux keeps the first 15
    /// bytes), with a stack of `stackSize` bytes (nil: the system default, 8 MiB of address
    /// space). Returns 0, or the error number of `pthread_create`, in which case `body`
    /// never runs.
    ///
    /// Ownership: `passRetained` gives the box a +1 reference that belongs to the new
    /// thread, which takes it back (`takeRetainedValue`) as its first step, so the box and
    /// everything `body` captured are released when `body` returns. If the thread cannot be
    /// created, that reference is released here instead.
    public static func start(name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) -> Int32 {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        if let stackSize { pthread_attr_setstacksize(&attributes, stackSize) }
        let argument = Unmanaged.passRetained(Body(name: name, run: body)).toOpaque()
        var thread = pthread_t()
        // The entry point is a C function: it cannot capture, hence the qualified call.
        let result = pthread_create(&thread, &attributes, { argument in
            let body = Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue()
            DetachedThread.nameCurrentThread(body.name)
            body.run()
            return nil
        }, argument)
        if result != 0 { Unmanaged<Body>.fromOpaque(argument).release() }
        return result
    }

    /// For `top -H` and debuggers. Through /proc because Swift's Glibc module does not
    /// export `pthread_setname_np` (a GNU extension); a failure only leaves the name unset.
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}

public struct SpawnError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let errno: Int32
    public var description: String {
        errno == 0 ? message : "\(message): \(String(cString: strerror(errno)))"
    }
}
