// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
import Glibc
import ShoalCore

/// The I/O of following one file: `stat`, `open`, `pread`, around a pure `LogFollower`.
///
/// Not thread-safe: owned by the `LogShipper`'s poll loop.
final class FollowedFile {
    private(set) var follower: LogFollower
    private var descriptor: Int32 = -1
    /// The most one poll reads from a file (2.5 MB/s at 10 polls a second): a file growing
    /// faster is read on over the next polls. It bounds the lines one poll holds at once
    /// (each line is a string of its own: 1 MiB of short lines cost several MiB of heap).
    static let readPerPoll = 256 * 1024
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(follower: LogFollower) {
        self.follower = follower
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// New complete lines since the last call, in order; `opened`: the position where a
    /// file was (first) opened on the way, before any of those lines.
    func poll() -> (lines: [FollowedLine], opened: LogPosition?) {
        var lines: [FollowedLine] = []
        var opened: LogPosition?
        var budget = Self.readPerPoll
        // A few steps per poll: drain the old file, open the new one, read it.
        for _ in 0..<32 {
            switch follower.poll(path: Self.status(path: follower.source), open: descriptor >= 0 ? Self.status(descriptor) : nil) {
            case .wait:
                return (lines, opened)
            case .open(let offset, let ending):
                if let ending { lines.append(ending) }
                if descriptor >= 0 { close(descriptor) }
                descriptor = open(follower.source, O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0, let status = Self.status(descriptor) else {
                    if descriptor >= 0 { close(descriptor) }
                    descriptor = -1
                    follower.openFailed()
                    return (lines, opened)
                }
                // The file may have shrunk since it was looked at: never start past its end.
                follower.opened(status.identity, at: min(offset, status.size))
                if opened == nil { opened = follower.position }
            case .read(let offset):
                let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
                guard count > 0 else { return (lines, opened) }
                lines += follower.received(buffer[0..<count])
                budget -= count
                if budget <= 0 { return (lines, opened) }
            }
        }
        return (lines, opened)
    }

    private static func status(path: String) -> FileStatus? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileStatus(info)
    }

    private static func status(_ descriptor: Int32) -> FileStatus? {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        return FileStatus(info)
    }
}

extension FileStatus {
    init(_ info: stat) {
        self.init(identity: FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)),
                  size: UInt64(max(0, info.st_size)))
    }
}
