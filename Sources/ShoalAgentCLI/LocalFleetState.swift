// Not Foundation: `shoal-agent` links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where `shoal up` keeps its fleet: `$SHOAL_HOME/up` (default `~/.shoal/up`). The broker
/// URL file exists only while that fleet is up and ready.
public enum LocalFleetState {
    public static var home: String {
        let environment = ProcessInfo.processInfo.environment
        if let home = environment["SHOAL_HOME"], !home.isEmpty { return home }
        // `NSTemporaryDirectory()`'s rule (TMPDIR, else /tmp) without full Foundation.
        return (environment["HOME"] ?? environment["TMPDIR"] ?? "/tmp") + "/.shoal"
    }

    public static var directory: String { home + "/up" }
    public static var brokerFile: String { directory + "/broker.url" }

    public static func brokerURL() -> String? {
        guard let text = try? String(contentsOfFile: brokerFile, encoding: .utf8) else { return nil }
        // Trimmed by hand: `trimmingCharacters(in:)` is not in FoundationEssentials.
        var trimmed = Substring(text)
        while trimmed.first?.isWhitespace == true { trimmed.removeFirst() }
        while trimmed.last?.isWhitespace == true { trimmed.removeLast() }
        return trimmed.isEmpty ? nil : String(trimmed)
    }
}
