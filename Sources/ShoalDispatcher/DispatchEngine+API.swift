import Mosquitto
import ShoalCore

/// The request/response API. Every request gets an answer, including malformed ones
/// (when they say where to reply).
extension DispatchEngine {
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
        let selector: Selector
        do {
            selector = try Selector(parsing: request.selector)
        } catch {
            throw APIError("invalid selector: \(error.description)")
        }
        if selector.isEmpty && !request.all {
            throw APIError("empty selector: give a selector, or say all=true (shoal run --all) to target every node")
        }
        let time = now()
        var generator = SystemRandomNumberGenerator()
        let id = request.id ?? JobID.make(milliseconds: UInt64(time * 1000), using: &generator)
        // Submitting the same id again is a retry: answer with the job as it is, and send
        // it again to nodes that have not answered (the first attempt may have been
        // recorded and never published; a node that has it ignores it or repeats its result).
        if try store.job(id) != nil {
            if let job = active[id] {
                resend(job.record, to: job.executions.values.filter { $0.state == .queued }.map(\.node))
            }
            return try detail(GetJobRequest(id: id, withOutput: false))
        }

        let registry = plannerRegistry ?? FanOutPlanner.Registry(nodes.values.map { .init(id: $0.id, labels: $0.labels) })
        plannerRegistry = registry
        let plan = planner.plan(selector, registry: registry)
        let job = JobRecord(id: id, selector: selector.text, task: request.task, timeout: request.timeout,
                            deadline: time + request.deadlineIn, createdAt: time, expected: plan.expected.count,
                            finishedAt: plan.expected.isEmpty ? time : nil)
        // Durable before anything is published: the job with its expected nodes, one row,
        // which stands for their `queued` executions until the job is folded (`recordJob`).
        try store.recordJob(job, expectedNodes: plan.expected)
        var publishing: (any Error)?
        do {
            for publication in plan.publications {
                let message = JobMessage(id: id, selector: selector, task: request.task, timeout: request.timeout,
                                         deadline: job.deadline, nodes: publication.nodes, createdAt: time)
                let topic = switch publication.target {
                case .cell(let cell): topics.cellJob(cell)
                case .node(let node): topics.nodeJob(node)
                }
                try client.publish(topic, Wire.encode(message), qos: 1)
            }
        } catch {
            publishing = error
        }
        // Reports cannot be applied before this returns (one loop), so the job's in-memory
        // state can follow its publication.
        let executions = plan.expected.map {
            ExecutionRecord(job: id, node: $0, state: .queued, updatedAt: time)
        }
        if !plan.expected.isEmpty {
            active[id] = ActiveJob(record: job, executions: Dictionary(uniqueKeysWithValues: executions.map { ($0.node, $0) }),
                                   unfinished: executions.count)
        }
        if let publishing { throw publishing }
        logger.debug("Job submitted", metadata: ["job.id": "\(id)", "job.expected": "\(plan.expected.count)",
                                                 "job.publications": "\(plan.publications.count)"])
        let reported = request.summary ? executions.filter { nodes[$0.node]?.online != true } : executions
        return JobDetail(job: jobView(job, counts: plan.expected.isEmpty ? [:] : ["queued": plan.expected.count]),
                         executions: reported.map(executionView))
    }

    /// Publishes a recorded job again to some of its expected nodes, each on its own node
    /// topic. Safe to repeat: each node's ledger runs a job at most once.
    func resend(_ job: JobRecord, to targets: [String]) {
        guard !targets.isEmpty, let selector = try? Selector(parsing: job.selector) else { return }
        for node in targets {
            let message = JobMessage(id: job.id, selector: selector, task: job.task, timeout: job.timeout,
                                     deadline: job.deadline, nodes: [node], createdAt: job.createdAt)
            _ = try? client.publish(topics.nodeJob(node), Wire.encode(message), qos: 1)
        }
        logger.debug("Job sent again", metadata: ["job.id": "\(job.id)", "nodes": "\(targets.count)"])
    }

    /// After a start: every unfinished job again to its nodes that have not finished. A
    /// crash may have come between recording a job and publishing it, or may have taken
    /// reports the broker had already handed over.
    func resendUnfinished() {
        for job in active.values {
            resend(job.record, to: job.executions.values.filter { !$0.state.isTerminal }.map(\.node))
        }
    }

    func detail(_ request: GetJobRequest) throws -> JobDetail {
        guard let job = try store.job(request.id) else { throw APIError("no job with id '\(request.id)'") }
        let output = request.withOutput ? try store.output(of: job.id) : [:]
        // The reply must stay readable (`Wire.maximumPayload`): output beyond the budget is
        // marked and left to `jobs.output`.
        var budget = OutputBudget(total: Self.replyOutputBytes)
        let executions = try store.executions(of: job.id).map { execution in
            var view = executionView(execution)
            if let text = output[execution.node] { budget.fill(&view, stdout: text.stdout, stderr: text.stderr) }
            return view
        }
        return JobDetail(job: jobView(job, counts: try store.counts(of: job.id)), executions: executions)
    }

    /// Output all of a `jobs.get` reply may carry; with names and states it stays well
    /// under `Wire.maximumPayload` up to 10,000 executions.
    static let replyOutputBytes = 1024 * 1024

    func listJobs(_ request: ListJobsRequest) throws -> [JobView] {
        try Bounds.check(request.limit, "limit", in: Limits.listLimit)
        return try store.recentJobs(limit: request.limit).map { record, counts in
            var view = jobView(record, counts: counts)
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
        let selector: Selector
        do {
            selector = try Selector(parsing: request.selector)
        } catch {
            throw APIError("invalid selector: \(error.description)")
        }
        return nodes.values.filter { selector.matches($0.labels) }.sorted { $0.id < $1.id }.map(\.view)
    }

    /// Only an offline node: a live one would be registered again by its next heartbeat.
    func forget(_ request: ForgetNodeRequest) throws -> NodeView {
        guard let node = nodes[request.node] else { throw APIError("no node with id '\(Bounds.prefix(request.node, maxBytes: 80).text)'") }
        guard !node.online else {
            throw APIError("node '\(node.id)' is online; stop its agent first (a live node registers again at its next heartbeat)")
        }
        let time = now()
        for (id, job) in active {
            guard var execution = job.executions[node.id], !execution.state.isTerminal else { continue }
            execution.state = .skipped
            execution.reason = "node forgotten by an operator"
            close(id, [execution], at: time)
        }
        nodes[node.id] = nil
        plannerRegistry = nil
        pending.nodes[node.id] = nil
        pending.forgottenNodes.append(node.id)
        // Answers read the store: the node is gone from it too before the reply.
        flush()
        return node.view
    }

    func jobView(_ job: JobRecord, counts: [String: Int]) -> JobView {
        JobView(id: job.id, selector: job.selector, task: job.task, timeout: job.timeout, deadline: job.deadline,
                createdAt: job.createdAt, expected: job.expected, counts: counts, finishedAt: job.finishedAt)
    }
}

struct APIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
