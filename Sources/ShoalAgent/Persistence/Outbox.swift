// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Synchronization

/// Messages the broker has not acknowledged yet, one file each under `{data}/outbox/`,
/// named by a sequence number so that replay keeps their order. A message is written
/// here before it is published and removed on PUBACK; after a restart the agent publishes
/// whatever is left (the dispatcher ignores duplicates).
///
/// Thread-safe: the sequence counter is behind a mutex; files are written atomically.
public final class Outbox: Sendable {
    public struct Entry: Sendable, Equatable {
        public var sequence: UInt64
        public var topic: String
        public var payload: [UInt8]
    }

    private let directory: String
    private let nextSequence: Mutex<UInt64>

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let highest = Self.sequences(in: directory).max() ?? 0
        nextSequence = Mutex(highest + 1)
    }

    public func append(topic: String, payload: [UInt8]) throws -> UInt64 {
        let sequence = nextSequence.withLock { value in
            defer { value += 1 }
            return value
        }
        // Topic on the first line, payload after it: topics never hold a newline.
        try DurableFile.replace(path(sequence), with: Array(topic.utf8) + [0x0a] + payload)
        return sequence
    }

    public func remove(_ sequence: UInt64) {
        unlink(path(sequence))
    }

    public func pending() -> [Entry] {
        Self.sequences(in: directory).sorted().compactMap { sequence in
            guard let bytes = DurableFile.read(path(sequence)),
                  let newline = bytes.firstIndex(of: 0x0a) else { return nil }
            return Entry(sequence: sequence, topic: String(decoding: bytes[..<newline], as: UTF8.self),
                         payload: Array(bytes[(newline + 1)...]))
        }
    }

    private func path(_ sequence: UInt64) -> String {
        let digits = String(sequence)
        return "\(directory)/\(String(repeating: "0", count: max(0, 20 - digits.count)))\(digits).msg"
    }

    private static func sequences(in directory: String) -> [UInt64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".msg") }.compactMap { UInt64($0.dropLast(4)) }
    }
}
