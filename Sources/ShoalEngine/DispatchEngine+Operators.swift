import ShoalCore

/// What operators do during an incident: cancel a job, cordon or quarantine a node, change
/// its labels. Each decision changes memory, queues its rows (with an audit entry) and the
/// control messages that carry it to the nodes; the owner commits, then publishes.
extension DispatchEngine {
    /// Stops a job on every node it expects (or on `node`), and makes sure it never starts
    /// where it has not: each node is sent `cancel` (its agent kills the job's cgroup, or
    /// records the job as canceled so that a later delivery is never run) and, until it
    /// answers, is sent `cancel` again wherever the job would have been re-sent (births,
    /// restarts, resyncs). A node that is offline and never acknowledged the job ends
    /// `canceled` at once; one that may have started it ends as its agent reports.
    ///
    /// Returns nil when the job is not in flight (finished, or unknown): the owner tells
    /// which from the store.
    package func cancel(_ request: CancelJobRequest) throws -> CancelJobResult? {
        try request.validate()
        guard let job = active[request.id] else { return nil }
        let time = now()
        let targets: [String]
        if let node = request.node {
            guard job.executions[node] != nil else {
                throw EngineError("job '\(request.id)' does not expect node '\(node)'; see `shoal jobs show \(request.id)`")
            }
            targets = [node]
        } else {
            targets = job.executions.keys.sorted()
        }
        try requireSignature(request.signature, for: targets, "jobs cancel \(request.id)")
        var result = CancelJobResult(job: request.id, alreadyFinished: false, stopping: 0, canceled: 0, unchanged: 0)
        var closed: [ExecutionRecord] = []
        for node in targets {
            guard var execution = job.executions[node], !execution.state.isTerminal else {
                result.unchanged += 1
                continue
            }
            if job.held.contains(node) {
                // Never sent (a later batch of a rollout): it simply will not be.
                execution.state = .canceled
                execution.reason = "canceled by an operator before the rollout reached this node"
                closed.append(execution)
                result.canceled += 1
                continue
            }
            if execution.state == .queued && nodes[node]?.online != true {
                execution.state = .canceled
                execution.reason = "canceled by an operator before the node received the job; it will not start it"
                closed.append(execution)
                result.canceled += 1
            } else {
                result.stopping += 1
            }
            if job.cancelRequested.insert(node).inserted {
                pending.cancellations.append(CancellationRecord(job: request.id, node: node, at: time))
            }
            lastResync[ExecutionKey(job: request.id, node: node)] = time
            // Addressed as it was signed: one node's cancel names it, a whole job's names none.
            let order = ControlMessage(op: .cancel, job: request.id, node: request.node, signature: request.signature)
            job.cancelOrders[node] = order
            publish(topics.nodeControl(node), Wire.encode(order))
        }
        record(.cancel, request.id, actor: Self.actor(request.actor, signature: request.signature), detail: request.node.map { "node \($0)" } ?? "every node")
        close(request.id, closed, at: time)
        return result
    }

    /// The audit entry of a cancel that found the job finished (nothing changed).
    package func recordCancelOfFinishedJob(_ request: CancelJobRequest) {
        record(.cancel, request.id, actor: request.actor, detail: "job had already finished; nothing changed")
    }

    /// Cordon (no new work), uncordon, quarantine (isolated, incident jobs only) or release
    /// a node. Quarantine and release are carried out by the node's agent (`ctl`), which
    /// says in its next birth whether its isolation is in force; a birth that disagrees
    /// with the decision is answered with the control message again (`convergeIsolation`).
    package func setState(_ action: AuditAction, of request: NodeStateRequest) throws -> NodeView {
        try request.validate()
        guard var node = nodes[request.node] else {
            throw EngineError("no node with id '\(Bounds.prefix(request.node, maxBytes: 80).text)'; see `shoal nodes`")
        }
        if action == .quarantine || action == .release {
            try requireSignature(request.signature, for: [node.id], "nodes \(action.rawValue) \(node.id)")
        }
        let next: NodeAdminState
        switch (action, node.admin) {
        case (.cordon, .quarantined):
            throw EngineError("node '\(node.id)' is quarantined, which already keeps work away; `shoal nodes release \(node.id)` ends it")
        case (.cordon, _): next = .cordoned
        case (.uncordon, .quarantined):
            throw EngineError("node '\(node.id)' is quarantined, not cordoned; `shoal nodes release \(node.id)` ends it")
        case (.uncordon, _): next = .active
        case (.quarantine, _): next = .quarantined
        case (.release, .quarantined): next = .active
        case (.release, _):
            throw EngineError("node '\(node.id)' is not quarantined (it is \(node.admin.rawValue))")
        default:
            throw EngineError("'\(action.rawValue)' is not a node state change")
        }
        if next != node.admin {
            node.admin = next
            nodes[node.id] = node
            plannerRegistry = nil
            pending.save(node, announce: true)
        }
        switch action {
        case .quarantine, .release:
            let order = ControlMessage(op: action == .quarantine ? .quarantine : .release, node: node.id,
                                       signature: request.signature)
            isolationOrders[node.id] = order
            publish(topics.nodeControl(node.id), Wire.encode(order))
        default: break
        }
        record(action, node.id, actor: Self.actor(request.actor, signature: request.signature))
        return node.view
    }

    /// Asks a node's agent to change its labels. The registry changes when the agent
    /// publishes its birth with them (it does at once, or when it reconnects: the control
    /// message waits in its session), so the registry never holds labels a node does not
    /// know it has. Returns the node as it is now.
    package func relabel(_ request: LabelNodeRequest) throws -> NodeView {
        try request.validate()
        guard let node = nodes[request.node] else {
            throw EngineError("no node with id '\(Bounds.prefix(request.node, maxBytes: 80).text)'; see `shoal nodes`")
        }
        try requireSignature(request.signature, for: [node.id], "nodes label \(node.id) ...")
        let labels = node.labels.merging(request.set) { _, new in new }.filter { !request.remove.contains($0.key) }
        do {
            try Bounds.checkLabels(labels, "labels")
        } catch {
            throw EngineError("the node would have \(labels.count) labels; \(error.description)")
        }
        publish(topics.nodeControl(node.id), Wire.encode(ControlMessage(
            op: .labels, set: request.set.isEmpty ? nil : request.set, remove: request.remove.isEmpty ? nil : request.remove,
            node: node.id, signature: request.signature)))
        let changes = ControlMessage.labelArguments(set: request.set, remove: request.remove)
        record(.label, node.id, actor: Self.actor(request.actor, signature: request.signature), detail: changes.joined(separator: " "))
        return node.view
    }

    /// A birth says whether the node's isolation is in force; when that disagrees with
    /// what operators decided, the node is told again (a control message lost with a
    /// broker, or an agent restarted with its rules flushed).
    func convergeIsolation(of node: NodeRecord) {
        let operation: ControlMessage.Operation
        if node.admin == .quarantined && !node.isolated {
            operation = .quarantine
        } else if node.admin != .quarantined && node.isolated {
            operation = .release
        } else {
            return
        }
        let order = isolationOrders[node.id].flatMap { $0.op == operation ? $0 : nil }
            ?? ControlMessage(op: operation, node: node.id)
        publish(topics.nodeControl(node.id), Wire.encode(order))
    }

    /// An unsigned request for a node that obeys only signed operations would be recorded
    /// here and refused there: refuse it here, saying how to sign.
    func requireSignature(_ signature: OperatorSignature?, for targets: [String], _ command: String) throws {
        guard signature == nil, let node = targets.first(where: signedOnly.contains) else { return }
        throw EngineError("node '\(node)' obeys only signed operations: sign the request (`shoal \(command)` signs "
                          + "with your `default` key, or --key NAME; see `shoal keys`)")
    }

    /// Who the audit record names: the signing key when a request is signed (what the
    /// nodes verify), with what the client said of itself.
    static func actor(_ declared: String?, signature: OperatorSignature?) -> String? {
        guard let signature else { return declared }
        return "key:\(signature.signer)" + (declared.map { " (\($0))" } ?? "")
    }

    /// Appends an operator's action to the audit record (committed with the batch).
    func record(_ action: AuditAction, _ target: String, actor: String?, detail: String? = nil) {
        pending.audit.append(AuditRecord(at: now(), actor: actor, action: action, target: target, detail: detail))
    }
}
