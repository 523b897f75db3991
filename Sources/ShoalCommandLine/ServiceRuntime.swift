import ArgumentParser
import Logging
import ServiceLifecycle

/// Long-running commands (`agent`, `dispatcher`): logging to stderr, one service group,
/// graceful shutdown on SIGTERM and SIGINT.
public enum ServiceRuntime {
    public static func bootstrap(label: String, level: String) -> Logger {
        let level = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }

    public static func run(_ service: any Service, logger: Logger) async throws {
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            logger.critical("Stopped on error", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
