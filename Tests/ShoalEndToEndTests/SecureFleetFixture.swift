import BrokerLauncher
import Foundation
import Mosquitto
import ShoalClient
import ShoalCommandLine
import ShoalCore
import ShoalTestSupport
import Testing

/// A fleet on a broker with the secure profile (TLS, a password per user, the ACL): the
/// profile is made in the broker's own directory, the dispatcher enrolls nodes, and
/// `provisioned` agents get credentials of their own at the start.
final class SecureFleet: @unchecked Sendable {
    // Mutated only by the test body that owns the fixture, never concurrently.
    let broker: MosquittoBroker
    let profile: SecureBrokerProfile
    let home: String
    var dispatcher: ShoalProcess
    var agents: [String: ShoalProcess] = [:]

    init(broker: MosquittoBroker, profile: SecureBrokerProfile, home: String, dispatcher: ShoalProcess) {
        self.broker = broker
        self.profile = profile
        self.home = home
        self.dispatcher = dispatcher
    }

    var address: BrokerAddress { broker.address }
    var tls: MQTTTLS { MQTTTLS(caFile: profile.caFile) }

    func password(_ user: String) throws -> String { try SecretFile.readPassword(profile.secretFile(for: user)) }

    /// An agent with credentials made for it at the start.
    @discardableResult
    func startProvisionedAgent(_ id: String, labels: [String: String], dataDirectory: String? = nil,
                               arguments: [String] = []) throws -> ShoalProcess {
        let agent = try ShoalProcess.start(id, ["agent", "--id", id, "--data-dir", dataDirectory ?? home + "/agents/\(id)",
                                                "--heartbeat", "1s", "--log-level", "debug",
                                                "--username", id, "--password-file", profile.secretFile(for: id),
                                                "--tls-ca", profile.caFile] + Self.labelArguments(labels) + arguments,
                                           broker: address, home: home)
        agents[id] = agent
        return agent
    }

    /// An agent with only the bootstrap token: it has to enroll.
    @discardableResult
    func startEnrollingAgent(_ id: String, labels: [String: String], name: String? = nil, dataDirectory: String? = nil) throws -> ShoalProcess {
        let agent = try ShoalProcess.start(id, ["agent", "--id", id, "--data-dir", dataDirectory ?? home + "/agents/\(id)",
                                                "--heartbeat", "1s", "--log-level", "debug",
                                                "--bootstrap-token-file", profile.secretFile(for: SecureBrokerProfile.bootstrapUser),
                                                "--tls-ca", profile.caFile] + Self.labelArguments(labels),
                                           broker: address, home: home)
        agents[name ?? id] = agent
        return agent
    }

    private static func labelArguments(_ labels: [String: String]) -> [String] {
        labels.sorted { $0.key < $1.key }.flatMap { ["--label", "\($0.key)=\($0.value)"] }
    }

    /// The API as `user` sees it.
    func client<Result: Sendable>(
        as user: String = SecureBrokerProfile.operatorUser, requestTimeout: Duration = .seconds(10),
        _ body: @Sendable (DispatcherClient) async throws -> Result
    ) async throws -> Result {
        try await DispatcherClient.with(broker: address, username: user, password: try password(user), tls: tls,
                                        requestTimeout: requestTimeout, logger: testLogger("client"), body)
    }

    /// A raw MQTT connection with `user`'s credentials (a forger, an observer).
    func rawClient(as user: String, clientID: String) async throws -> MQTTClient {
        let client = try MQTTClient(configuration: MQTTConfiguration(
            host: address.host, port: address.port, clientID: clientID, username: user, password: try password(user),
            connectTimeout: .seconds(10), tls: tls), logger: testLogger(clientID))
        try await client.start()
        return client
    }

    func stopAll() async {
        for agent in agents.values { await agent.stop() }
        await dispatcher.stop()
    }

    var logs: String {
        (["dispatcher": dispatcher].merging(agents) { first, _ in first })
            .sorted { $0.key < $1.key }.map { "== \($0.key)\n\($0.value.log.suffix(3000))" }.joined(separator: "\n")
    }

    func waitForDispatcher() async throws {
        try await withTimeout(.seconds(30), "dispatcher start") {
            try await self.client(requestTimeout: .milliseconds(500)) { client in
                while (try? await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self)) == nil {
                    try Task.checkCancellation()
                }
            }
        }
    }

    /// Waits for the dispatcher's node events until every id in `ids` is online.
    func waitOnline(_ ids: Set<String>) async throws {
        try await withTimeout(.seconds(30), "nodes \(ids.sorted()) online") {
            try await self.client { client in
                try await client.followNodes()
                let nodes = try await client.request(.listNodes, ListNodesRequest(), as: [NodeView].self)
                var waiting = ids.subtracting(nodes.filter(\.online).map(\.id))
                if !waiting.isEmpty {
                    for await node in client.nodeEvents {
                        if node.online { waiting.remove(node.id) }
                        if waiting.isEmpty { break }
                    }
                }
                if !waiting.isEmpty { throw TimeoutError(description: "still waiting for \(waiting)") }
            }
        }
    }

    /// Runs `task` on the nodes `selector` matches and returns each expected node's final state.
    func run(_ selector: String, all: Bool = false, _ task: JobTask, id: String) async throws -> [String: ExecutionView] {
        try await client { client in
            try await client.follow(job: id)
            let detail = try await client.request(.submitJob, SubmitJobRequest(
                id: id, selector: selector, all: all, task: task, timeout: 30, deadlineIn: 60), as: JobDetail.self)
            let expected = Set(detail.executions.map(\.node))
            if expected.isEmpty { return [:] }
            return try await withTimeout(.seconds(30), "job \(id)") {
                try await awaitJob(client, job: id) { views in
                    expected.allSatisfy { views[$0]?.state.isTerminal == true }
                }
            }
        }
    }
}

/// A broker with the secure profile on a free port, a dispatcher that enrolls nodes
/// (`dispatcherArguments` add to its flags), and `provisioned` agents; everything is
/// stopped by pid and removed at the end.
func withSecureFleet(
    provisioned: [String: [String: String]] = [:], spareUsers: [String] = [], dispatcherArguments: [String] = [],
    _ body: (SecureFleet) async throws -> Void
) async throws {
    var made: SecureBrokerProfile?
    try await withMosquitto(configure: { directory in
        let profile = try await SecureBrokerProfile.create(in: directory + "/secure",
                                                           agents: provisioned.keys.sorted() + spareUsers)
        made = profile
        return profile.brokerLines
    }) { broker in
        let profile = try #require(made)
        let recorderUser = SecureBrokerProfile.dispatcherUser
        try await withContractRecording(broker: broker.address, username: recorderUser,
                                        password: try SecretFile.readPassword(profile.secretFile(for: recorderUser)),
                                        tls: MQTTTLS(caFile: profile.caFile)) {
            try await withTemporaryDirectory("shoal-secure-fleet") { home in
                let dispatcher = try ShoalProcess.dispatcher(broker: broker.address, home: home, arguments: [
                    "--username", SecureBrokerProfile.dispatcherUser,
                    "--password-file", profile.secretFile(for: SecureBrokerProfile.dispatcherUser), "--tls-ca", profile.caFile,
                    "--enroll-password-file", profile.passwordFile, "--broker-pid-file", profile.pidFile,
                ] + dispatcherArguments)
                let fleet = SecureFleet(broker: broker, profile: profile, home: home, dispatcher: dispatcher)
                do {
                    try await fleet.waitForDispatcher()
                    for (id, labels) in provisioned.sorted(by: { $0.key < $1.key }) { try fleet.startProvisionedAgent(id, labels: labels) }
                    try await fleet.waitOnline(Set(provisioned.keys))
                    try await body(fleet)
                } catch {
                    Issue.record("secure fleet logs:\n\(fleet.logs)")
                    await fleet.stopAll()
                    throw error
                }
                await fleet.stopAll()
            }
        }
    }
}
