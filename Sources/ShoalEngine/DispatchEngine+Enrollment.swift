import ShoalCore

/// How the dispatcher treats enrollment requests. Plain values.
package struct EnrollmentPolicy: Sendable {
    /// Requests whose labels match are approved at once (a lab: `env=lab`); nil: every
    /// request waits for an operator.
    package var autoApprove: Selector?
    /// Ids that are broker role users, never nodes (the dispatcher, operators...): a request
    /// for one is rejected, or it would get that role's password replaced.
    package var reservedIDs: Set<String>

    package init(autoApprove: Selector? = nil, reservedIDs: Set<String> = []) {
        self.autoApprove = autoApprove
        self.reservedIDs = reservedIDs
    }
}

/// A change to the broker's credentials that a decision requires.
package enum CredentialChange: Sendable, Equatable {
    /// Let `node` log in with the password whose broker hash is `hash`.
    case grant(node: String, hash: String)
    /// `node` may no longer log in.
    case revoke(node: String)
}

/// Enrollment: an agent holding only the bootstrap credentials asks to join with a password
/// it chose; the node is `pending` (no work) until an operator approves it (or a label rule
/// does), and a rejection is final. Every request gets an answer on the node's answer topic.
extension DispatchEngine {
    /// Whether the owner must hash the request's secret before `requestEnrollment`: only
    /// for a node never heard of (later requests are answered from the record).
    package func needsCredentialHash(for node: String) -> Bool {
        enrollments[node] == nil && nodes[node] == nil && !enrollmentPolicy.reservedIDs.contains(node)
    }

    /// An enrollment request, its secret already hashed by the owner (`credentialHash`, nil
    /// when `needsCredentialHash` said no). The first request for a node id stands: a later
    /// one, whoever sends it, only gets the current decision again, so a bootstrap holder
    /// cannot replace a pending node's password with one of its own.
    package func requestEnrollment(node: String, labels: [String: String], credentialHash: String?) {
        if enrollmentPolicy.reservedIDs.contains(node) {
            answerEnrollment(node, .rejected, reason: "'\(node)' is a broker role, not a node id; give the agent another --id")
            return
        }
        if let existing = enrollments[node] {
            answerEnrollment(node, existing.state)
            return
        }
        if nodes[node] != nil {
            // Already a node with credentials given by an operator: a second machine with
            // this id is refused, not merged.
            answerEnrollment(node, .rejected, reason: "node id '\(node)' is taken by a node already in the fleet; give the agent another --id")
            return
        }
        guard let credentialHash else { return }
        let time = now()
        let approved = enrollmentPolicy.autoApprove.map { !$0.isEmpty && $0.matches(labels) } ?? false
        let record = EnrollmentRecord(node: node, state: approved ? .approved : .pending, labels: labels,
                                      credentialHash: credentialHash, requestedAt: time, decidedAt: approved ? time : nil)
        enrollments[node] = record
        pending.enrollments[node] = record
        if approved { credentialChanges.append(.grant(node: node, hash: credentialHash)) }
        logger.info("Enrollment requested", metadata: ["node.id": "\(node)", "enrollment.state": "\(record.state.rawValue)"])
        answerEnrollment(node, record.state)
    }

    /// `nodes.approve`: a pending node gets the credentials it asked with. Approving an
    /// approved node changes nothing; a rejected one stays rejected.
    package func approve(_ node: String) throws -> NodeView {
        guard var record = enrollments[node] else { throw unknownEnrollment(node) }
        switch record.state {
        case .approved: break
        case .rejected:
            throw EngineError("node '\(node)' was rejected; a rejection is final (give that machine another node id)")
        case .pending:
            record.state = .approved
            record.decidedAt = now()
            enrollments[node] = record
            plannerRegistry = nil
            pending.enrollments[node] = record
            credentialChanges.append(.grant(node: node, hash: record.credentialHash))
            answerEnrollment(node, .approved)
        }
        return enrollmentView(record)
    }

    /// `nodes.reject`: the node gets no work, now or later; if it had been approved, its
    /// credentials are removed and it leaves the registry's candidates at once.
    package func reject(_ node: String) throws -> NodeView {
        guard var record = enrollments[node] else { throw unknownEnrollment(node) }
        if record.state != .rejected {
            if record.state == .approved { credentialChanges.append(.revoke(node: node)) }
            record.state = .rejected
            record.decidedAt = now()
            enrollments[node] = record
            pending.enrollments[node] = record
            plannerRegistry = nil
            answerEnrollment(node, .rejected, reason: "rejected by an operator")
        }
        return enrollmentView(record)
    }

    /// An enrollment decision (`nodes.approve`, `nodes.reject`), in the audit record.
    package func recordDecision(_ action: AuditAction, _ node: String, actor: String?) {
        record(action, node, actor: actor)
    }

    /// Pending and rejected nodes get no work; approved and provisioned ones do.
    package func mayReceiveWork(_ node: String) -> Bool {
        guard let record = enrollments[node] else { return true }
        return record.state == .approved
    }

    /// The credential changes since the last call, in order.
    package func takeCredentialChanges() -> [CredentialChange] {
        defer { credentialChanges = [] }
        return credentialChanges
    }

    private func answerEnrollment(_ node: String, _ state: EnrollmentState, reason: String? = nil) {
        guard TopicTree.isValidLevel(node) else { return }
        publish(topics.enrollmentAnswer(node), Wire.encode(EnrollmentAnswer(node: node, state: state, reason: reason)))
    }

    private func enrollmentView(_ record: EnrollmentRecord) -> NodeView {
        if var view = nodes[record.node]?.view {
            view.enrollment = record.state
            return view
        }
        return NodeView(id: record.node, labels: record.labels, online: false, version: "", firstSeen: record.requestedAt,
                        lastSeen: record.requestedAt, enrollment: record.state)
    }

    private func unknownEnrollment(_ node: String) -> EngineError {
        EngineError("no enrollment request from '\(Bounds.prefix(node, maxBytes: 80).text)'; `shoal nodes` lists pending nodes")
    }
}
