import ShoalCore

/// What the agent ships as logs, as the CLI (or a test) configures it.
public struct LogShipping: Sendable, Equatable {
    /// Files followed like `tail -F`, each its own source (named by the path as given).
    public var files: [String]
    /// Lines per second per source; more are dropped and reported.
    public var rate: Int
    /// Bytes of lines kept while the broker is unreachable; past it the oldest are dropped and reported.
    public var outboxBytes: Int
    /// How often the files are looked at (latency of a new line, at most).
    public var pollInterval: Duration

    public init(files: [String] = [], rate: Int = 1_000, outboxBytes: Int = 256 * 1024, pollInterval: Duration = .milliseconds(100)) {
        var seen: Set<String> = []
        self.files = files.filter { seen.insert($0).inserted }
        self.rate = rate
        self.outboxBytes = outboxBytes
        self.pollInterval = pollInterval
    }

    public var isEnabled: Bool { !files.isEmpty }
}
