// Not Foundation: `shoal-agent` links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Shoal's own directory on this machine: `$SHOAL_HOME`, default `~/.shoal` (an agent's
/// data directory, `shoal up`'s fleet).
public enum ShoalHome {
    public static var path: String {
        let environment = ProcessInfo.processInfo.environment
        if let home = environment["SHOAL_HOME"], !home.isEmpty { return home }
        // `NSTemporaryDirectory()`'s rule (TMPDIR, else /tmp) without full Foundation.
        return (environment["HOME"] ?? environment["TMPDIR"] ?? "/tmp") + "/.shoal"
    }
}
