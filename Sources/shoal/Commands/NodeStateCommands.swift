import ArgumentParser
import Foundation
import ShoalCommandLine
import ShoalClient
import ShoalCore

/// What `cordon`, `uncordon`, `quarantine` and `release` share: one node, one operation.
struct NodeStateOptions: ParsableArguments {
    @Argument(help: "The node id, as `shoal nodes` shows it.")
    var node: String

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard TopicTree.isValidLevel(node) else { throw ValidationError("'\(node)' is not a node id; see `shoal nodes`") }
    }

    /// `signed`: the control operation the node's agent is sent (quarantine, release),
    /// signed with `signing`'s key when there is one.
    func send(_ operation: APIOperation, done: String, signed control: ControlMessage.Operation? = nil,
              signing: SigningOptions? = nil) async throws {
        var request = NodeStateRequest(node: node, actor: CLIRuntime.actor)
        if let control, let signing { request.signature = try signing.sign(request.signingContent(of: control)) }
        let signedRequest = request
        let view = try await CLIRuntime.withClient(connection) { try await $0.request(operation, signedRequest, as: NodeView.self) }
        print("\(done) node \(view.id) (state: \(Nodes.List.state(view)))")
    }
}

extension Nodes {
    struct Cordon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a node no new work; what runs there finishes.",
            discussion: "Example: shoal nodes cordon web-07   (undo: shoal nodes uncordon web-07)")
        @OptionGroup var options: NodeStateOptions
        func run() async throws { try await options.send(.cordonNode, done: "cordoned") }
    }

    struct Uncordon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a cordoned node take new work again.")
        @OptionGroup var options: NodeStateOptions
        func run() async throws { try await options.send(.uncordonNode, done: "uncordoned") }
    }

    struct Quarantine: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Isolate a node: its agent cuts it off from everything but the broker, and only --incident jobs reach it.",
            discussion: """
                The agent runs its isolation action at once (by default nftables rules that keep only \
                the broker reachable; see the agent's --isolate-command) and confirms with a new birth: \
                `shoal nodes` then shows it `quarantined`. The node is left out of every selector, \
                `--all` included; `shoal run --incident -s name=NODE -- ...` investigates it.
                Example: shoal nodes quarantine web-07   (undo: shoal nodes release web-07)
                """)
        @OptionGroup var options: NodeStateOptions
        @OptionGroup var signing: SigningOptions
        func run() async throws {
            try await options.send(.quarantineNode, done: "quarantined", signed: .quarantine, signing: signing)
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End a node's quarantine: its agent runs its release action and the node takes work again.")
        @OptionGroup var options: NodeStateOptions
        @OptionGroup var signing: SigningOptions
        func run() async throws { try await options.send(.releaseNode, done: "released", signed: .release, signing: signing) }
    }

    struct Label: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set (k=v) or remove (k-) labels of a node; its agent applies them and announces itself again.",
            discussion: """
                The labels change in the registry when the node's agent confirms (at once if it is \
                online, else when it reconnects); it also moves to its new cell's job topic.
                Example: shoal nodes label web-07 role=db tier-
                """)

        @Argument(help: "The node id, as `shoal nodes` shows it.")
        var node: String

        @Argument(help: "Changes: k=v sets a label, k- removes one.")
        var changes: [String] = []

        @OptionGroup var signing: SigningOptions
        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            guard TopicTree.isValidLevel(node) else { throw ValidationError("'\(node)' is not a node id; see `shoal nodes`") }
            guard !changes.isEmpty else { throw ValidationError("nothing to change: add k=v to set a label or k- to remove one") }
            for change in changes where !change.contains("=") && !(change.hasSuffix("-") && change.count > 1) {
                throw ValidationError("'\(change)' is neither k=v (set a label) nor k- (remove one)")
            }
            do {
                try request.validate()
            } catch {
                throw ValidationError("\(error)")
            }
        }

        private var request: LabelNodeRequest {
            var request = LabelNodeRequest(node: node, actor: CLIRuntime.actor)
            for change in changes {
                if let equals = change.firstIndex(of: "=") {
                    request.set[String(change[..<equals])] = String(change[change.index(after: equals)...])
                } else if change.hasSuffix("-") {
                    request.remove.append(String(change.dropLast()))
                } else {
                    request.set[""] = change
                }
            }
            return request
        }

        func run() async throws {
            var request = request
            request.signature = try signing.sign(request.signingContent)
            let signedRequest = request
            let node = node
            let view = try await CLIRuntime.withClient(connection) { client -> NodeView? in
                try await client.followNodes()
                let current = try await client.request(.labelNode, signedRequest, as: NodeView.self)
                guard current.online else { return nil }
                // The agent confirms with a birth: wait (briefly) for the registry to show it.
                return try? await withThrowingTaskGroup(of: NodeView?.self) { group in
                    group.addTask {
                        for await view in client.nodeEvents where view.id == node {
                            if signedRequest.set.allSatisfy({ view.labels[$0.key] == $0.value })
                                && signedRequest.remove.allSatisfy({ view.labels[$0] == nil }) { return view }
                        }
                        return nil
                    }
                    group.addTask {
                        try await Task.sleep(for: .seconds(10))
                        return nil
                    }
                    let first = try await group.next() ?? nil
                    group.cancelAll()
                    return first
                }
            }
            if let view {
                print("node \(view.id): " + view.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))
            } else {
                print("node \(node) will apply the new labels when its agent next connects (see `shoal nodes --labels`)")
            }
        }
    }
}
