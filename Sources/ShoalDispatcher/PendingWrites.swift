import ShoalCore

/// Changes the engine has made in memory but not yet committed, and the announcements that
/// must wait for that commit. One batch of inputs becomes one transaction.
struct PendingWrites {
    var nodes: [String: NodeRecord] = [:]
    var executions: [ExecutionKey: ExecutionRecord] = [:]
    var chunks: [OutputChunkRecord] = []
    var finishedJobs: [(String, Double)] = []
    /// Nodes removed from the registry (`nodes.forget`).
    var forgottenNodes: [String] = []
    /// In order of change; announced after the commit.
    var executionEvents: [ExecutionKey] = []
    var nodeEvents: [String] = []

    var isEmpty: Bool {
        nodes.isEmpty && executions.isEmpty && chunks.isEmpty && finishedJobs.isEmpty && forgottenNodes.isEmpty
    }

    /// Rows this commit would write.
    var rowCount: Int { nodes.count + executions.count + chunks.count }

    mutating func save(_ node: NodeRecord, announce: Bool) {
        nodes[node.id] = node
        if announce { nodeEvents.append(node.id) }
    }

    mutating func save(_ execution: ExecutionRecord) {
        let key = ExecutionKey(job: execution.job, node: execution.node)
        executions[key] = execution
        executionEvents.append(key)
    }
}

struct ExecutionKey: Hashable {
    var job: String
    var node: String
}
