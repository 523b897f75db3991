// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Spawn
import Synchronization

/// Runs a command-line tool (openssl, mosquitto_passwd) to its end and fails with what it
/// printed. Arguments never carry secrets: tools read those from files.
enum ToolRun {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func run(_ arguments: [String]) async throws {
        let output = Mutex<[UInt8]>([])
        let process: ChildProcess
        do {
            process = try ChildProcess.spawn(.init(arguments: arguments), onOutput: { _, bytes in
                output.withLock { if $0.count < 16 * 1024 { $0 += bytes } }
            })
        } catch {
            throw Failure(description: "cannot run \(arguments[0]): \(error) (is it installed?)")
        }
        let termination = await process.wait()
        guard termination == .exited(0) else {
            let text = output.withLock { String(decoding: $0, as: UTF8.self) }
            throw Failure(description: "\(arguments[0]) \(arguments.dropFirst().first ?? "") failed (exit \(termination.exitCode)): \(text)")
        }
    }
}
