import Foundation

/// A fresh directory under the system temporary directory, removed when `body` returns or throws.
public func withTemporaryDirectory<Result>(
    _ prefix: String = "shoal-test", _ body: (String) async throws -> Result
) async throws -> Result {
    let path = NSTemporaryDirectory() + "/\(prefix)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    // Readable by the `mosquitto` user the broker drops to when started as root.
    chmod(path, 0o755)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}
