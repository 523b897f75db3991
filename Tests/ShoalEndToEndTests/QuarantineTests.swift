import Foundation
import Glibc
import Mosquitto
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Spawn
import Testing

/// Acceptance (issue 11, 6), in a network namespace this test makes (root only): the
/// quarantined node's agent, inside the namespace, still reaches the broker and can no
/// longer reach a TCP server beside it (its real, built-in nftables isolation); an
/// `--incident` job reaches it; `--all` leaves it out; after `release` all is as before.
@Suite struct QuarantineTests {
    @Test(.enabled(if: NetworkNamespace.usable, "needs root, iproute2 and nft (scripts/test installs nftables)"))
    func aQuarantinedNodeReachesOnlyTheBrokerAndRunsOnlyIncidentJobs() async throws {
        try await NetworkNamespace.with { namespace in
            // A server beside the node: on the host's end of the link, like the broker.
            let server = try ListeningSocket(address: namespace.hostAddress)
            defer { server.close() }
            let brokerPort = try LocalPort.free()
            try await withFleet(agents: ["outside": ["role": "q"]],
                                brokerLines: { _ in ["listener \(brokerPort) \(namespace.hostAddress)"] }) { fleet in
                let inside = try ShoalProcess.start("inside", [
                    "netns", "exec", namespace.name, ShoalBinary.path, "agent", "--id", "inside", "--label", "role=q",
                    "--data-dir", fleet.home + "/agents/inside", "--heartbeat", "1s", "--log-level", "debug",
                    "--broker", "mqtt://\(namespace.hostAddress):\(brokerPort)",
                ], broker: fleet.address, home: fleet.home, executable: NetworkNamespace.ip)
                fleet.agents["inside"] = inside
                try await fleet.waitOnline(["inside"])
                // Connect to the server from the node: exit 0 when it answers within 2 s.
                let probe = "timeout 2 bash -c '</dev/tcp/\(namespace.hostAddress)/\(server.port)'"

                // Before: an ordinary job reaches the node, and the node reaches the server.
                var run = try await fleet.shoal("run", "-s", "name=inside", "-o", "json", "--shell", probe)
                #expect(run.exitCode == 0, "before quarantine: \(run.stdout)\(run.stderr)")

                try await fleet.client { client in
                    try await client.followNodes()
                    let quarantined = try await client.request(.quarantineNode, NodeStateRequest(node: "inside", actor: "test"),
                                                               as: NodeView.self)
                    #expect(quarantined.state == .quarantined)
                    // The agent confirms its isolation with a birth; the registry shows it.
                    _ = try await withTimeout(.seconds(20), "the node's isolation confirmed") {
                        for await view in client.nodeEvents where view.id == "inside" && view.isolated == true { return view }
                        throw CancellationError()
                    }
                }
                let listed = try decodeJSON([NodeView].self, try await fleet.shoal("nodes", "-o", "json").stdout)
                #expect(listed.first { $0.id == "inside" }?.state == .quarantined)
                #expect(try await fleet.shoal("nodes").stdout.contains("quarantined"))

                // --all and any selector leave it out.
                run = try await fleet.shoal("run", "--all", "-o", "json", "--", "true")
                #expect(try decodeJSON(JobDetail.self, run.stdout).executions.map(\.node) == ["outside"])
                run = try await fleet.shoal("run", "-s", "name=inside", "-o", "json", "--", "true")
                #expect(run.exitCode == 2, "a selector naming it matched: \(run.stdout)")

                // An incident job reaches it (through the broker, which it still reaches),
                // and from there the server beside it is cut off.
                run = try await fleet.shoal("run", "--incident", "-s", "name=inside", "-o", "json", "--shell", probe)
                let incident = try decodeJSON(JobDetail.self, run.stdout)
                #expect(incident.executions.map(\.node) == ["inside"])
                #expect(incident.executions.first?.state == .failed, "the quarantined node reached the server: \(run.stdout)")
                #expect(incident.executions.first?.exitCode == 124, "\(run.stdout)")
                // The node itself refuses an ordinary job, even one published to it by hand.
                let refusal = try await Self.publishStraightToNode("inside", fleet: fleet)
                #expect(refusal.state == .rejected && refusal.reason?.contains("quarantined") == true, "\(refusal)")

                // Release: everything as before.
                try await fleet.client { client in
                    try await client.followNodes()
                    _ = try await client.request(.releaseNode, NodeStateRequest(node: "inside"), as: NodeView.self)
                    _ = try await withTimeout(.seconds(20), "the node's release confirmed") {
                        for await view in client.nodeEvents where view.id == "inside" && view.isolated == nil && view.online {
                            return view
                        }
                        throw CancellationError()
                    }
                }
                run = try await fleet.shoal("run", "--all", "-o", "json", "--shell", probe)
                let after = try decodeJSON(JobDetail.self, run.stdout)
                #expect(after.executions.map(\.node) == ["inside", "outside"])
                #expect(after.executions.allSatisfy { $0.state == .succeeded }, "after release: \(run.stdout)")
            }
        }
    }
}

extension QuarantineTests {
    /// Publishes an ordinary job on the node's own job topic, as a stale registry or a forger
    /// would, and returns the node's terminal report.
    static func publishStraightToNode(_ node: String, fleet: Fleet) async throws -> ExecutionStatusMessage {
        let topics = TopicTree()
        let forger = try MQTTClient(configuration: .init(port: fleet.address.port, clientID: "quarantine-forger"),
                                    logger: testLogger("forger"))
        try await forger.start()
        defer { forger.stop() }
        try await forger.subscribe([topics.execStatus(node: node, job: "forged-ordinary")])
        let now = Date().timeIntervalSince1970
        let job = JobMessage(id: "forged-ordinary", selector: try Selector(parsing: ""), task: .exec(["true"]), timeout: 10,
                             deadline: now + 600, nodes: [node], createdAt: now)
        try await forger.publishConfirmed(MQTTMessage(topic: topics.nodeJob(node), payload: Wire.encode(job)))
        return try await withTimeout(.seconds(20), "the node's answer to a forged job") {
            for await message in forger.messages {
                let status = try Wire.decode(ExecutionStatusMessage.self, from: message.payload)
                if status.state.isTerminal { return status }
            }
            throw CancellationError()
        }
    }
}

/// A network namespace joined to this one by a veth pair (10.x addresses on that link
/// only), removed with everything in it (its nftables rules included) on every exit path.
struct NetworkNamespace: Sendable {
    static let ip = "/usr/sbin/ip"
    let name: String
    let hostLink: String
    let hostAddress: String

    static var usable: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: ip)
            && ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].contains { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func with<Result>(_ body: (NetworkNamespace) async throws -> Result) async throws -> Result {
        let id = getpid() % 10_000
        let subnet = "10.215.\(id % 200 + 20)"
        let namespace = NetworkNamespace(name: "shoalq\(id)", hostLink: "sq\(id)h", hostAddress: "\(subnet).1")
        let inside = "sq\(id)n"
        do {
            try await run(["netns", "add", namespace.name])
            try await run(["link", "add", namespace.hostLink, "type", "veth", "peer", "name", inside])
            try await run(["link", "set", inside, "netns", namespace.name])
            try await run(["addr", "add", "\(namespace.hostAddress)/30", "dev", namespace.hostLink])
            try await run(["link", "set", namespace.hostLink, "up"])
            try await run(["netns", "exec", namespace.name, ip, "addr", "add", "\(subnet).2/30", "dev", inside])
            try await run(["netns", "exec", namespace.name, ip, "link", "set", inside, "up"])
            try await run(["netns", "exec", namespace.name, ip, "link", "set", "lo", "up"])
            let result = try await body(namespace)
            await namespace.remove()
            return result
        } catch {
            await namespace.remove()
            throw error
        }
    }

    private func remove() async {
        _ = try? await Self.run(["netns", "del", name])
        _ = try? await Self.run(["link", "del", hostLink])
    }

    private static func run(_ arguments: [String]) async throws {
        var stderr: [UInt8] = []
        let (done, sink) = AsyncStream.makeStream(of: [UInt8].self)
        let process = try ChildProcess.spawn(.init(arguments: [ip] + arguments),
                                             onOutput: { stream, bytes in if stream == .stderr { sink.yield(bytes) } },
                                             onExit: { _ in sink.finish() })
        for await bytes in done { stderr += bytes }
        let termination = await process.wait()
        guard termination == .exited(0) else {
            throw TimeoutError(description: "ip \(arguments.joined(separator: " ")): \(String(decoding: stderr, as: UTF8.self))")
        }
    }
}

/// A TCP socket listening on `address` and a free port: the kernel completes connections
/// to it without anyone accepting, which is all a reachability probe needs.
final class ListeningSocket: Sendable {
    let descriptor: Int32
    let port: Int32

    init(address: String) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = 0
        inet_pton(AF_INET, address, &socketAddress.sin_addr)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 16) == 0 else {
            Glibc.close(descriptor)
            throw TimeoutError(description: "cannot listen on \(address): errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        port = Int32(UInt16(bigEndian: socketAddress.sin_port))
    }

    func close() { Glibc.close(descriptor) }
}
