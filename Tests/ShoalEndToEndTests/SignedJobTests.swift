import Foundation
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance 2 of issue 11: agents that trust an operator key run only jobs signed by it.
/// Unsigned, wrongly signed, forged, expired and replayed jobs, whether they come through
/// the dispatcher or are published straight to a node's job topic (as an attacker on the
/// broker would), run nowhere (each job would append a line to a file of its own) and end
/// `rejected` with their reason; a properly signed job runs.
@Suite(.timeLimit(.minutes(3)))
struct SignedJobTests {
    static let nodes = ["sig-a", "sig-b"]

    @Test func onlyJobsSignedByATrustedKeyRun() async throws {
        try await withFleet(agents: [:]) { fleet in
            let created = try await fleet.shoal("keys", "create")
            #expect(created.exitCode == 0, "\(created.stderr)")
            let keyFile = fleet.home + "/keys/default.key"
            let secret = try String(contentsOfFile: keyFile, encoding: .utf8)
            let mode = (try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int) ?? -1
            #expect(mode == 0o600)
            // The private key never reaches the output, only the public line.
            let seed = try #require(secret.split(separator: " ").last).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!created.stdout.contains(seed) && !created.stderr.contains(seed))
            #expect(created.stdout.hasPrefix("ed25519 "))
            let listed = try await fleet.shoal("keys", "list", "-o", "json")
            #expect(!listed.stdout.contains(seed))

            for node in Self.nodes {
                try fleet.startAgent(node, labels: ["role": "signed"], arguments: ["--trusted-keys", fleet.home + "/keys/default.pub"])
            }
            try await fleet.waitOnline(Set(Self.nodes))
            let marks = fleet.home + "/marks"
            try FileManager.default.createDirectory(atPath: marks, withIntermediateDirectories: true)
            let key = try OperatorPrivateKey(fileContents: secret)
            let attacker = OperatorPrivateKey()
            let now = Date().timeIntervalSince1970
            var generator = SystemRandomNumberGenerator()
            func request(_ id: String, signedBy signer: OperatorPrivateKey?, expiresAt: Double? = nil,
                         tamper: Bool = false) -> SubmitJobRequest {
                var request = SubmitJobRequest(id: id, selector: "role=signed", task: .shell("echo run >> \(marks)/\(id)-$SHOAL_NODE_ID"),
                                               timeout: 30, deadlineIn: 600)
                if let signer, let content = request.signingContent {
                    request.signature = signer.sign(content, expiresAt: expiresAt ?? now + 600, using: &generator)
                }
                // Signed, then changed: what a man in the middle would do.
                if tamper { request.task = .shell("echo pwned >> \(marks)/\(id)-$SHOAL_NODE_ID") }
                return request
            }
            // Each bad job with the reason its rejection must give; `prefix` names a second set.
            func bad(_ prefix: String) -> [(SubmitJobRequest, String)] {
                [
                    (request(prefix + "unsigned", signedBy: nil), "unsigned"),
                    (request(prefix + "wrong-key", signedBy: attacker), "does not trust"),
                    (request(prefix + "tampered", signedBy: key, tamper: true), "forged"),
                    (request(prefix + "expired", signedBy: key, expiresAt: now - 60), "expired"),
                ]
            }
            let observer = try MQTTClient(configuration: .init(port: fleet.address.port, clientID: "signed-observer"),
                                          logger: testLogger("observer"))
            try await observer.start()
            defer { observer.stop() }
            try await observer.subscribe(["shoal/v1/node/+/exec/+/status", "shoal/v1/cell/#"])
            let topics = TopicTree()

            // Through the dispatcher: it passes the signature through; the agents refuse.
            let viaDispatcher = bad(""), direct = bad("direct-")
            try await fleet.client { client in
                for (job, reason) in viaDispatcher {
                    let id = try #require(job.id)
                    try await client.follow(job: id)
                    _ = try await client.request(.submitJob, job, as: JobDetail.self)
                    let views = try await withTimeout(.seconds(20), "\(id) rejected") {
                        try await awaitJob(client, job: id) { views in Self.nodes.allSatisfy { views[$0]?.state.isTerminal == true } }
                    }
                    for node in Self.nodes {
                        #expect(views[node]?.state == .rejected, "\(id) on \(node): \(String(describing: views[node]))")
                        #expect(views[node]?.reason?.contains(reason) == true, "\(id) on \(node): \(views[node]?.reason ?? "no reason")")
                    }
                }
            }

            // Straight to each node's job topic, past the dispatcher.
            for (job, reason) in direct {
                let id = try #require(job.id)
                for node in Self.nodes {
                    let message = JobMessage(id: id, selector: try Selector(parsing: job.selector), task: job.task,
                                             timeout: job.timeout, deadline: now + 600, nodes: [node], createdAt: now,
                                             signature: job.signature)
                    try observer.publish(topics.nodeJob(node), Wire.encode(message))
                }
                let statuses = try await Self.terminalStatuses(of: id, from: observer, nodes: Self.nodes)
                for node in Self.nodes {
                    #expect(statuses[node]?.state == .rejected)
                    #expect(statuses[node]?.reason?.contains(reason) == true, "\(id) on \(node): \(statuses[node]?.reason ?? "none")")
                }
            }

            // A job signed by the trusted key (the CLI signs with the default key): it runs.
            let good = try await fleet.shoal("run", "-s", "role=signed", "--id", "good", "--shell", "echo run >> \(marks)/good-$SHOAL_NODE_ID")
            #expect(good.exitCode == 0, "\(good.stdout)\n\(good.stderr)")
            // The job message as the dispatcher published it, captured by the observer.
            let captured = try await withTimeout(.seconds(10), "captured job") { () -> [UInt8] in
                for await message in observer.messages where message.topic.hasSuffix("/job") {
                    if let job = try? Wire.decode(JobMessage.self, from: message.payload), job.id == "good" { return message.payload }
                }
                throw TimeoutError(description: "no job message")
            }
            // Its reports as they were first sent, so that the next ones are the answers to the replay.
            let ran = try await Self.terminalStatuses(of: "good", from: observer, nodes: Self.nodes)
            #expect(Self.nodes.allSatisfy { ran[$0]?.state == .succeeded })
            let show = try await fleet.shoal("jobs", "show", "good", "-o", "json")
            #expect(show.stdout.contains(key.id), "the job shows its signer")

            // Replayed: the captured message again, to every node's own topic. Each answers
            // from its ledger (the outcome it recorded) and runs nothing.
            for node in Self.nodes {
                var replay = try Wire.decode(JobMessage.self, from: captured)
                replay.nodes = [node]
                try observer.publish(topics.nodeJob(node), Wire.encode(replay))
            }
            let replayed = try await Self.terminalStatuses(of: "good", from: observer, nodes: Self.nodes)
            #expect(Self.nodes.allSatisfy { replayed[$0]?.state == .succeeded })

            // Replayed after its expiry (an old capture, after the ledger forgot it): refused.
            let stale = request("stale", signedBy: key, expiresAt: now - 3_600)
            for node in Self.nodes {
                let message = JobMessage(id: "stale", selector: try Selector(parsing: stale.selector), task: stale.task,
                                         timeout: stale.timeout, deadline: now + 600, nodes: [node], createdAt: now,
                                         signature: stale.signature)
                try observer.publish(topics.nodeJob(node), Wire.encode(message))
            }
            let staleStatuses = try await Self.terminalStatuses(of: "stale", from: observer, nodes: Self.nodes)
            #expect(Self.nodes.allSatisfy { staleStatuses[$0]?.state == .rejected && staleStatuses[$0]?.reason?.contains("expired") == true })

            // The side effects: the good job ran once on each node; nothing else ran anywhere.
            let files = try FileManager.default.contentsOfDirectory(atPath: marks).sorted()
            #expect(files == Self.nodes.map { "good-\($0)" }.sorted())
            for file in files {
                let lines = try String(contentsOfFile: marks + "/" + file, encoding: .utf8).split(separator: "\n")
                #expect(lines == ["run"], "\(file) ran \(lines.count) times")
            }
        }
    }

    /// The terminal reports of `job` the observer sees, one per node.
    static func terminalStatuses(of job: String, from observer: MQTTClient, nodes: [String]) async throws -> [String: ExecutionStatusMessage] {
        try await withTimeout(.seconds(20), "reports of \(job)") {
            var statuses: [String: ExecutionStatusMessage] = [:]
            for await message in observer.messages where message.topic.hasSuffix("/exec/\(job)/status") {
                let status = try Wire.decode(ExecutionStatusMessage.self, from: message.payload)
                if status.state.isTerminal { statuses[status.node] = status }
                if nodes.allSatisfy({ statuses[$0] != nil }) { return statuses }
            }
            throw TimeoutError(description: "observer stream ended")
        }
    }
}
