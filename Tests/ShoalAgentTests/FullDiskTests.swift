import Foundation
import Glibc
import Logging
import ShoalCore
import ShoalTestSupport
import Spawn
import Testing

@testable import ShoalAgent

/// The agent's durable files on a full disk: a 64 KiB tmpfs, filled. Writes fail cleanly and
/// leave nothing behind (no half-written claim, no `*.tmp`), and the agent still starts.
@Suite(.serialized) struct FullDiskTests {
    @Test func outboxAndLedgerWritesFailCleanlyWhenTheDiskIsFull() async throws {
        try await withFullDisk { directory, filler in
            let outbox = try Outbox(directory: directory + "/outbox")
            let ledger = try ExecutionLedger(directory: directory + "/ledger")
            #expect(throws: POSIXError.self) { try outbox.append(topic: "t", payload: Array(repeating: 1, count: 1024)) }
            #expect(throws: POSIXError.self) { try ledger.claim("job-1", at: 1) }
            #expect(leftovers(in: directory) == [])
            // A failed claim leaves no file, so the job is not claimed-but-never-run.
            #expect(ledger.entry("job-1") == nil)
            #expect(outbox.pending().isEmpty)

            // Once there is room again, both work.
            unlink(filler)
            #expect(try ledger.claim("job-1", at: 2))
            _ = try outbox.append(topic: "t", payload: [1])
            #expect(outbox.pending().count == 1)
        }
    }

    @Test func aReplacedFileKeepsItsOldContentWhenTheNewOneCannotBeWritten() async throws {
        try await withFullDisk { directory, _ in
            let path = directory + "/kept"
            // Written before the disk was full (the filler leaves no room for more).
            #expect(DurableFile.read(path) == Array("old".utf8))
            #expect(throws: POSIXError.self) {
                try DurableFile.replace(path, with: Array(repeating: 7, count: 8192), sync: true)
            }
            #expect(DurableFile.read(path) == Array("old".utf8))
            #expect(leftovers(in: directory) == [])
        } before: { directory in
            try DurableFile.replace(directory + "/kept", with: Array("old".utf8), sync: true)
        }
    }

    @Test func theBirthSequenceFallsBackWhenItCannotBeRecorded() async throws {
        try await withFullDisk { directory, _ in
            #expect(BirthSequence.next(in: directory, logger: testLogger("agent")) == 42)
            #expect(leftovers(in: directory) == [])
        } before: { directory in
            try DurableFile.replace(directory + "/bdseq", with: Array("41".utf8), sync: true)
        }
    }
}

/// Files a failed write should not have left: temporaries, and empty files.
private func leftovers(in directory: String) -> [String] {
    var found: [String] = []
    let enumerator = FileManager.default.enumerator(atPath: directory)
    while let name = enumerator?.nextObject() as? String {
        let path = directory + "/" + name
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
        if name.hasSuffix(".tmp") || info.st_size == 0 { found.append(name) }
    }
    return found.filter { !$0.hasSuffix("filler") }
}

/// A 64 KiB tmpfs mounted on a temporary directory, `before` run on it, then filled to the
/// last byte by one file (its path is passed on, to make room again). Unmounted on every
/// exit path.
private func withFullDisk(
    _ body: (_ directory: String, _ filler: String) async throws -> Void,
    before: (String) throws -> Void = { _ in }
) async throws {
    try await withTemporaryDirectory("shoal-full-disk") { mountPoint in
        try #require(try await run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mountPoint]) == 0,
                     "mounting a tmpfs needs root")
        do {
            try before(mountPoint)
            let filler = mountPoint + "/filler"
            let fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            try #require(fd >= 0)
            // Pages first, then single bytes: tmpfs counts whole pages.
            for size in [4096, 1] {
                let block = [UInt8](repeating: 0, count: size)
                while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == size {}
            }
            close(fd)
            try await body(mountPoint, filler)
        } catch {
            _ = try? await run(["umount", mountPoint])
            throw error
        }
        #expect(try await run(["umount", mountPoint]) == 0)
    }
}

private func run(_ arguments: [String]) async throws -> Int32 {
    try await ChildProcess.spawn(.init(arguments: arguments)).wait().exitCode
}
