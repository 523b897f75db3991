import BrokerLauncher
import Foundation
import Mosquitto
import ShoalCore
import ShoalEngine

/// Enrollment's I/O: requests are decoded and checked here, a new node's secret is hashed
/// by mosquitto_passwd off the loop (`CredentialHashing`), and the engine's decisions are
/// carried into the broker's password file before their answers are published.
extension EngineShell {
    /// A secret to hash for a first request; the loop runs it beside itself and hands the
    /// result back through `credentialHashed`.
    struct CredentialHashing: Sendable {
        let node: String
        let labels: [String: String]
        let secret: String
    }

    func receiveEnrollment(node: String, payload: [UInt8]) {
        let request: EnrollmentRequest
        do {
            request = try Wire.decode(EnrollmentRequest.self, from: payload)
            guard request.node == node, TopicTree.isValidLevel(node) else {
                throw WireError(description: "node id in payload does not match the topic")
            }
            try request.validate()
        } catch {
            logger.warning("Dropped an enrollment request", metadata: ["topic": "\(topics.enrollmentRequest(node))", "error": "\(error)"])
            return
        }
        guard enrollment != nil else {
            let answer = EnrollmentAnswer(node: node, state: .rejected, reason: "this dispatcher does not enroll nodes; ask an operator for credentials")
            _ = try? client.publish(topics.enrollmentAnswer(node), Wire.encode(answer), qos: 1)
            return
        }
        if engine.needsCredentialHash(for: node) {
            guard hashing.insert(node).inserted else { return }
            hashRequests.append(CredentialHashing(node: node, labels: request.labels, secret: request.secret))
        } else {
            engine.requestEnrollment(node: node, labels: request.labels, credentialHash: nil)
        }
    }

    /// The hashes made since the last call, for the loop to start.
    func takeHashRequests() -> [CredentialHashing] {
        defer { hashRequests = [] }
        return hashRequests
    }

    func credentialHashed(_ request: CredentialHashing, hash: String?) {
        hashing.remove(request.node)
        if let hash {
            engine.requestEnrollment(node: request.node, labels: request.labels, credentialHash: hash)
        } else {
            logger.error("Cannot hash an enrollment request's password (is mosquitto_passwd installed?)",
                         metadata: ["node.id": "\(request.node)"])
        }
        applyCredentialChanges()
        publishOutbox()
    }

    /// Before the outbox: an approval's answer must not reach the agent before the broker
    /// accepts its password.
    func applyCredentialChanges() {
        guard !engine.credentialChanges.isEmpty else { return }
        for change in engine.takeCredentialChanges() {
            do {
                guard let passwordFile = enrollment?.passwordFile else { continue }
                switch change {
                case .grant(let node, let hash): try passwordFile.set(user: node, hash: hash)
                case .revoke(let node): try passwordFile.remove(user: node)
                }
            } catch {
                logger.error("Cannot change the broker's credentials", metadata: ["change": "\(change)", "error": "\(error)"])
            }
        }
    }

    func approve(_ request: EnrollmentDecisionRequest) throws -> NodeView {
        try Bounds.checkActor(request.actor)
        let view = try engine.approve(request.node)
        engine.recordDecision(.approve, request.node, actor: request.actor)
        applyCredentialChanges()
        flush()
        return view
    }

    func reject(_ request: EnrollmentDecisionRequest) throws -> NodeView {
        try Bounds.checkActor(request.actor)
        let view = try engine.reject(request.node)
        engine.recordDecision(.reject, request.node, actor: request.actor)
        applyCredentialChanges()
        flush()
        return view
    }
}
