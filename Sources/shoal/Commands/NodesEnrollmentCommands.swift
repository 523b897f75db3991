import ArgumentParser
import ShoalCommandLine
import ShoalCore

extension Nodes {
    /// `shoal nodes approve` and `shoal nodes reject`: one decision on one pending node.
    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a pending node: the broker accepts the password it enrolled with, and it gets work.",
            discussion: "Example: shoal nodes approve edge-17   (`shoal nodes` lists pending nodes)")

        @Argument(help: "The node id, as `shoal nodes` shows it.")
        var node: String

        @OptionGroup var connection: ConnectionOptions

        func validate() throws { try EnrollmentDecision.check(node) }

        func run() async throws {
            let view = try await EnrollmentDecision.send(.approveNode, node: node, connection)
            print("node \(view.id) is \(view.enrollment?.rawValue ?? "approved")")
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reject a node for good: it gets no work, and its credentials (if approved) are removed.",
            discussion: "Example: shoal nodes reject edge-17")

        @Argument(help: "The node id, as `shoal nodes` shows it.")
        var node: String

        @OptionGroup var connection: ConnectionOptions

        func validate() throws { try EnrollmentDecision.check(node) }

        func run() async throws {
            let view = try await EnrollmentDecision.send(.rejectNode, node: node, connection)
            print("node \(view.id) is \(view.enrollment?.rawValue ?? "rejected")")
        }
    }
}

private enum EnrollmentDecision {
    static func check(_ node: String) throws {
        guard TopicTree.isValidLevel(node), node.utf8.count <= Limits.labelBytes else {
            throw ValidationError("'\(Bounds.prefix(node, maxBytes: 80).text)' is not a node id; see `shoal nodes`")
        }
    }

    static func send(_ operation: APIOperation, node: String, _ connection: ConnectionOptions) async throws -> NodeView {
        let request = EnrollmentDecisionRequest(node: node, actor: CLIRuntime.actor)
        return try await CLIRuntime.withClient(connection) { client in
            try await client.request(operation, request, as: NodeView.self)
        }
    }
}
