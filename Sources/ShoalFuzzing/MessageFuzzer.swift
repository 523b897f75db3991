import ShoalCore

/// Feeds mutated payloads to every decoder Shoal exposes to the network: each message an
/// agent or the dispatcher reads (`Wire.decode`, then the checks that follow it), each API
/// request and reply, the signature verifier and the selector parser. Pure and seeded; the
/// caller times it (a hang shows as a payload that never returns: `onSlowCase`).
public struct MessageFuzzer: Sendable {
    public struct Outcome: Sendable, Equatable {
        /// Mutated payloads made.
        public var payloads = 0
        /// Calls into a decoder, verifier or parser (each payload goes to every one).
        public var calls = 0
        /// Payloads that some decoder accepted.
        public var decoded = 0
        /// Decoded jobs whose signature the verifier accepted: mutations that changed only
        /// unsigned fields (`nodes`, `deadline`, ...).
        public var verified = 0
        /// Accepted jobs whose signed content differs from what was signed. Must stay 0.
        public var forgeries = 0
        /// Selector texts that parsed.
        public var selectorsParsed = 0
        /// The slowest payload, in calls of `clock` units (what the caller's clock gives).
        public var slowestIndex = 0
        public var slowest: Double = 0
    }

    public let seed: UInt64
    private let key: OperatorPrivateKey
    private let signedContent = JobSigningContent(id: "01a2-job", selector: MessageFuzzer.selectorText,
                                                  task: .exec(["sh", "-c", "echo hi"]), timeout: 30)
    static let selectorText = "region in (eu, \"us west\"),gpus>=1 || role=web"
    private let verifier: SignatureVerifier
    private let now: Double = 1_764_090_000

    public init(seed: UInt64, key: OperatorPrivateKey = OperatorPrivateKey()) {
        self.seed = seed
        self.key = key
        verifier = SignatureVerifier(trusted: TrustedKeys([key.publicKey]), required: true)
    }

    /// Valid payloads of every type, the starting points of the mutations.
    public func seedPayloads() -> [[UInt8]] {
        let selector = (try? Selector(parsing: Self.selectorText)) ?? .all
        var job = JobMessage(id: signedContent.id, selector: selector, task: signedContent.task, timeout: signedContent.timeout,
                             deadline: now + 600, nodes: ["n1", "n2", "n3"], createdAt: now)
        var generator = SplitMix64(seed: seed)
        let signed = key.sign(job.signingContent, expiresAt: now + 600, using: &generator)
        let unsigned = job
        job.signature = signed
        let shellJob = JobMessage(id: "j2", selector: .all, task: .shell("uptime"), timeout: 1, deadline: now, nodes: [],
                                  createdAt: now, signature: signed)
        var control = ControlMessage(op: .cancel, job: "01a2-job", node: "n1")
        control.signature = key.sign(control.signingContent, expiresAt: now + 300, using: &generator)
        let execution = ExecutionView(job: "j1", node: "n1", state: .failed, exitCode: 2, reason: "boom",
                                      startedAt: now, finishedAt: now + 1, nodeOnline: true, stdout: "out\n", stderr: "é\n")
        var quarantine = ControlMessage(op: .quarantine, node: "n1")
        quarantine.signature = key.sign(quarantine.signingContent, expiresAt: now + 300, using: &generator)
        var relabel = ControlMessage(op: .labels, set: ["role": "db"], remove: ["tier"], node: "n1")
        relabel.signature = key.sign(relabel.signingContent, expiresAt: now + 300, using: &generator)
        let rule = MitigationRule(name: "heal", on: .jobFailed, scope: "role=web", task: .shell("systemctl restart web"),
                                  timeout: 30, cooldown: 600, maxConcurrent: 2)
        let view = JobView(id: "j1", selector: "region=eu", task: .shell("echo"), timeout: 60, deadline: now + 600,
                           createdAt: now, expected: 2, counts: ["succeeded": 1], finishedAt: nil, signer: key.id)
        return [
            Wire.encode(job), Wire.encode(unsigned), Wire.encode(shellJob), Wire.encode(control),
            Wire.encode(ControlMessage(op: .rebirth)), Wire.encode(quarantine), Wire.encode(relabel),
            Wire.encode(BirthMessage(node: "n1", labels: ["region": "eu", "gpus": "2"], version: "0.1.0", bdSeq: 7,
                                     heartbeatInterval: 5, sentAt: now, isolated: true, signedOnly: true)),
            Wire.encode(EnrollmentRequest(node: "n1", labels: ["env": "lab"], secret: String(repeating: "ab", count: 32), sentAt: now)),
            Wire.encode(EnrollmentAnswer(node: "n1", state: .pending, reason: "waiting")),
            Wire.encode(CancelJobRequest(id: "01a2-job", node: "n1", actor: "alice", signature: control.signature)),
            Wire.encode(NodeStateRequest(node: "n1", actor: "alice", signature: quarantine.signature)),
            Wire.encode(LabelNodeRequest(node: "n1", set: ["role": "db"], remove: ["tier"], signature: relabel.signature)),
            Wire.encode(ListAuditRequest(since: now, limit: 10)), Wire.encode(EnrollmentDecisionRequest(node: "n1", actor: "bob")),
            Wire.encode(AddRuleRequest(rule: rule, actor: "alice")), Wire.encode(RemoveRuleRequest(name: "heal")),
            Wire.encode(RuleHistoryRequest(rule: "heal", limit: 5)),
            Wire.encode(DeathMessage(node: "n1", bdSeq: 7)),
            Wire.encode(HeartbeatMessage(node: "n1", seq: 3, uptime: 12.5, load1: 0.4, running: 1, sentAt: now)),
            Wire.encode(ExecutionStatusMessage(job: "j1", node: "n1", seq: 2, state: .succeeded, exitCode: 0, at: now,
                                               startedAt: now, chunks: 3, stdout: "hi\n", stderr: "")),
            Wire.encode(OutputChunkMessage(job: "j1", node: "n1", seq: 1, stream: .stdout, data: "line\n")),
            Wire.encode(SubmitJobRequest(id: "01a2-job", selector: "role=web", task: .exec(["uptime"]), timeout: 30,
                                         deadlineIn: 600, summary: true, signature: signed)),
            Wire.encode(GetJobRequest(id: "j1")), Wire.encode(ListJobsRequest(limit: 5)),
            Wire.encode(JobOutputRequest(id: "j1", node: "n1", after: OutputCursor(node: "n1", seq: 4), maxBytes: 100)),
            Wire.encode(ForgetNodeRequest(node: "n1")), Wire.encode(ListNodesRequest(selector: "role=web")),
            Wire.encode(ReplyRouting(replyTo: "reply/x", id: "7")),
            Wire.encode(APIResponse.success(JobDetail(job: view, executions: [execution]), id: "7")),
            Wire.encode(JobEvent(job: "j1", executions: [execution], finishedAt: now)),
            Wire.encode(OutputPage(job: "j1", chunks: [OutputChunkView(node: "n1", seq: 1, stream: .stdout, data: "x")],
                                   next: OutputCursor(node: "n1", seq: 1))),
            Wire.encode([NodeView(id: "n1", labels: ["a": "b"], online: true, version: "0.1.0", firstSeen: now, lastSeen: now)]),
            Array("region in (eu, \"us west\"),gpus>=1 || role!=web,name=web-*".utf8),
        ]
    }

    /// Runs `count` mutated payloads through every target. `clock` reads the caller's
    /// monotonic time in seconds; `onSlowCase` is told of any payload over `slowLimit`.
    public func run(count: Int, clock: () -> Double, slowLimit: Double,
                    onSlowCase: (Int, [UInt8], Double) -> Void = { _, _, _ in },
                    progress: (Int) -> Void = { _ in }) -> Outcome {
        var mutator = PayloadMutator(seed: seed, seeds: seedPayloads())
        var outcome = Outcome()
        for index in 0..<count {
            let payload = mutator.next()
            let started = clock()
            feed(payload, into: &outcome)
            let elapsed = clock() - started
            if elapsed > outcome.slowest {
                outcome.slowest = elapsed
                outcome.slowestIndex = index
            }
            if elapsed > slowLimit { onSlowCase(index, payload, elapsed) }
            outcome.payloads += 1
            if index % 1_000 == 0 { progress(index) }
        }
        return outcome
    }

    /// One payload to every decoder, and what the receiving code does next with a decoded value.
    public func feed(_ payload: [UInt8], into outcome: inout Outcome) {
        var accepted = false
        func attempt<T: Decodable>(_ type: T.Type, then use: (T) -> Void = { _ in }) {
            outcome.calls += 1
            if let value = try? Wire.decode(type, from: payload) {
                accepted = true
                use(value)
            }
        }
        attempt(JobMessage.self) { job in
            _ = JobID.isValid(job.id)
            _ = try? job.validate()
            _ = job.signature.map { try? $0.validate() }
            outcome.calls += 1
            if case .valid = verifier.verify(job.signature, of: job.signingContent, now: now) {
                outcome.verified += 1
                if job.signingContent != signedContent { outcome.forgeries += 1 }
            }
            _ = JobAdmission.decide(job, node: "n1", labels: ["region": "eu", "gpus": "2"], now: now, skewAllowance: 5,
                                    alreadyClaimed: { false })
        }
        attempt(ControlMessage.self) { control in
            _ = try? control.validate()
            outcome.calls += 1
            _ = verifier.verify(control.signature, of: control.signingContent, now: now)
        }
        attempt(EnrollmentRequest.self) { _ = try? $0.validate() }
        attempt(EnrollmentAnswer.self)
        attempt(CancelJobRequest.self) { request in
            _ = try? request.validate()
            outcome.calls += 1
            _ = verifier.verify(request.signature, of: request.signingContent, now: now)
        }
        attempt(NodeStateRequest.self) { request in
            _ = try? request.validate()
            outcome.calls += 1
            _ = verifier.verify(request.signature, of: request.signingContent(of: .quarantine), now: now)
        }
        attempt(LabelNodeRequest.self) { request in
            _ = try? request.validate()
            outcome.calls += 1
            _ = verifier.verify(request.signature, of: request.signingContent, now: now)
        }
        attempt(ListAuditRequest.self) { _ = try? $0.validate() }
        attempt(EnrollmentDecisionRequest.self)
        attempt(AddRuleRequest.self) { _ = try? $0.rule.validate() }
        attempt(RemoveRuleRequest.self)
        attempt(RuleHistoryRequest.self)
        attempt(BirthMessage.self) { _ = try? $0.validate() }
        attempt(DeathMessage.self)
        attempt(HeartbeatMessage.self) { _ = try? $0.validate() }
        attempt(ExecutionStatusMessage.self) { _ = try? $0.validate() }
        // The same two through their hand-written readers (`WireReadable`), as the dispatcher reads them.
        outcome.calls += 2
        if let status = try? Wire.decode(ExecutionStatusMessage.self, from: payload) { _ = try? status.validate() }
        if let beat = try? Wire.decode(HeartbeatMessage.self, from: payload) { _ = try? beat.validate() }
        attempt(OutputChunkMessage.self) { _ = try? $0.validate() }
        attempt(SubmitJobRequest.self) { request in
            _ = try? request.validate()
            _ = try? Selector(parsing: request.selector)
        }
        attempt(GetJobRequest.self)
        attempt(ListJobsRequest.self)
        attempt(JobOutputRequest.self)
        attempt(ForgetNodeRequest.self)
        attempt(ListNodesRequest.self) { _ = try? Selector(parsing: $0.selector) }
        attempt(ReplyRouting.self)
        attempt(APIResponse<JobDetail>.self)
        attempt(JobEvent.self)
        attempt(OutputPage.self)
        attempt([NodeView].self)
        attempt(OperatorSignature.self) { signature in
            outcome.calls += 1
            _ = verifier.verify(signature, of: JobSigningContent(id: "j", selector: "", task: .shell("x"), timeout: 1), now: now)
        }
        // The payload as text: a selector, a signature value, a public key line.
        let text = String(decoding: payload, as: UTF8.self)
        outcome.calls += 3
        if (try? Selector(parsing: text)) != nil { outcome.selectorsParsed += 1 }
        _ = Base64.decode(text)
        _ = try? OperatorPublicKey(line: text)
        if accepted { outcome.decoded += 1 }
    }
}
