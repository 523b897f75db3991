import ShoalCore

/// Changes the engine has made in memory but not yet committed, and the announcements that
/// must wait for that commit. One batch of inputs becomes one transaction.
package struct PendingWrites: Sendable {
    package init() {}

    package var nodes: [String: NodeRecord] = [:]
    package var executions: [ExecutionKey: ExecutionRecord] = [:]
    package var chunks: [OutputChunkRecord] = []
    package var finishedJobs: [(String, Double)] = []
    /// Nodes removed from the registry (`nodes.forget`).
    package var forgottenNodes: [String] = []
    /// Enrollment requests and decisions.
    package var enrollments: [String: EnrollmentRecord] = [:]
    /// Cancel requests to keep until their jobs are deleted.
    package var cancellations: [CancellationRecord] = []
    /// Operators' actions, for the append-only audit record.
    package var audit: [AuditRecord] = []
    /// Metrics: raw samples, and rollups of closed minutes (added to any stored for that minute).
    package var metricSamples: [MetricSampleRecord] = []
    package var metricRollups: [MetricRollupRecord] = []
    /// Log lines and drop notes to store, announced after the commit (`events/logs/...`).
    package var logEntries: [LogEntryRecord] = []
    /// Per node and source, the highest line number this batch stores (or had stored
    /// already): told to the node after the commit (`node/{id}/logs/ack`).
    package var logAcks: [String: [String: UInt64]] = [:]
    /// Rollouts that changed (a batch released, a wait begun, a pause, an abort), by job.
    package var rollouts: [String: Rollout] = [:]
    /// Jobs for the nodes of released batches: published once this batch is committed, so
    /// that a dispatcher killed in between releases the batch again (to the same nodes,
    /// whose ledgers run it once) instead of forgetting that it went out.
    package var afterCommit: [Publication] = []
    /// Output chunks that arrived as chunks (not inside a terminal report) in this batch, by
    /// job, for the followers of its events (`JobEvent.output`).
    package var liveOutput: [String: [OutputChunkView]] = [:]
    /// In order of change; announced after the commit.
    package var executionEvents: [ExecutionKey] = []
    package var nodeEvents: [String] = []

    package var isEmpty: Bool {
        nodes.isEmpty && executions.isEmpty && chunks.isEmpty && finishedJobs.isEmpty && forgottenNodes.isEmpty
            && enrollments.isEmpty && cancellations.isEmpty && audit.isEmpty && metricSamples.isEmpty && metricRollups.isEmpty
            && logEntries.isEmpty && logAcks.isEmpty && rollouts.isEmpty && afterCommit.isEmpty
    }

    /// Rows this commit would write.
    package var rowCount: Int {
        nodes.count + executions.count + chunks.count + enrollments.count + cancellations.count + audit.count
            + metricSamples.count + metricRollups.count + logEntries.count + rollouts.count
    }

    package mutating func save(_ node: NodeRecord, announce: Bool) {
        nodes[node.id] = node
        if announce { nodeEvents.append(node.id) }
    }

    package mutating func save(_ execution: ExecutionRecord) {
        let key = ExecutionKey(job: execution.job, node: execution.node)
        executions[key] = execution
        executionEvents.append(key)
    }
}

package struct ExecutionKey: Hashable, Sendable {
    package var job: String
    package var node: String

    package init(job: String, node: String) {
        self.job = job
        self.node = node
    }
}
