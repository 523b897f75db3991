import ShoalCore

/// Jobs as the API creates them, and nodes as operators remove them: the decisions here,
/// the recording and publishing in the owner (a job is durable before it is published).
extension DispatchEngine {
    /// A job ready to be recorded, then published, then `accept`ed.
    package struct Submission: Sendable {
        package let job: JobRecord
        package let expected: [String]
        package let publications: [Publication]
        /// Recorded with the job, in its transaction.
        package let audit: AuditRecord
    }

    /// Checks a request and plans its fan-out against the registry as it is now. Changes
    /// nothing: the job exists once the owner has recorded it and called `accept`.
    package func plan(_ request: SubmitJobRequest, id: String) throws -> Submission {
        try request.validate()
        let selector: Selector
        do {
            selector = try Selector(parsing: request.selector)
        } catch {
            throw EngineError("invalid selector: \(error.description)")
        }
        if selector.isEmpty && !request.all {
            throw EngineError("empty selector: give a selector, or say all=true (shoal run --all) to target every node")
        }
        let time = now()
        let plan = planner.plan(selector, registry: registry(incident: request.incident))
        let job = JobRecord(id: id, selector: selector.text, task: request.task, timeout: request.timeout,
                            deadline: time + request.deadlineIn, createdAt: time, expected: plan.expected.count,
                            finishedAt: plan.expected.isEmpty ? time : nil, incident: request.incident,
                            signature: request.signature)
        let publications = plan.publications.map { publication in
            // The signature is passed through: only agents hold the trust that verifies it.
            let message = JobMessage(id: id, selector: selector, task: request.task, timeout: request.timeout,
                                     deadline: job.deadline, nodes: publication.nodes, createdAt: time,
                                     incident: request.incident ? true : nil, signature: request.signature)
            let topic = switch publication.target {
            case .cell(let cell): topics.cellJob(cell)
            case .node(let node): topics.nodeJob(node)
            }
            return Publication(topic: topic, payload: Wire.encode(message))
        }
        let audit = AuditRecord(at: time, actor: Self.actor(request.actor, signature: request.signature), action: .submit, target: id,
                                detail: (request.incident ? "incident " : "") + "selector '\(selector.text)' " + request.task.description)
        return Submission(job: job, expected: plan.expected, publications: publications, audit: audit)
    }

    /// The nodes a job may expect: ordinary jobs only `active` nodes (cordoned and
    /// quarantined ones take no new work), incident jobs every node. The ordinary registry
    /// is kept between jobs (rebuilt when a node is added, relabelled, forgotten or
    /// changes state); incident jobs are rare and build theirs.
    private func registry(incident: Bool) -> FanOutPlanner.Registry {
        // Pending and rejected nodes get no work at all, not even incident jobs: they are
        // not candidates. Cordoned and quarantined ones get incident jobs only.
        if incident {
            return FanOutPlanner.Registry(nodes.values.filter { mayReceiveWork($0.id) }.map { .init(id: $0.id, labels: $0.labels) })
        }
        let registry = plannerRegistry ?? FanOutPlanner.Registry(
            nodes.values.filter { $0.admin == .active && mayReceiveWork($0.id) }.map { .init(id: $0.id, labels: $0.labels) })
        plannerRegistry = registry
        return registry
    }

    /// The job is recorded (and its publication attempted): its expected nodes are now
    /// awaited. Whatever did not get published is caught by the resync rule (a `queued`
    /// execution on an online node is asked about again).
    package func accept(_ submission: Submission) -> [ExecutionRecord] {
        let job = submission.job
        let executions = submission.expected.map {
            ExecutionRecord(job: job.id, node: $0, state: .queued, updatedAt: job.createdAt)
        }
        if !executions.isEmpty {
            active[job.id] = ActiveJob(record: job, executions: Dictionary(uniqueKeysWithValues: executions.map { ($0.node, $0) }),
                                       unfinished: executions.count)
        }
        return executions
    }

    /// A submission of an id that exists: a retry. Nodes that have not answered are sent
    /// the job again (the first attempt may have been recorded and never published; a node
    /// that has it ignores it or repeats its result).
    package func resubmitted(_ id: String) {
        guard let job = active[id] else { return }
        resend(job.record, to: job.executions.values.filter { $0.state == .queued }.map(\.node))
    }

    /// Publishes a recorded job again to some of its expected nodes, each on its own node
    /// topic. Safe to repeat: each node's ledger runs a job at most once.
    func resend(_ job: JobRecord, to targets: [String]) {
        guard !targets.isEmpty, let selector = try? Selector(parsing: job.selector) else { return }
        let canceled = active[job.id]?.cancelRequested ?? []
        for node in targets {
            // A node asked to stop is asked again, never sent the job: its ledger turns the
            // cancel into `canceled` (never started) or a repeat of its recorded outcome.
            if canceled.contains(node) {
                let order = active[job.id]?.cancelOrders[node] ?? ControlMessage(op: .cancel, job: job.id)
                publish(topics.nodeControl(node), Wire.encode(order))
                continue
            }
            let message = JobMessage(id: job.id, selector: selector, task: job.task, timeout: job.timeout,
                                     deadline: job.deadline, nodes: [node], createdAt: job.createdAt,
                                     incident: job.incident ? true : nil, signature: job.signature)
            publish(topics.nodeJob(node), Wire.encode(message))
        }
        logger.debug("Job sent again", metadata: ["job.id": "\(job.id)", "nodes": "\(targets.count)"])
    }

    /// After a start: every unfinished job again to its nodes that have not finished. A
    /// crash may have come between recording a job and publishing it, or may have taken
    /// reports the broker had already handed over.
    package func resendUnfinished() {
        for job in active.values {
            resend(job.record, to: job.executions.values.filter { !$0.state.isTerminal }.map(\.node))
        }
    }

    /// Removes an offline node for good; its open executions end `skipped`. A live node is
    /// refused: it would register again at its next heartbeat.
    package func forget(_ id: String, actor: String? = nil) throws -> NodeView {
        guard let node = nodes[id] else { throw EngineError("no node with id '\(Bounds.prefix(id, maxBytes: 80).text)'") }
        guard !node.online else {
            throw EngineError("node '\(node.id)' is online; stop its agent first (a live node registers again at its next heartbeat)")
        }
        let time = now()
        for (jobID, job) in active {
            guard var execution = job.executions[node.id], !execution.state.isTerminal else { continue }
            execution.state = .skipped
            execution.reason = "node forgotten by an operator"
            close(jobID, [execution], at: time)
        }
        nodes[node.id] = nil
        logSeqs[node.id] = nil
        plannerRegistry = nil
        pending.nodes[node.id] = nil
        pending.forgottenNodes.append(node.id)
        forgetMetrics(of: node.id)
        record(.forget, node.id, actor: actor)
        return node.view
    }

    package func nodeViews(matching text: String) throws -> [NodeView] {
        let selector: Selector
        do {
            selector = try Selector(parsing: text)
        } catch {
            throw EngineError("invalid selector: \(error.description)")
        }
        // Metric values are selector keys here (`disk_used_pct>90`), not when planning jobs.
        var views = nodes.values.filter { selector.matches(selectable($0)) }.map { node in
            var view = node.view
            view.enrollment = enrollments[node.id]?.state
            view.metrics = metrics.latest[node.id]?.summary
            return view
        }
        // Nodes that asked to enroll and never connected with credentials of their own:
        // listed with the labels they asked with, so an operator can decide.
        for enrollment in enrollments.values where nodes[enrollment.node] == nil && selector.matches(enrollment.labels) {
            views.append(NodeView(id: enrollment.node, labels: enrollment.labels, online: false, version: "",
                                  firstSeen: enrollment.requestedAt, lastSeen: enrollment.requestedAt,
                                  enrollment: enrollment.state))
        }
        return views.sorted { $0.id < $1.id }
    }

    package func jobView(_ job: JobRecord, counts: [String: Int]) -> JobView {
        JobView(id: job.id, selector: job.selector, task: job.task, timeout: job.timeout, deadline: job.deadline,
                createdAt: job.createdAt, expected: job.expected, counts: counts, finishedAt: job.finishedAt,
                incident: job.incident ? true : nil, signer: job.signature?.signer)
    }
}

/// A request the engine refuses, with a sentence a person can act on.
package struct EngineError: Error, CustomStringConvertible, Equatable {
    package let description: String
    package init(_ description: String) { self.description = description }
}
