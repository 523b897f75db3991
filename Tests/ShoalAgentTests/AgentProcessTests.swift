import Foundation
import Glibc
import Mosquitto
import ShoalTestSupport
import Spawn
import Synchronization
import Testing

/// The `shoal-agent` binary when the broker will not have it.
@Suite("Agent process and the broker") struct AgentProcessTests {
    @Test func refusedCredentialsEndTheAgentWithAClearErrorAndStatus1() async throws {
        try await withMosquitto(configure: { directory in
            let path = directory + "/passwd"
            let made = try await ChildProcess.spawn(
                .init(arguments: ["mosquitto_passwd", "-b", "-c", path, "refused", "secret"])).wait()
            try #require(made.exitCode == 0)
            // Read by mosquitto after it drops to its own user.
            chmod(path, 0o644)
            return ["allow_anonymous false", "password_file \(path)"]
        }) { broker in
            try await withTemporaryDirectory { home in
                let result = try await runAgent(
                    ["--id", "refused", "--data-dir", home + "/data"], broker: broker.address, home: home,
                    environment: ["SHOAL_PASSWORD": "wrong"])
                #expect(result.exitCode == 1)
                #expect(result.stderr.contains("refused the connection: not authorized"), "\(result.stderr)")
            }
        }
    }

    @Test func sigtermStopsAnAgentThatIsStillTryingToConnect() async throws {
        try await withTemporaryDirectory { home in
            let nobody = BrokerAddress(host: "127.0.0.1", port: try LocalPort.free())
            let output = Collected()
            let agent = try ChildProcess.spawn(
                .init(arguments: [ShoalBinary.agentPath, "--id", "patient", "--data-dir", home + "/data"],
                      environment: ["SHOAL_BROKER": nobody.description, "SHOAL_HOME": home]),
                onOutput: { _, bytes in output.append(bytes) })
            do {
                // It says so once it has tried: then it is in the retry loop.
                try await withTimeout(.seconds(20), "the agent to report the broker unreachable") {
                    await output.wait(for: "Broker not reachable")
                }
                agent.kill(SIGTERM)
                let termination = try await withTimeout(.seconds(10), "the agent to exit after SIGTERM") { await agent.wait() }
                #expect(termination.exitCode == 0)
            } catch {
                agent.kill(SIGKILL)
                _ = await agent.wait()
                throw error
            }
        }
    }
}

private func runAgent(
    _ arguments: [String], broker: BrokerAddress, home: String, environment: [String: String]
) async throws -> (exitCode: Int32, stderr: String) {
    let output = Collected()
    let process = try ChildProcess.spawn(
        .init(arguments: [ShoalBinary.agentPath] + arguments,
              environment: ["SHOAL_BROKER": broker.description, "SHOAL_HOME": home].merging(environment) { $1 }),
        onOutput: { _, bytes in output.append(bytes) })
    do {
        let termination = try await withTimeout(.seconds(20), "the agent to exit") { await process.wait() }
        return (termination.exitCode, output.text)
    } catch {
        process.kill(SIGKILL)
        _ = await process.wait()
        throw error
    }
}

/// A child's output, and a way to await a line in it.
private final class Collected: Sendable {
    private struct State {
        var text = ""
        var waiters: [(String, CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    var text: String { state.withLock { $0.text } }

    func append(_ bytes: [UInt8]) {
        let ready = state.withLock { state in
            state.text += String(decoding: bytes, as: UTF8.self)
            let text = state.text
            let ready = state.waiters.filter { text.contains($0.0) }.map(\.1)
            state.waiters.removeAll { text.contains($0.0) }
            return ready
        }
        ready.forEach { $0.resume() }
    }

    func wait(for needle: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let found = state.withLock { state in
                if state.text.contains(needle) { return true }
                state.waiters.append((needle, continuation))
                return false
            }
            if found { continuation.resume() }
        }
    }
}
