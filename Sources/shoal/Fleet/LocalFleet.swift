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
final class LocalFleet: Sendable {
    struct Member: Sendable {
        var name: String
        var process: ChildProcess
    }

    let directory: String
    let broker: MosquittoBroker
    private let members = Mutex<(dispatcher: Member?, agents: [Member])>((nil, []))

    private init(directory: String, broker: MosquittoBroker) {
        self.directory = directory
        self.broker = broker
    }

    /// Labels that vary over region, arch and role, so selectors have something to pick.
    /// `arch` is set explicitly on half of the nodes: one machine cannot have two
    /// architectures, so the local fleet pretends (a real node reports its own).
    static func labels(forAgent index: Int) -> [String: String] {
        let regions = ["eu", "eu", "us", "us", "eu", "us"]
        let roles = ["web", "web", "db", "edge", "db", "web"]
        var labels = ["region": regions[index % 6], "role": roles[index % 6]]
        if index % 2 == 1 { labels["arch"] = "arm64" }
        return labels
    }

    static func start(directory: String, port: Int32, logger: Logger) async throws -> LocalFleet {
        let broker = try await MosquittoBroker.start(
            .init(port: port, directory: directory + "/broker"), logger: logger)
        return LocalFleet(directory: directory, broker: broker)
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

    func startDispatcher() throws {
        let dispatcher = try spawn("dispatcher", ["dispatcher", "--db", directory + "/shoal.db"])
        members.withLock { $0.dispatcher = dispatcher }
    }

    func startAgents(_ count: Int, heartbeat: String, trustedKeys: String? = nil) throws {
        for index in 0..<count {
            let name = String(format: "node-%02d", index + 1)
            let labels = Self.labels(forAgent: index).sorted { $0.key < $1.key }.flatMap { ["--label", "\($0.key)=\($0.value)"] }
            let agent = try spawn(name, ["agent", "--id", name, "--data-dir", directory + "/agents/\(name)",
                                         "--heartbeat", heartbeat] + labels
                                         + (trustedKeys.map { ["--trusted-keys", $0] } ?? []))
            members.withLock { $0.agents.append(agent) }
        }
    }

    /// Agents first (they finish running jobs and say goodbye), then the dispatcher, then
    /// the broker; anything that does not stop within `grace` is killed.
    func stop(grace: Duration = .seconds(10)) async {
        let (dispatcher, agents) = members.withLock { ($0.dispatcher, $0.agents) }
        await ChildProcess.terminate(agents.map(\.process), grace: grace)
        await ChildProcess.terminate(dispatcher.map { [$0.process] } ?? [], grace: grace)
        await broker.stop()
    }
}
