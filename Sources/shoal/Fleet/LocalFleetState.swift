import Foundation

/// Where `shoal up` keeps its fleet: `$SHOAL_HOME/up` (default `~/.shoal/up`). The broker
/// URL file exists only while that fleet is up and ready.
enum LocalFleetState {
    static var home: String {
        let environment = ProcessInfo.processInfo.environment
        if let home = environment["SHOAL_HOME"], !home.isEmpty { return home }
        return (environment["HOME"] ?? NSTemporaryDirectory()) + "/.shoal"
    }

    static var directory: String { home + "/up" }
    static var brokerFile: String { directory + "/broker.url" }

    static func brokerURL() -> String? {
        guard let text = try? String(contentsOfFile: brokerFile, encoding: .utf8) else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }
}
