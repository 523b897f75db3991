import BrokerLauncher
import Foundation
import Logging
import Mosquitto

/// Runs `body` against a real mosquitto on a free port; the broker is stopped (by pid) and
/// its directory removed on every exit path. `configure` may write files into the broker's
/// directory (a password file) and returns lines for the end of its config, where they win
/// over earlier ones (`allow_anonymous false`).
public func withMosquitto<Result>(
    configure: (_ directory: String) async throws -> [String] = { _ in [] },
    _ body: (MosquittoBroker) async throws -> Result
) async throws -> Result {
    try await withTemporaryDirectory("shoal-broker") { directory in
        let extraLines = try await configure(directory)
        let broker = try await startOnAFreePort(directory: directory, extraLines: extraLines)
        do {
            let result = try await body(broker)
            await broker.stop()
            return result
        } catch {
            await broker.stop()
            throw error
        }
    }
}

/// A port found free can be taken by another test's process before mosquitto binds it:
/// then a fresh port is tried (3 attempts).
private func startOnAFreePort(directory: String, extraLines: [String]) async throws -> MosquittoBroker {
    var attempt = 1
    while true {
        do {
            return try await MosquittoBroker.start(
                .init(port: try LocalPort.free(), directory: directory, extraLines: extraLines), logger: testLogger("broker"))
        } catch let error as MosquittoBroker.StartError where attempt < 3 && error.description.contains("Address already in use") {
            attempt += 1
        }
    }
}

/// Restarts a broker on the same port and directory (its persistence file carries the
/// sessions over). The old one must have been stopped.
public func restart(_ broker: MosquittoBroker) async throws -> MosquittoBroker {
    try await MosquittoBroker.start(broker.configuration, logger: testLogger("broker"))
}

/// Tests never bootstrap the global logging system; they log nowhere unless
/// SHOAL_TEST_LOG is set (then to stderr, for debugging a failing test).
public func testLogger(_ label: String) -> Logger {
    if ProcessInfo.processInfo.environment["SHOAL_TEST_LOG"] != nil {
        return Logger(label: label) { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .debug
            return handler
        }
    }
    return Logger(label: label) { _ in SwiftLogNoOpLogHandler() }
}

/// Races `operation` against an upper bound; the sleep is only the bound, never the
/// synchronisation.
public func withTimeout<Result: Sendable>(
    _ limit: Duration, _ what: String = "operation", _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else {
            throw TimeoutError(description: "\(what) did not finish within \(limit)")
        }
        return result
    }
}

public struct TimeoutError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}
