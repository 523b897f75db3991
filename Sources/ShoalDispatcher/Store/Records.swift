import Foundation
import GRDB
import ShoalCore

/// A row of `node`: the registry's durable copy.
struct NodeRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "node"
    var id: String
    var labels: [String: String]
    var online: Bool
    var version: String
    var bdSeq: Int64
    var heartbeatInterval: Double
    var firstSeen: Double
    var lastSeen: Double
    var clockOffset: Double?
    /// When `clockOffset` was last measured; memory only (not a column).
    var clockCheckedAt: Double?

    enum CodingKeys: String, CodingKey {
        case id, labels, online, version, bdSeq, heartbeatInterval, firstSeen, lastSeen, clockOffset
    }

    var view: NodeView {
        NodeView(id: id, labels: labels, online: online, version: version, firstSeen: firstSeen,
                 lastSeen: lastSeen, clockOffset: clockOffset)
    }
}

/// A row of `job`.
struct JobRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "job"
    /// `nodes` (the expected list, up to hundreds of KiB) is read only by recovery.
    static var databaseSelection: [any SQLSelectable] { [.allColumns(excluding: ["nodes"])] }
    enum Columns {
        static let createdAt = Column(CodingKeys.createdAt)
        static let finishedAt = Column(CodingKeys.finishedAt)
    }
    var id: String
    var selector: String
    var task: JobTask
    var timeout: Double
    var deadline: Double
    var createdAt: Double
    var expected: Int
    var finishedAt: Double?
}

/// A row of `execution`: one expected node of one job.
struct ExecutionRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "execution"
    enum Columns {
        static let job = Column(CodingKeys.job)
        static let node = Column(CodingKeys.node)
    }
    var job: String
    var node: String
    var state: ExecutionState
    var exitCode: Int32?
    var reason: String?
    var startedAt: Double?
    var finishedAt: Double?
    var updatedAt: Double
}

/// A row of `output_chunk`: numbered output, unique per (job, node, seq).
struct OutputChunkRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "output_chunk"
    enum Columns {
        static let job = Column(CodingKeys.job)
        static let node = Column(CodingKeys.node)
        static let seq = Column(CodingKeys.seq)
    }
    var job: String
    var node: String
    var seq: Int64
    var stream: String
    var data: String
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
