import BrokerLauncher
import Foundation
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// The secure profile, shown by delivery or refusal against a real mosquitto: an agent's
/// credentials reach nothing outside its own subtree, and forgeries that work on the open
/// development broker have no effect.
///
/// "No effect" is checked after a barrier, never after a sleep: the broker answers a
/// publish (PUBACK) only once it has routed it, so a message the test publishes afterwards
/// reaches the same subscriber later. An observer with the dispatcher's rights therefore
/// sees a forged message (if it went through) before its own barrier message, and the
/// dispatcher, which handles its input in order, has applied it before it answers a later
/// request.
@Suite(.serialized) struct SecureBrokerTests {
    @Test func anonymousClientsAndWrongPasswordsAreRefused() async throws {
        try await withSecureFleet { fleet in
            for (user, password) in [(nil, nil), ("node-x", "wrong"), (SecureBrokerProfile.operatorUser, "wrong")] as [(String?, String?)] {
                let client = try MQTTClient(configuration: MQTTConfiguration(
                    host: fleet.address.host, port: fleet.address.port, clientID: "intruder", username: user, password: password,
                    connectTimeout: .seconds(10), tls: fleet.tls), logger: testLogger("intruder"))
                defer { client.stop() }
                let error = await #expect(throws: MQTTConnectError.self) { try await client.start() }
                guard case .refused? = error?.kind else {
                    Issue.record("\(user ?? "anonymous") was not refused: \(String(describing: error))")
                    continue
                }
                #expect(error?.description.contains("refused the connection") == true)
            }
            // Plain TCP to the TLS listener gets no MQTT session either.
            let plain = try MQTTClient(configuration: MQTTConfiguration(
                host: fleet.address.host, port: fleet.address.port, clientID: "plain", connectTimeout: .seconds(3)),
                logger: testLogger("plain"))
            defer { plain.stop() }
            await #expect(throws: MQTTConnectError.self) { try await plain.start() }
            // The CLI says so with its exit code for an unavailable service, and no secret.
            let denied = try await ShoalBinary.run(
                ["nodes", "--username", "shoal-operator", "--tls-ca", fleet.profile.caFile,
                 "--password-file", fleet.profile.secretFile(for: "node-a-missing")],
                broker: fleet.address, home: fleet.home)
            #expect(denied.exitCode == 64)
            #expect(denied.stderr.contains("--password-file"))
        }
    }

    @Test func anAgentsCredentialsCannotForgeReportsForAnotherNode() async throws {
        try await withSecureFleet(provisioned: ["node-a": ["role": "web"], "node-b": ["role": "db"]]) { fleet in
            let topics = TopicTree()
            let forger = try await fleet.rawClient(as: "node-a", clientID: "forger-a")
            defer { forger.stop() }
            let observer = try await fleet.rawClient(as: SecureBrokerProfile.dispatcherUser, clientID: "observer")
            defer { observer.stop() }
            let barrier = "shoal/v1/test/barrier"

            // A job that keeps running on node-b while the forgeries are tried.
            let job = "secure-forgery"
            try await fleet.client { client in
                try await client.follow(job: job)
                _ = try await client.request(.submitJob, SubmitJobRequest(
                    id: job, selector: "name=node-b", task: .exec(["sleep", "30"]), timeout: 10, deadlineIn: 120), as: JobDetail.self)
                _ = try await withTimeout(.seconds(20), "node-b running") {
                    try await awaitJob(client, job: job) { $0["node-b"]?.state == .running }
                }
            }

            // Subscribed once the real job has been delivered: from now on nothing may arrive there.
            try await observer.subscribe([topics.nodeJob("node-b"), topics.nodeControl("node-b"), "shoal/v1/node/ghost/#", barrier])
            let marker = fleet.home + "/forged-job-ran"
            let forgeries: [(String, [UInt8])] = [
                // A terminal status for node-b's execution.
                (topics.execStatus(node: "node-b", job: job), Wire.encode(ExecutionStatusMessage(
                    job: job, node: "node-b", seq: 3, state: .succeeded, exitCode: 0, at: Date().timeIntervalSince1970))),
                // A birth that relabels node-b, and one that registers a ghost.
                (topics.birth("node-b"), Wire.encode(BirthMessage(
                    node: "node-b", labels: ["name": "node-b", "role": "evil"], version: "x", bdSeq: 999,
                    heartbeatInterval: 1, sentAt: Date().timeIntervalSince1970))),
                (topics.birth("ghost"), Wire.encode(BirthMessage(
                    node: "ghost", labels: ["name": "ghost"], version: "x", bdSeq: 1, heartbeatInterval: 1,
                    sentAt: Date().timeIntervalSince1970))),
                // A cancel on node-b's control topic, and a job straight to its job topic.
                (topics.nodeControl("node-b"), Wire.encode(ControlMessage(op: .cancel, job: job))),
                (topics.nodeJob("node-b"), Wire.encode(JobMessage(
                    id: "forged-job", selector: try Selector(parsing: ""), task: .exec(["touch", marker]), timeout: 10,
                    deadline: Date().timeIntervalSince1970 + 60, nodes: ["node-b"], createdAt: Date().timeIntervalSince1970))),
            ]
            for (topic, payload) in forgeries {
                try await forger.publishConfirmed(MQTTMessage(topic: topic, payload: payload, qos: 1,
                                                              userProperties: [ContractRecording.offContract]))
            }
            try await observer.publishConfirmed(MQTTMessage(topic: barrier, payload: Array("barrier".utf8), qos: 1,
                                                            userProperties: [ContractRecording.offContract]))
            let seen = try await withTimeout(.seconds(10), "barrier") {
                var topicsSeen: [String] = []
                for await message in observer.messages {
                    if message.topic == barrier { return topicsSeen }
                    topicsSeen.append(message.topic)
                }
                return topicsSeen
            }
            #expect(seen.isEmpty, "the broker delivered forged messages: \(seen)")

            // The dispatcher applied nothing of it: node-b still runs, keeps its labels, no ghost.
            try await fleet.client { client in
                let detail = try await client.request(.getJob, GetJobRequest(id: job, withOutput: false), as: JobDetail.self)
                #expect(detail.executions.first?.state == .running)
                let nodes = try await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self)
                #expect(nodes.map(\.id) == ["node-a", "node-b"])
                #expect(nodes.first { $0.id == "node-b" }?.labels["role"] == "db")
            }
            #expect(!FileManager.default.fileExists(atPath: marker))
        }
    }

    @Test func anAgentsCredentialsCannotReadAnotherNodesJobsNorCallTheAPI() async throws {
        try await withSecureFleet(provisioned: ["node-a": [:], "node-b": [:]]) { fleet in
            let topics = TopicTree()
            let spy = try await fleet.rawClient(as: "node-a", clientID: "spy-a")
            defer { spy.stop() }
            // The subscription may be refused outright or accepted and never served; either way
            // nothing for node-b may arrive.
            try? await spy.subscribe([topics.nodeJob("node-b"), topics.birth("node-a")])
            let states = try await fleet.run("name=node-b", .exec(["true"]), id: "for-node-b-only")
            #expect(states["node-b"]?.state == .succeeded)
            // Barrier on the spy's own connection: its own birth topic comes back to it.
            try await spy.publishConfirmed(MQTTMessage(topic: topics.birth("node-a"), payload: Array("barrier".utf8), qos: 1,
                                                       userProperties: [ContractRecording.offContract]))
            let leaked = try await withTimeout(.seconds(10), "barrier") {
                var leaked: [String] = []
                for await message in spy.messages {
                    if message.topic == topics.birth("node-a") { return leaked }
                    leaked.append(message.topic)
                }
                return leaked
            }
            #expect(leaked.isEmpty, "node-a read: \(leaked)")

            // The API: every request gets an answer, in milliseconds; node-a's gets none.
            await #expect(throws: DispatcherClient.Failure.self) {
                try await fleet.client(as: "node-a", requestTimeout: .seconds(3)) { client in
                    _ = try await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self)
                }
            }
        }
    }

    @Test func aSecondAgentWithATakenNodeIdIsRefusedAndTheFirstKeepsWorking() async throws {
        try await withSecureFleet(provisioned: ["node-a": [:]]) { fleet in
            let first = try #require(fleet.agents["node-a"])
            let twin = try fleet.startProvisionedAgent("node-a", labels: [:], dataDirectory: fleet.home + "/twin")
            fleet.agents["node-a-twin"] = twin
            fleet.agents["node-a"] = first
            // Either may lose the fight; the loser stops on its own with the reason, the
            // survivor runs jobs.
            try await withThrowingTaskGroup(of: String.self) { group in
                group.addTask { _ = await first.process.wait(); return "first" }
                group.addTask { _ = await twin.process.wait(); return "twin" }
                group.addTask {
                    // An upper bound only.
                    try await Task.sleep(for: .seconds(90))
                    throw TimeoutError(description: "neither agent stopped")
                }
                let loser = try await group.next()!
                let (stopped, survivor) = loser == "first" ? (first, twin) : (twin, first)
                #expect(stopped.log.contains("another agent with node id node-a"))
                try await fleet.waitOnline(["node-a"])
                let states = try await fleet.run("name=node-a", .exec(["true"]), id: "after-twin")
                #expect(states["node-a"]?.state == .succeeded)
                await survivor.stop()
                group.cancelAll()
                while (try? await group.next()) != nil {}
            }
        }
    }

    /// Secrets and TLS flags are checked where they enter: each bad value exits 64 with a
    /// message naming the flag or file, and never echoes a secret.
    @Test func securityFlagsAreCheckedWhereTheyEnter() async throws {
        try await withTemporaryDirectory("shoal-flags") { directory in
            let empty = directory + "/empty", huge = directory + "/huge", secret = directory + "/secret"
            try Data().write(to: URL(fileURLWithPath: empty))
            try Data(repeating: UInt8(ascii: "a"), count: 1 << 20).write(to: URL(fileURLWithPath: huge))
            try Data("s3cr3t-value\n".utf8).write(to: URL(fileURLWithPath: secret))
            let nowhere = BrokerAddress(host: "127.0.0.1", port: 1)
            let cases: [([String], String)] = [
                (["nodes", "--password-file", empty], "empty"),
                (["nodes", "--password-file", huge], "at most 4096 bytes"),
                (["nodes", "--password-file", directory + "/missing"], "--password-file"),
                (["nodes", "--tls-ca", directory + "/missing"], "--tls-ca"),
                (["nodes", "--tls-ca", secret, "--tls-cert", secret], "--tls-key"),
                (["agent", "--id", "n", "--bootstrap-token-file", secret], "--tls-ca"),
                (["agent", "--id", "n", "--bootstrap-token-file", directory + "/missing", "--tls-ca", secret], "--bootstrap-token-file"),
                (["dispatcher", "--auto-approve", "env=lab"], "--enroll-password-file"),
                (["dispatcher", "--enroll-password-file", secret], "--broker-pid-file"),
                (["dispatcher", "--enroll-password-file", secret, "--broker-pid-file", secret, "--auto-approve", "env in ("], "--auto-approve"),
                (["dispatcher", "--enroll-password-file", secret, "--broker-pid-file", secret, "--auto-approve", ""], "--auto-approve"),
                (["simulate", "--agents", "1", "--tls-ca", directory + "/missing"], "--tls-ca"),
            ]
            for (arguments, expected) in cases {
                let result = try await ShoalBinary.run(arguments, broker: nowhere, home: directory)
                #expect(result.exitCode == 64, "\(arguments): \(result.stderr)")
                #expect(result.stderr.contains(expected), "\(arguments): \(result.stderr)")
                #expect(!result.stderr.contains("s3cr3t-value"), "\(arguments) printed the secret")
            }
        }
    }

    /// broker-config/secure/acl is what the profile generates for the default prefix.
    @Test func theCheckedInACLMatchesTheGeneratedOne() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let checkedIn = try String(contentsOf: root.appendingPathComponent("broker-config/secure/acl"), encoding: .utf8)
        #expect(checkedIn == SecureBrokerProfile.renderACL(prefix: "shoal/v1"))
    }
}
