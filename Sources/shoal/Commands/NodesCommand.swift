import ArgumentParser
import Foundation
import Logging
import ShoalCommandLine
import ShoalClient
import ShoalCore

struct Nodes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the fleet's nodes; decide pending enrollments; cordon, quarantine or relabel one; forget one that is gone for good.",
        subcommands: [List.self, Approve.self, Reject.self, Cordon.self, Uncordon.self, Quarantine.self, Release.self, Label.self, Forget.self],
        defaultSubcommand: List.self)

    struct Forget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove an offline node from the registry for good.",
            discussion: """
                Its unfinished executions end `skipped`, and jobs no longer expect it. A node that \
                is online is refused: its agent would register it again at the next heartbeat.
                Example: shoal nodes forget edge-17
                """)

        @Argument(help: "The node id, as `shoal nodes` shows it.")
        var node: String

        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            guard TopicTree.isValidLevel(node) else { throw ValidationError("'\(node)' is not a node id; see `shoal nodes`") }
        }

        func run() async throws {
            let request = ForgetNodeRequest(node: node, actor: CLIRuntime.actor)
            let forgotten = try await CLIRuntime.withClient(connection) { client in
                try await client.request(.forgetNode, request, as: NodeView.self)
            }
            print("forgot node \(forgotten.id)")
        }
    }
}

extension Nodes {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the fleet's nodes, their labels and whether they are online.",
            discussion: """
                Metric values are selector keys here (the node's latest; disk_used_pct is its fullest mount).
                Examples:
                  shoal nodes -s 'region=eu,role=web' -o json
                  shoal nodes -s 'disk_used_pct>90'
                """)

        @Option(name: [.short, .long], help: "Only nodes matching this selector, e.g. 'region=eu,gpus>=1' or 'disk_used_pct>90'.")
        var selector: String = ""

        @Flag(name: .long, help: "Show every label, not just region, arch and role.")
        var labels = false

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try SelectorValidation.check(selector, all: true)
        }

        func run() async throws {
            let request = ListNodesRequest(selector: selector)
            let nodes = try await CLIRuntime.withClient(connection) { client in
                try await client.request(.listNodes, request, as: [NodeView].self)
            }
            output.print(nodes, table: {
                let keys = labels ? Array(Set(nodes.flatMap(\.labels.keys))).sorted() : ["region", "arch", "role"]
                var table = Table(headers: ["NODE", "STATUS", "STATE", "LAST SEEN", "CPU", "MEM", "DISK"] + keys.map { $0.uppercased() })
                let now = Date().timeIntervalSince1970
                table.rows = nodes.map { node in
                    [node.id, status(node), Self.state(node),
                     DurationText.format(max(0, now - node.lastSeen)) + " ago",
                     MetricsRendering.percent(node.metrics?["cpu_pct"]), MetricsRendering.percent(node.metrics?["mem_used_pct"]),
                     MetricsRendering.percent(node.metrics?["disk_used_pct"])]
                        + keys.map { node.labels[$0] ?? "-" }
                }
                return table
            }, footer: {
                let online = nodes.filter(\.online).count
                let waiting = nodes.filter { $0.enrollment == .pending }.count
                return "\n\(nodes.count) nodes, \(online) online, \(nodes.count - online) offline"
                    + (waiting > 0 ? "; \(waiting) pending: shoal nodes approve|reject NODE" : "")
            })
        }

        /// Online or offline, unless enrollment says more: a pending or rejected node gets no work.
        private func status(_ node: NodeView) -> String {
            switch node.enrollment {
            case .pending?: "pending"
            case .rejected?: "rejected"
            case .approved?, nil: node.online ? "online" : "offline"
            }
        }

        /// `active`, `cordoned`, `quarantined`; a quarantined node whose agent has not (yet)
        /// confirmed its isolation says so.
        static func state(_ node: NodeView) -> String {
            switch node.adminState {
            case .quarantined: node.isolated == true ? "quarantined" : "quarantined (not isolated yet)"
            case .active where node.isolated == true: "active (still isolated)"
            default: node.adminState.rawValue
            }
        }
    }
}
