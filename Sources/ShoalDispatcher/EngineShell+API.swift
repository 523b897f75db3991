import Mosquitto
import ShoalCore
import ShoalEngine

/// The request/response API. Every request gets an answer, including malformed ones
/// (when they say where to reply).
extension EngineShell {
    /// Where a request wants its answer, or nil (logged) when it says nowhere usable.
    private func replyTarget(_ request: MQTTMessage) -> (topic: String, routing: ReplyRouting)? {
        let routing = (try? Wire.decode(ReplyRouting.self, from: request.payload)) ?? ReplyRouting()
        guard let replyTopic = request.responseTopic ?? routing.replyTo, TopicTree.isValidTopicName(replyTopic) else {
            logger.debug("API request without a reply topic", metadata: ["topic": "\(request.topic)"])
            return nil
        }
        return (replyTopic, routing)
    }

    func answerUnknown(_ name: String, _ request: MQTTMessage) {
        guard let (replyTopic, routing) = replyTarget(request) else { return }
        let known = APIOperation.allCases.map(\.rawValue).joined(separator: ", ")
        let shown = Bounds.prefix(name, maxBytes: 64).text
        let payload = Wire.encode(APIResponse<EmptyResult>.failure("unknown operation '\(shown)'; known: \(known)", id: routing.id))
        _ = try? client.publish(MQTTMessage(topic: replyTopic, payload: payload, qos: 1, correlationData: request.correlationData))
    }

    func answer(_ operation: APIOperation, _ request: MQTTMessage) {
        guard let (replyTopic, routing) = replyTarget(request) else { return }
        // Answers read the store: commit what this batch changed so far first.
        flush()
        let payload: [UInt8]
        switch operation {
        case .submitJob: payload = respond(request, routing) { try self.submit(try Wire.decode(SubmitJobRequest.self, from: $0)) }
        case .getJob: payload = respond(request, routing) { try self.detail(try Wire.decode(GetJobRequest.self, from: $0)) }
        case .listJobs: payload = respond(request, routing) { try self.listJobs(try Wire.decode(ListJobsRequest.self, from: $0)) }
        case .jobOutput: payload = respond(request, routing) { try self.output(try Wire.decode(JobOutputRequest.self, from: $0)) }
        case .listNodes: payload = respond(request, routing) { try self.listNodes(try Wire.decode(ListNodesRequest.self, from: $0)) }
        case .forgetNode: payload = respond(request, routing) { try self.forget(try Wire.decode(ForgetNodeRequest.self, from: $0)) }
        case .listRules: payload = respond(request, routing) { _ in self.listRules() }
        case .addRule: payload = respond(request, routing) { try self.addRule(try Wire.decode(AddRuleRequest.self, from: $0)) }
        case .removeRule: payload = respond(request, routing) { try self.removeRule(try Wire.decode(RemoveRuleRequest.self, from: $0)) }
        case .ruleHistory: payload = respond(request, routing) { try self.ruleHistory(try Wire.decode(RuleHistoryRequest.self, from: $0)) }
        case .approveNode:
            payload = respond(request, routing) { try self.approve(try Wire.decode(EnrollmentDecisionRequest.self, from: $0)) }
        case .rejectNode:
            payload = respond(request, routing) { try self.reject(try Wire.decode(EnrollmentDecisionRequest.self, from: $0)) }
        case .cancelJob: payload = respond(request, routing) { try self.cancel(try Wire.decode(CancelJobRequest.self, from: $0)) }
        case .cordonNode: payload = respond(request, routing) { try self.setState(.cordon, $0) }
        case .uncordonNode: payload = respond(request, routing) { try self.setState(.uncordon, $0) }
        case .quarantineNode: payload = respond(request, routing) { try self.setState(.quarantine, $0) }
        case .releaseNode: payload = respond(request, routing) { try self.setState(.release, $0) }
        case .labelNode: payload = respond(request, routing) { try self.relabel(try Wire.decode(LabelNodeRequest.self, from: $0)) }
        case .listAudit: payload = respond(request, routing) { try self.audit(try Wire.decode(ListAuditRequest.self, from: $0)) }
        case .queryMetrics:
            payload = respond(request, routing) { try self.queryMetrics(try Wire.decode(MetricsQueryRequest.self, from: $0)) }
        case .queryLogs: payload = respond(request, routing) { try self.queryLogs(try Wire.decode(LogQueryRequest.self, from: $0)) }
        case .pauseJob: payload = respond(request, routing) { try self.setPaused(true, try Wire.decode(RolloutControlRequest.self, from: $0)) }
        case .resumeJob: payload = respond(request, routing) { try self.setPaused(false, try Wire.decode(RolloutControlRequest.self, from: $0)) }
        case .planJob: payload = respond(request, routing) { try self.engine.preview(try Wire.decode(SubmitJobRequest.self, from: $0)) }
        }
        _ = try? client.publish(MQTTMessage(topic: replyTopic, payload: payload, qos: 1, correlationData: request.correlationData))
    }

    private func respond<Result: Codable & Sendable>(
        _ request: MQTTMessage, _ routing: ReplyRouting, _ body: ([UInt8]) throws -> Result
    ) -> [UInt8] {
        do {
            return Wire.encode(APIResponse.success(try body(request.payload), id: routing.id))
        } catch {
            return Wire.encode(APIResponse<Result>.failure("\(error)", id: routing.id))
        }
    }

    func submit(_ request: SubmitJobRequest) throws -> JobDetail {
        try request.validate()
        var generator = SystemRandomNumberGenerator()
        let id = request.id ?? JobID.make(milliseconds: UInt64(engine.clock() * 1000), using: &generator)
        // Submitting the same id again is a retry: answer with the job as it is (the engine
        // sends it again to the nodes that have not answered).
        if try store.job(id) != nil {
            engine.resubmitted(id)
            publishOutbox()
            return try detail(GetJobRequest(id: id, withOutput: false))
        }
        let submission = try engine.plan(request, id: id)
        // Durable before anything is published: the job with its expected nodes, one row,
        // which stands for their `queued` executions until the job is folded (`recordJob`),
        // and who submitted it.
        try store.recordJob(submission.job, expectedNodes: submission.expected, audit: submission.audit,
                            rollout: submission.rollout)
        for publication in submission.publications {
            do {
                try client.publish(publication.topic, publication.payload, qos: publication.qos)
            } catch {
                // Recorded all the same: the resync rule sends it again to whoever did not get it.
                logger.warning("Cannot publish a job; it will be sent again", metadata: [
                    "job.id": "\(id)", "topic": "\(publication.topic)", "error": "\(error)"])
            }
        }
        // Reports cannot be applied before this returns (one loop), so the job's in-memory
        // state can follow its publication.
        let executions = engine.accept(submission)
        logger.debug("Job submitted", metadata: ["job.id": "\(id)", "job.expected": "\(submission.expected.count)",
                                                 "job.publications": "\(submission.publications.count)"])
        let reported = request.summary ? executions.filter { engine.nodes[$0.node]?.online != true } : executions
        return JobDetail(job: engine.jobView(submission.job, counts: executions.isEmpty ? [:] : ["queued": executions.count],
                                             rollout: submission.rollout),
                         executions: reported.map(engine.executionView))
    }

    func detail(_ request: GetJobRequest) throws -> JobDetail {
        guard let job = try store.job(request.id) else { throw APIError("no job with id '\(request.id)'") }
        let output = request.withOutput ? try store.output(of: job.id) : [:]
        // The reply must stay readable (`Wire.maximumPayload`): output beyond the budget is
        // marked and left to `jobs.output`.
        var budget = OutputBudget(total: Self.replyOutputBytes)
        let executions = try store.executions(of: job.id).map { execution in
            var view = engine.executionView(execution)
            if let text = output[execution.node] { budget.fill(&view, stdout: text.stdout, stderr: text.stderr) }
            return view
        }
        let rollout = try engine.active[job.id]?.rollout ?? store.rollout(of: job.id)
        return JobDetail(job: engine.jobView(job, counts: try store.counts(of: job.id), rollout: rollout), executions: executions)
    }

    /// Output all of a `jobs.get` reply may carry; with names and states it stays well
    /// under `Wire.maximumPayload` up to 10,000 executions.
    static let replyOutputBytes = 1024 * 1024

    func listJobs(_ request: ListJobsRequest) throws -> [JobView] {
        try Bounds.check(request.limit, "limit", in: Limits.listLimit)
        let jobs = try store.recentJobs(limit: request.limit)
        let rollouts = try store.rollouts(of: jobs.map(\.0.id))
        return jobs.map { record, counts in
            var view = engine.jobView(record, counts: counts, rollout: engine.active[record.id]?.rollout ?? rollouts[record.id])
            view.task = view.task.abbreviated(to: Limits.listedTaskCharacters)
            view.selector = Bounds.prefix(view.selector, maxBytes: Limits.listedTaskCharacters).text
            return view
        }
    }

    func output(_ request: JobOutputRequest) throws -> OutputPage {
        try Bounds.check(request.maxBytes, "maxBytes", in: 1...Limits.outputPageBytes)
        guard try store.job(request.id) != nil else { throw APIError("no job with id '\(request.id)'") }
        return try store.outputPage(of: request.id, node: request.node, after: request.after, maxBytes: request.maxBytes)
    }

    func listNodes(_ request: ListNodesRequest) throws -> [NodeView] {
        try engine.nodeViews(matching: request.selector)
    }

    func forget(_ request: ForgetNodeRequest) throws -> NodeView {
        try Bounds.checkActor(request.actor)
        let view = try engine.forget(request.node, actor: request.actor)
        // Answers read the store: the node is gone from it too before the reply.
        flush()
        return view
    }

    /// Committed before the nodes are told, so that a restart re-sends the cancel (never
    /// the job) to whoever has not answered.
    func cancel(_ request: CancelJobRequest) throws -> CancelJobResult {
        if let result = try engine.cancel(request) {
            commitThenPublish()
            return result
        }
        guard let job = try store.job(request.id) else { throw APIError("no job with id '\(request.id)'") }
        engine.recordCancelOfFinishedJob(request)
        flush()
        return CancelJobResult(job: job.id, alreadyFinished: true, stopping: 0, canceled: 0, unchanged: job.expected)
    }

    /// `jobs.pause` / `jobs.resume`: committed (with its audit entry) before a resumed
    /// rollout's next batch goes out.
    func setPaused(_ paused: Bool, _ request: RolloutControlRequest) throws -> JobView {
        if let view = try engine.setPaused(paused, request) {
            commitThenPublish()
            return view
        }
        guard let job = try store.job(request.id) else { throw APIError("no job with id '\(request.id)'") }
        throw APIError("job '\(job.id)' has finished; nothing is left to \(paused ? "pause" : "resume")")
    }

    func setState(_ action: AuditAction, _ payload: [UInt8]) throws -> NodeView {
        let view = try engine.setState(action, of: try Wire.decode(NodeStateRequest.self, from: payload))
        commitThenPublish()
        return view
    }

    func relabel(_ request: LabelNodeRequest) throws -> NodeView {
        let view = try engine.relabel(request)
        commitThenPublish()
        return view
    }

    func audit(_ request: ListAuditRequest) throws -> [AuditEntry] {
        try request.validate()
        return try store.auditEntries(since: request.since, limit: request.limit)
    }

    /// An operator's decision is durable (with its audit entry) before it is carried out.
    /// A failed commit keeps the batch for the next flush: the decision is then published
    /// before it is stored, which the resync rules tolerate (they repeat it from memory).
    private func commitThenPublish() {
        flush()
        publishOutbox()
    }
}

extension EngineShell {
    func listRules() -> [MitigationRule] {
        engine.ruleBook.rules.values.sorted { $0.name < $1.name }
    }

    /// Stored first: a rule the dispatcher announced is one it will still have after a restart.
    func addRule(_ request: AddRuleRequest) throws -> MitigationRule {
        try request.rule.validate()
        try Bounds.checkActor(request.actor)
        var book = engine.ruleBook
        try book.add(request.rule)
        try store.saveRule(request.rule)
        engine.ruleBook = book
        engine.recordRuleChange(added: true, request.rule, actor: request.actor)
        flush()
        return request.rule
    }

    func removeRule(_ request: RemoveRuleRequest) throws -> MitigationRule {
        try Bounds.checkActor(request.actor)
        guard let rule = engine.ruleBook.rules[request.name] else {
            throw APIError("no rule named '\(Bounds.prefix(request.name, maxBytes: 80).text)'; see `shoal rules list`")
        }
        _ = try store.deleteRule(rule.name)
        _ = engine.ruleBook.remove(rule.name)
        engine.recordRuleChange(added: false, rule, actor: request.actor)
        flush()
        return rule
    }

    func ruleHistory(_ request: RuleHistoryRequest) throws -> [RuleFiring] {
        try Bounds.check(request.limit, "limit", in: Limits.listLimit)
        if let rule = request.rule { try Bounds.check(rule, "rule", maxBytes: 64) }
        return try store.ruleHistory(rule: request.rule, limit: request.limit)
    }
}

struct APIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
