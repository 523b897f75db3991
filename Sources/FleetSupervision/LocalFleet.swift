import BrokerLauncher
import Foundation
import Glibc
import Logging
import Mosquitto
import Spawn
import Synchronization

/// A whole fleet on this machine: mosquitto, one dispatcher and N agents, each a child
/// process of `shoal up` with its log in `{directory}/logs/`.
///
/// Thread-safe: the members are behind a mutex, so that a signal can stop the fleet while
/// it is still starting.
public final class LocalFleet: Sendable {
    public struct Member: Sendable {
        public var name: String
        public var process: ChildProcess
    }

    public let directory: String
    public let broker: MosquittoBroker
    /// Set for `shoal up --secure`: TLS, a password per member, the ACL, enrollment.
    public let profile: SecureBrokerProfile?
    private let members = Mutex<(dispatcher: Member?, agents: [Member])>((nil, []))

    private init(directory: String, broker: MosquittoBroker, profile: SecureBrokerProfile?) {
        self.directory = directory
        self.broker = broker
        self.profile = profile
    }

    static func agentName(_ index: Int) -> String { String(format: "node-%02d", index + 1) }

    /// Labels that vary over region, arch and role, so selectors have something to pick.
    /// `arch` is set explicitly on half of the nodes: one machine cannot have two
    /// architectures, so the local fleet pretends (a real node reports its own).
    public static func labels(forAgent index: Int) -> [String: String] {
        let regions = ["eu", "eu", "us", "us", "eu", "us"]
        let roles = ["web", "web", "db", "edge", "db", "web"]
        var labels = ["region": regions[index % 6], "role": roles[index % 6]]
        if index % 2 == 1 { labels["arch"] = "arm64" }
        return labels
    }

    /// `secure`: the broker gets the secure profile (`SecureBrokerProfile`), with a CA and
    /// certificate made for it and credentials for the dispatcher, an operator (what the
    /// CLI uses afterwards), an integration, the bootstrap token and each of `agents` agents.
    public static func start(directory: String, port: Int32, secure: Bool = false, agents: Int = 0, logger: Logger) async throws -> LocalFleet {
        let profile = secure
            ? try await SecureBrokerProfile.create(in: directory + "/secure", agents: (0..<agents).map(agentName))
            : nil
        let broker = try await MosquittoBroker.start(
            .init(port: port, directory: directory + "/broker", extraLines: profile?.brokerLines ?? []), logger: logger)
        return LocalFleet(directory: directory, broker: broker, profile: profile)
    }

    /// The flags that give a member its credentials (none without the profile).
    private func credentials(_ user: String) -> [String] {
        guard let profile else { return [] }
        return ["--username", user, "--password-file", profile.secretFile(for: user), "--tls-ca", profile.caFile]
    }

    private static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    private func spawn(_ name: String, _ arguments: [String]) throws -> Member {
        let logPath = directory + "/logs/\(name).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)
        let process = try ChildProcess.spawn(
            .init(arguments: [Self.executable] + arguments, environment: ["SHOAL_BROKER": broker.address.description]),
            onOutput: { _, bytes in log?.write(Data(bytes)) })
        return Member(name: name, process: process)
    }

    /// `ruleSigningKey`: a private key file the dispatcher signs its rules' jobs with.
    public func startDispatcher(ruleSigningKey: String? = nil) throws {
        var arguments = ["dispatcher", "--db", directory + "/shoal.db"] + credentials(SecureBrokerProfile.dispatcherUser)
            + (ruleSigningKey.map { ["--rule-signing-key", $0] } ?? [])
        if let profile {
            arguments += ["--enroll-password-file", profile.passwordFile, "--broker-pid-file", profile.pidFile]
        }
        let dispatcher = try spawn("dispatcher", arguments)
        members.withLock { $0.dispatcher = dispatcher }
    }

    /// The local agents share this machine: isolating one "node" would cut off all of them
    /// and everything else here, so their quarantine only says so.
    static let sharedMachineIsolation = [
        "--isolate-command", "echo 'shoal up: local agents share this machine; not changing its network rules' >&2",
        "--release-command", "true",
    ]

    /// Starts `count` agents; with `trustedKeys` (a keys file) they accept only jobs signed
    /// by those keys.
    public func startAgents(_ count: Int, heartbeat: String, trustedKeys: String? = nil) throws {
        for index in 0..<count {
            let name = Self.agentName(index)
            let labels = Self.labels(forAgent: index).sorted { $0.key < $1.key }.flatMap { ["--label", "\($0.key)=\($0.value)"] }
            let agent = try spawn(name, ["agent", "--id", name, "--data-dir", directory + "/agents/\(name)",
                                         "--heartbeat", heartbeat] + labels + credentials(name) + Self.sharedMachineIsolation
                                         + (trustedKeys.map { ["--trusted-keys", $0] } ?? []))
            members.withLock { $0.agents.append(agent) }
        }
    }

    /// Agents first (they finish running jobs and say goodbye), then the dispatcher, then
    /// the broker; anything that does not stop within `grace` is killed.
    public func stop(grace: Duration = .seconds(10)) async {
        let (dispatcher, agents) = members.withLock { ($0.dispatcher, $0.agents) }
        await ChildProcess.terminate(agents.map(\.process), grace: grace)
        await ChildProcess.terminate(dispatcher.map { [$0.process] } ?? [], grace: grace)
        await broker.stop()
    }
}
