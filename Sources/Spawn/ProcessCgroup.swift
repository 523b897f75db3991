#if canImport(Glibc)
import Glibc
#endif
import Synchronization
// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A cgroup that holds one child's whole process tree, so that all of it can be killed:
/// a process group is left with one `setsid`, a cgroup cannot be left by its members.
///
/// cgroup v2 is used where this process can make a child cgroup that has `cgroup.kill`;
/// else the v1 `freezer` hierarchy (freeze, kill every member, thaw, so nothing forks in
/// between); else none can be made and `create` returns nil (the caller says so).
///
/// Thread-safe: every method is a few writes to cgroupfs.
public final class ProcessCgroup: Sendable {
    public enum Kind: String, Sendable { case v2, freezer }

    public let path: String
    public let kind: Kind
    /// Linux (seen on 6.18) kills at once every child created inside a v2 cgroup that has
    /// ever been killed through `cgroup.kill`, so only a cgroup that surely never was can
    /// take a child that way: one made here and not killed since.
    private let mayHaveBeenKilled: Atomic<Bool>

    private init(path: String, kind: Kind, fresh: Bool) {
        self.path = path
        self.kind = kind
        self.mayHaveBeenKilled = Atomic(!fresh)
    }

    /// A child can be created inside this cgroup (clone3 `CLONE_INTO_CGROUP`) rather than
    /// join it through an extra exec.
    public var takesChildrenAtCreation: Bool {
        kind == .v2 && !mayHaveBeenKilled.load(ordering: .acquiring)
    }

    /// The file a process writes its pid to in order to join.
    public var procsFile: String { path + "/cgroup.procs" }

    /// Makes a new cgroup named `name` (one path level), or nil when the machine allows none.
    public static func create(name: String) -> ProcessCgroup? {
        for (base, kind) in places {
            let path = base + "/" + name
            let made = mkdir(path, 0o755) == 0
            guard made || errno == EEXIST else { continue }
            if kind == .v2 && access(path + "/cgroup.kill", W_OK) != 0 {
                rmdir(path)
                continue
            }
            return ProcessCgroup(path: path, kind: kind, fresh: made)
        }
        return nil
    }

    /// Empties and removes the cgroups named `{prefix}{pid}-…` whose owner `pid` is no longer
    /// running (a process killed before it could remove its own); returns how many.
    @discardableResult
    public static func removeOrphans(prefix: String) -> Int {
        var removed = 0
        for (base, kind) in places {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
            for name in names where name.hasPrefix(prefix) {
                let owner = name.dropFirst(prefix.count).prefix { $0 != "-" }
                guard let pid = pid_t(owner), kill(pid, 0) != 0, errno == ESRCH else { continue }
                let orphan = ProcessCgroup(path: base + "/" + name, kind: kind, fresh: false)
                for _ in 0..<50 {
                    orphan.killAll()
                    if orphan.remove() { break }
                    usleep(2_000)
                }
                removed += 1
            }
        }
        return removed
    }

    /// Where new cgroups can go, looked up once: a process does not move between cgroups
    /// on its own, and mounts under /sys/fs/cgroup do not change under a running agent.
    private static let places = candidates()

    /// Where new cgroups can go: beside this process in the v2 tree, at the top of the v1 freezer.
    private static func candidates() -> [(String, Kind)] {
        var result: [(String, Kind)] = []
        let mounts = String(decoding: readFile("/proc/self/mountinfo") ?? [], as: UTF8.self)
        var v2Mount: String?, freezerMount: String?
        for line in mounts.split(separator: "\n") {
            // mountinfo: ... mount-point ... - fstype source options
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2 else { continue }
            let fields = halves[0].split(separator: " "), tail = halves[1].split(separator: " ")
            guard fields.count > 4, let fstype = tail.first else { continue }
            if fstype == "cgroup2" && v2Mount == nil { v2Mount = String(fields[4]) }
            if fstype == "cgroup" && tail.count > 2 && tail[2].split(separator: ",").contains("freezer") {
                freezerMount = String(fields[4])
            }
        }
        let own = String(decoding: readFile("/proc/self/cgroup") ?? [], as: UTF8.self)
        if let v2Mount, let line = own.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) {
            let relative = line.dropFirst(3)
            result.append((v2Mount + (relative == "/" ? "" : String(relative)), .v2))
        }
        if let freezerMount { result.append((freezerMount, .freezer)) }
        return result
    }

    public func members() -> [pid_t] {
        String(decoding: Self.readFile(procsFile) ?? [], as: UTF8.self).split(separator: "\n").compactMap { pid_t($0) }
    }

    /// Something is still in the cgroup (v2 says so in `cgroup.events` without a lock that
    /// other cgroups' changes take; v1 has to list its members).
    public var isPopulated: Bool {
        switch kind {
        case .v2:
            let events = String(decoding: Self.readFile(path + "/cgroup.events") ?? [], as: UTF8.self)
            return !events.split(separator: "\n").contains("populated 0")
        case .freezer:
            return !members().isEmpty
        }
    }

    /// Kills every member. Returns once none is left or after a bounded number of rounds.
    public func killAll() {
        mayHaveBeenKilled.store(true, ordering: .releasing)
        switch kind {
        case .v2:
            Self.writeFile(path + "/cgroup.kill", "1")
        case .freezer:
            for _ in 0..<20 {
                let pids = members()
                if pids.isEmpty { return }
                Self.writeFile(path + "/freezer.state", "FROZEN")
                for pid in pids { _ = kill(pid, SIGKILL) }
                Self.writeFile(path + "/freezer.state", "THAWED")
            }
        }
    }

    /// Removes the cgroup once its members are gone (killed processes linger a moment as
    /// zombies); true when it is gone.
    @discardableResult
    public func remove() -> Bool {
        rmdir(path) == 0 || errno == ENOENT
    }

    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            result += buffer[0..<count]
        }
        return result
    }

    @discardableResult
    static func writeFile(_ path: String, _ text: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
    }
}
