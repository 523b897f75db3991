import BrokerLauncher
import Foundation
import Glibc
import Mosquitto
import ShoalCommandLine
import ShoalTestSupport
import Spawn
import Synchronization
import Testing

/// `shoal up --secure` as a user runs it: once the fleet is ready, the CLI finds the broker,
/// the CA and the operator's credentials by itself.
@Suite struct SecureUpTests {
    @Test func theCLIJustWorksAgainstASecureLocalFleet() async throws {
        try await withTemporaryDirectory("shoal-secure-up") { home in
            let (lines, sink) = AsyncStream.makeStream(of: String.self)
            let up = try ChildProcess.spawn(
                .init(arguments: [ShoalBinary.path, "up", "--secure", "--agents", "2", "--heartbeat", "1s"],
                      environment: ["SHOAL_HOME": home]),
                onOutput: { stream, bytes in if stream == .stdout { sink.yield(String(decoding: bytes, as: UTF8.self)) } },
                onExit: { _ in sink.finish() })
            do {
                try await withTimeout(.seconds(60), "shoal up --secure ready") {
                    var text = ""
                    for await chunk in lines {
                        text += chunk
                        if text.contains("Local fleet ready") { return }
                    }
                    throw TimeoutError(description: "shoal up ended before it was ready")
                }
                let secure = home + "/up/secure"
                let url = try String(contentsOfFile: home + "/up/broker.url", encoding: .utf8)
                let broker = try #require(BrokerAddress(url.trimmingCharacters(in: .whitespacesAndNewlines)))
                // Recorded from here on (the fleet's births came before its broker was known).
                try await withContractRecording(
                    broker: broker, username: SecureBrokerProfile.dispatcherUser,
                    password: try SecretFile.readPassword(secure + "/\(SecureBrokerProfile.dispatcherUser).password"),
                    tls: MQTTTLS(caFile: secure + "/ca.crt")
                ) {
                    let run = try await Self.shoal(["run", "--all", "--", "uname", "-s"], home: home)
                    #expect(run.exitCode == 0, "\(run.stdout)\(run.stderr)")
                    #expect(run.stdout.contains("node-01") && run.stdout.contains("node-02") && run.stdout.contains("Linux"))
                }
                #expect(FileManager.default.fileExists(atPath: secure + "/ca.crt"))
                for name in ["shoal-operator", "shoal-dispatcher", "shoal-bootstrap", "node-01"] {
                    var status = stat()
                    #expect(stat(secure + "/\(name).password", &status) == 0 && status.st_mode & 0o077 == 0, "\(name)")
                }
                // Without credentials, straight at the broker: refused.
                let anonymous = try await Self.shoal(["nodes", "--broker", url, "--tls-ca", secure + "/ca.crt"], home: home)
                #expect(anonymous.exitCode != 0)
                #expect(anonymous.stderr.contains("not authorized"))
            } catch {
                up.kill(SIGTERM)
                _ = await up.wait()
                throw error
            }
            up.kill(SIGTERM)
            #expect(await up.wait() == .exited(0))
        }
    }

    /// The CLI with only SHOAL_HOME set, as after `shoal up`.
    private static func shoal(_ arguments: [String], home: String) async throws -> (exitCode: Int32, stdout: String, stderr: String) {
        let output = Mutex<[ChildProcess.Stream: String]>([:])
        let process = try ChildProcess.spawn(
            .init(arguments: [ShoalBinary.path] + arguments, environment: ["SHOAL_HOME": home]),
            onOutput: { stream, bytes in output.withLock { $0[stream, default: ""] += String(decoding: bytes, as: UTF8.self) } })
        let termination = await process.wait()
        return output.withLock { (termination.exitCode, $0[.stdout] ?? "", $0[.stderr] ?? "") }
    }
}
