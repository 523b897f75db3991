// Not Foundation: `shoal-agent` links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ArgumentParser

/// Reads secrets kept in files (a broker password, a bootstrap token): the first line,
/// bounded, never echoed in an error.
public enum SecretFile {
    /// Longer than any password or token a person or `shoal up` makes; a bigger file is a
    /// wrong path (a log, a binary), not a secret.
    public static let maximumBytes = 4096

    public static func readPassword(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read the password file '\(path)'")
        }
        guard data.count <= maximumBytes else {
            throw ValidationError("the password file '\(path)' holds \(data.count) bytes; a password file holds one line of at most \(maximumBytes) bytes")
        }
        let firstLine = data.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
        guard !firstLine.isEmpty, !firstLine.contains(0) else {
            throw ValidationError("the password file '\(path)' is empty or not text; write the password on its first line")
        }
        return String(decoding: firstLine, as: UTF8.self)
    }
}
