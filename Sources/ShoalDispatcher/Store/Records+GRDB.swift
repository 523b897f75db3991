import Foundation
import GRDB
import ShoalCore
import ShoalEngine

// The engine's records as rows: table names and columns, nothing else.

extension NodeRecord: FetchableRecord, PersistableRecord {
    package static let databaseTableName = "node"
}

extension EnrollmentRecord: FetchableRecord, PersistableRecord {
    package static let databaseTableName = "enrollment"
}

extension JobRecord: FetchableRecord, PersistableRecord {
    package static let databaseTableName = "job"
    /// `nodes` (the expected list, up to hundreds of KiB) is read only by recovery.
    package static var databaseSelection: [any SQLSelectable] { [.allColumns(excluding: ["nodes"])] }
    package enum Columns {
        static let createdAt = Column("createdAt")
        static let finishedAt = Column("finishedAt")
    }
}

extension ExecutionRecord: FetchableRecord, PersistableRecord {
    package static let databaseTableName = "execution"
    package enum Columns {
        static let job = Column("job")
        static let node = Column("node")
    }
}

extension OutputChunkRecord: FetchableRecord, PersistableRecord {
    package static let databaseTableName = "output_chunk"
    package enum Columns {
        static let job = Column("job")
        static let node = Column("node")
        static let seq = Column("seq")
    }
}

/// `job.nodes`: a job's expected node ids, NUL-separated (a node id never holds a NUL:
/// `TopicTree.isValidLevel`).
enum ExpectedNodes {
    static func encode(_ nodes: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(nodes.reduce(0) { $0 + $1.utf8.count + 1 })
        for (index, node) in nodes.enumerated() {
            if index > 0 { bytes.append(0) }
            bytes.append(contentsOf: node.utf8)
        }
        return bytes
    }

    static func decode(_ bytes: Data) -> [String] {
        guard !bytes.isEmpty else { return [] }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }
}
