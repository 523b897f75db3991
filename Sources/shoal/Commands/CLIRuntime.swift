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

    /// Who this command says it runs for, in every request that changes something (the
    /// audit record keeps it): `$USER@hostname`. Self-declared: anyone can claim any name
    /// until requests are signed.
    static var actor: String {
        let environment = ProcessInfo.processInfo.environment
        let user = environment["SHOAL_ACTOR"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(environment["USER"] ?? environment["LOGNAME"] ?? "uid\(getuid())")@\(ProcessInfo.processInfo.hostName)"
        let printable = String(String.UnicodeScalarView(user.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }))
        return Bounds.prefix(printable.isEmpty ? "unknown" : printable, maxBytes: Limits.actorBytes).text
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
