// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Mosquitto
import ServiceLifecycle
import ShoalCore

/// The shared credentials a new machine uses to ask to join (`--bootstrap-token-file`):
/// they can only publish an enrollment request and read its answer.
public struct BootstrapCredentials: Sendable {
    public var username: String
    /// Never logged.
    public var token: String

    public init(username: String, token: String) {
        self.username = username
        self.token = token
    }
}

/// An agent's way to its own broker credentials. The agent chooses its password, keeps it
/// in its data directory (`enrollment-secret`, mode 0600) before asking, and sends it with
/// its request over the bootstrap connection; only the dispatcher reads requests. Once
/// approved, the broker accepts that password for the node id and nothing secret travels
/// back: the answer only says `approved`, `pending` or `rejected`.
struct Enrollment {
    let configuration: AgentConfiguration
    let bootstrap: BootstrapCredentials
    let labels: [String: String]
    let logger: Logger

    private var secretPath: String { configuration.dataDirectory + "/enrollment-secret" }
    private var approvedPath: String { configuration.dataDirectory + "/enrolled" }

    /// The node's own password once approved; nil if graceful shutdown came first. Throws
    /// `AgentError.enrollmentRejected` on a rejection.
    func credentials() async throws -> String? {
        let secret = try loadOrMakeSecret()
        if DurableFile.read(approvedPath) != nil { return secret }
        let node = configuration.nodeID
        let topics = configuration.topics
        let client = try MQTTClient(configuration: MQTTConfiguration(
            host: configuration.broker.host, port: configuration.broker.port, clientID: "shoal-enroll-\(node)",
            username: bootstrap.username, password: bootstrap.token, cleanStart: true, tls: configuration.tls
        ), logger: logger)
        guard try await client.startUnlessShuttingDown(subscribingTo: [topics.enrollmentAnswer(node)]) else { return nil }
        defer { client.stop() }
        logger.info("Asking to enroll", metadata: ["broker": "\(configuration.broker)"])
        return try await withThrowingTaskGroup(of: String?.self) { group in
            // Asked again now and then: a dispatcher that was down, or an answer published
            // while this connection was away, would otherwise leave the agent waiting for good.
            // Never ends by itself; cancelled once the answer is in.
            group.addTask {
                while !Task.isCancelled {
                    let request = EnrollmentRequest(node: node, labels: labels, secret: secret, sentAt: Date().timeIntervalSince1970)
                    try? client.publish(topics.enrollmentRequest(node), Wire.encode(request), qos: 1)
                    try? await Task.sleep(for: Self.askAgain)
                }
                return nil
            }
            // The decision; nil on graceful shutdown.
            group.addTask {
                do {
                    try await cancelWhenGracefulShutdown {
                        var toldPending = false
                        for await message in client.messages {
                            guard let answer = try? Wire.decode(EnrollmentAnswer.self, from: message.payload), answer.node == node else { continue }
                            switch answer.state {
                            case .approved:
                                try DurableFile.replace(approvedPath, with: Array("approved\n".utf8), sync: true)
                                logger.info("Enrollment approved")
                                return
                            case .rejected:
                                throw AgentError.enrollmentRejected(node, reason: answer.reason.map { Bounds.prefix($0, maxBytes: 200).text })
                            case .pending:
                                if !toldPending {
                                    toldPending = true
                                    logger.info("Enrollment pending: waiting for an operator (shoal nodes approve \(node))")
                                }
                            }
                        }
                        throw CancellationError()
                    }
                } catch is CancellationError {
                    return nil
                }
                return secret
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }

    /// How often a pending agent repeats its request.
    static let askAgain: Duration = .seconds(15)

    private func loadOrMakeSecret() throws -> String {
        if let stored = DurableFile.read(secretPath) {
            let text = String(decoding: stored, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
            if EnrollmentRequest.secretBytes.contains(text.utf8.count) { return text }
        }
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        for _ in 0..<32 {
            let byte = UInt8.random(in: 0...255, using: &generator)
            bytes += [digits[Int(byte >> 4)], digits[Int(byte & 15)]]
        }
        let secret = String(decoding: bytes, as: UTF8.self)
        // Kept before it is sent (DurableFile writes mode 0600): a crash after asking must
        // not leave the node without the password it asked for.
        try DurableFile.replace(secretPath, with: Array((secret + "\n").utf8), sync: true)
        return secret
    }

    /// Right after an approval the broker may still be reloading its password file: the
    /// first connects with the new password can be refused for a moment.
    static func waitUntilAccepted(_ configuration: MQTTConfiguration, logger: Logger) async throws {
        var probe = configuration
        probe.clientID = configuration.clientID + "-check"
        probe.cleanStart = true
        probe.sessionExpiry = 0
        probe.will = nil
        probe.connectTimeout = .seconds(10)
        var attempt = 0
        while true {
            let client = try MQTTClient(configuration: probe, logger: logger)
            do {
                try await client.start()
                client.stop()
                return
            } catch let error as MQTTConnectError {
                client.stop()
                attempt += 1
                guard case .refused = error.kind, attempt < 20 else {
                    throw AgentError.credentialsRefused(configuration.clientID, detail: error.description)
                }
                // Backoff between attempts, not synchronisation: the broker gives no signal for its reload.
                try await Task.sleep(for: .milliseconds(250))
            }
        }
    }
}
