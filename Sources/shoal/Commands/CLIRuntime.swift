import ArgumentParser
import Foundation
import Logging
import ShoalCommandLine
import ShoalClient
import ShoalCore

/// What every client command shares: logging that stays quiet, a connected client, and
/// failures turned into a message plus a meaningful exit code.
enum CLIRuntime {
    static let unavailableExitCode: Int32 = 69

    static func quietLogger() -> Logger {
        Logger(label: "shoal.cli") { _ in SwiftLogNoOpLogHandler() }
    }

    static func withClient<Result: Sendable>(
        _ connection: ConnectionOptions, _ body: @Sendable (DispatcherClient) async throws -> Result
    ) async throws -> Result {
        do {
            let security = try connection.securityOrLocalFleet
            return try await DispatcherClient.with(
                broker: try connection.addressOrLocalFleet, topics: connection.topics, username: security.username,
                password: security.password, tls: security.tls, logger: quietLogger(), body)
        } catch let failure as DispatcherClient.Failure {
            printError("error: \(failure.description)")
            throw ExitCode(failure.unavailable ? unavailableExitCode : 1)
        }
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

enum SelectorValidation {
    /// Parses locally so a mistake is shown with its position before anything is sent.
    static func check(_ text: String, all: Bool) throws {
        let selector: Selector
        do {
            selector = try Selector(parsing: text)
        } catch {
            throw ValidationError("invalid selector: \(error.description)")
        }
        if selector.isEmpty && !all {
            throw ValidationError("give a selector with -s (e.g. -s 'role=web'), or --all to target every node")
        }
    }
}
