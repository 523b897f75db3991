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
        /// The job's rollout, its first batch released (recorded with the job); nil for a
        /// job sent to every node at once.
        package let rollout: Rollout?
    }

    /// Checks a request and plans its fan-out against the registry as it is now. Changes
    /// nothing: the job exists once the owner has recorded it and called `accept`.
    package func plan(_ request: SubmitJobRequest, id: String) throws -> Submission {
        let (selector, plan) = try resolve(request)
        let time = now()
        let task = request.taskToRun
        let job = JobRecord(id: id, selector: selector.text, task: task, timeout: request.timeout,
                            deadline: time + request.deadlineIn, createdAt: time, expected: plan.expected.count,
                            finishedAt: plan.expected.isEmpty ? time : nil, incident: request.incident,
                            signature: request.signature)
        var detail = (request.incident ? "incident " : "") + "selector '\(selector.text)' " + task.description
        var rollout: Rollout?
        let publications: [Publication]
        if let rolloutPlan = request.rollout {
            // A rollout goes node by node (`node/{id}/job`): a cell topic would reach nodes
            // of later batches too. Batches take the nodes in id order (docs/rollouts.md).
            var started = Rollout(plan: rolloutPlan, nodes: Self.rolloutOrder(plan.expected))
            var first: [String] = []
            if case .release(_, let nodes) = started.next(states: [:], at: time) { first = nodes }
            rollout = started
            publications = first.map { node in
                Publication(topic: topics.nodeJob(node), payload: Wire.encode(jobMessage(job, selector: selector, nodes: [node])))
            }
            detail = "rollout " + Self.describe(rolloutPlan) + " " + detail
        } else {
            publications = plan.publications.map { publication in
                let topic = switch publication.target {
                case .cell(let cell): topics.cellJob(cell)
                case .node(let node): topics.nodeJob(node)
                }
                return Publication(topic: topic, payload: Wire.encode(jobMessage(job, selector: selector, nodes: publication.nodes)))
            }
        }
        let audit = AuditRecord(at: time, actor: Self.actor(request.actor, signature: request.signature), action: .submit,
                                target: id, detail: detail)
        return Submission(job: job, expected: plan.expected, publications: publications, audit: audit, rollout: rollout)
    }

    /// What `plan` would do with a request, without doing it (`jobs.plan`, `shoal run --dry-run`).
    package func preview(_ request: SubmitJobRequest) throws -> JobPlanView {
        let (selector, plan) = try resolve(request)
        let nodes = Self.rolloutOrder(plan.expected)
        let batches = request.rollout.map { $0.batches(of: nodes) } ?? (nodes.isEmpty ? [] : [nodes])
        return JobPlanView(selector: selector.text, task: request.taskToRun, expected: nodes.count, batches: batches,
                           rollout: request.rollout, offline: nodes.filter { self.nodes[$0]?.online != true })
    }

    /// The request checked, its selector parsed and resolved against the registry.
    private func resolve(_ request: SubmitJobRequest) throws -> (Selector, FanOutPlanner.Plan) {
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
        return (selector, planner.plan(selector, registry: registry(incident: request.incident)))
    }

    /// The order batches take nodes in: by id, byte by byte (as `jobs show` lists them),
    /// so a dry run and a submission made at the same moment cut the same batches.
    static func rolloutOrder(_ nodes: [String]) -> [String] {
        nodes.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// `batch 3, canary 1, wait 2s, max failures 1`, for the audit record.
    static func describe(_ plan: RolloutPlan) -> String {
        var parts = ["batch \(plan.batch)"]
        if plan.canary > 0 { parts.append("canary \(plan.canary)") }
        if plan.wait > 0 { parts.append("wait \(DurationText.format(plan.wait))") }
        parts.append("max failures \(plan.maxFailures)")
        return "(" + parts.joined(separator: ", ") + ")"
    }

    /// The message that carries a recorded job to `nodes`. The signature is passed
    /// through: only agents hold the trust that verifies it (it does not cover `nodes`).
    func jobMessage(_ job: JobRecord, selector: Selector, nodes: [String]) -> JobMessage {
        JobMessage(id: job.id, selector: selector, task: job.task, timeout: job.timeout, deadline: job.deadline,
                   nodes: nodes, createdAt: job.createdAt, incident: job.incident ? true : nil, signature: job.signature)
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
                                       unfinished: executions.count, rollout: submission.rollout)
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
        // Nodes of a rollout's later batches are never sent the job before their batch is released.
        let held = active[job.id]?.held ?? []
        let targets = held.isEmpty ? targets : targets.filter { !held.contains($0) }
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
            publish(topics.nodeJob(node), Wire.encode(jobMessage(job, selector: selector, nodes: [node])))
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
        // Rollouts go on where they were: a wait that ended while the dispatcher was down,
        // or a batch that finished then, releases the next one now.
        for id in active.keys.sorted() where active[id]?.rollout != nil { advanceRollout(id) }
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

    package func jobView(_ job: JobRecord, counts: [String: Int], rollout: Rollout? = nil) -> JobView {
        JobView(id: job.id, selector: job.selector, task: job.task, timeout: job.timeout, deadline: job.deadline,
                createdAt: job.createdAt, expected: job.expected, counts: counts, finishedAt: job.finishedAt,
                incident: job.incident ? true : nil, signer: job.signature?.signer, rollout: rollout.map(RolloutView.init))
    }
}

/// A request the engine refuses, with a sentence a person can act on.
package struct EngineError: Error, CustomStringConvertible, Equatable {
    package let description: String
    package init(_ description: String) { self.description = description }
}
