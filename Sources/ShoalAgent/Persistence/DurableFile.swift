// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Small helpers for files that must survive a crash of this process.
///
/// A failed write leaves nothing behind (no half-written file, no `*.tmp`), so that a full
/// disk costs the write in progress and nothing after it.
enum DurableFile {
    /// Writes to a temporary name, then renames: readers see the old or the new content,
    /// never a torn one. Without `sync` the data survives a killed process (it is in the
    /// page cache) but not a power cut; with it, the data and the rename (the directory
    /// entry) are on disk when this returns.
    static func replace(_ path: String, with bytes: [UInt8], sync: Bool = false) throws {
        let temporary = path + ".tmp"
        do {
            try write(temporary, bytes, flags: O_WRONLY | O_CREAT | O_TRUNC, sync: sync)
            try check(rename(temporary, path))
        } catch {
            unlink(temporary)
            throw error
        }
        if sync { try syncDirectory(of: path) }
    }

    /// Creates `path` only if it does not exist yet. Returns false when it already existed:
    /// the atomic test-and-set that makes a job run at most once per node. A write that
    /// fails removes the file again: a claim must be whole or absent, never an empty file
    /// that blocks the job for good.
    static func create(_ path: String, with bytes: [UInt8], sync: Bool) throws -> Bool {
        do {
            try write(path, bytes, flags: O_WRONLY | O_CREAT | O_EXCL, sync: sync, removeOnFailure: true)
        } catch let error as POSIXError where error.code == .EEXIST {
            return false
        }
        if sync {
            do {
                try syncDirectory(of: path)
            } catch {
                unlink(path)
                throw error
            }
        }
        return true
    }

    private static func write(_ path: String, _ bytes: [UInt8], flags: Int32, sync: Bool,
                              removeOnFailure: Bool = false) throws {
        let fd = open(path, flags | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError.current }
        do {
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw POSIXError.current
                }
                offset += written
            }
            // fsync is where a full disk or an I/O error shows on some file systems.
            if sync { try check(fsync(fd)) }
        } catch {
            close(fd)
            if removeOnFailure { unlink(path) }
            throw error
        }
        // close can report a deferred write error (NFS, quota).
        if close(fd) != 0 {
            let error = POSIXError.current
            if removeOnFailure { unlink(path) }
            throw error
        }
    }

    /// A created or renamed file survives a power cut only once its directory entry does.
    private static func syncDirectory(of path: String) throws {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError.current }
        defer { close(fd) }
        try check(fsync(fd))
    }

    private static func check(_ result: Int32) throws {
        if result != 0 { throw POSIXError.current }
    }

    static func read(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { Array($0) }
    }
}

extension POSIXError {
    /// The error `errno` names now.
    static var current: POSIXError { POSIXError(.init(rawValue: errno) ?? .EIO) }
}
