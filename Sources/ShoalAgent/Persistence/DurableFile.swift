// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Small helpers for files that must survive a crash of this process.
enum DurableFile {
    /// Writes to a temporary name, then renames: readers see the old or the new content,
    /// never a torn one. Without `sync` the data survives a killed process (it is in the
    /// page cache) but not a power cut.
    static func replace(_ path: String, with bytes: [UInt8], sync: Bool = false) throws {
        let temporary = path + ".tmp"
        try write(temporary, bytes, flags: O_WRONLY | O_CREAT | O_TRUNC, sync: sync)
        guard rename(temporary, path) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }

    /// Creates `path` only if it does not exist yet. Returns false when it already existed:
    /// the atomic test-and-set that makes a job run at most once per node.
    static func create(_ path: String, with bytes: [UInt8], sync: Bool) throws -> Bool {
        do {
            try write(path, bytes, flags: O_WRONLY | O_CREAT | O_EXCL, sync: sync)
            return true
        } catch let error as POSIXError where error.code == .EEXIST {
            return false
        }
    }

    private static func write(_ path: String, _ bytes: [UInt8], flags: Int32, sync: Bool) throws {
        let fd = open(path, flags | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw POSIXError(.init(rawValue: errno) ?? .EIO)
            }
            offset += written
        }
        if sync { fsync(fd) }
    }

    static func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { Array($0) }
    }
}
