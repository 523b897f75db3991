/// The stated limits of log shipping (see `Limits`).
extension Limits {
    /// One line's text, in bytes; an agent cuts longer lines (`LogFollower`).
    public static let logLineBytes = 16 * 1024
    /// A source's name (a path), in bytes.
    public static let logSourceBytes = 1_024
    /// Lines (and drop notes) in one `node/{id}/logs` batch; 1,000 full lines stay under `Wire.maximumPayload`.
    public static let logBatchLines = 1_000
    /// Line numbers: a source writing a million lines a second for 285 years stays below.
    public static let logSeq = 1 << 53
    /// Lines per second per source an agent may be configured to ship.
    public static let logRate: ClosedRange<Int> = 1...1_000_000
    /// The agent's log outbox, in bytes: 4 KiB to 1 GiB.
    public static let logOutboxBytes: ClosedRange<Int> = 4 * 1024...(1 << 30)
    /// Files one agent follows.
    public static let logFiles = 64
    /// Lines one `logs.query` reply carries.
    public static let logPageLines: ClosedRange<Int> = 1...5_000
    /// How long the dispatcher keeps log lines: 1 minute to 10 years.
    public static let logRetentionAge: ClosedRange<Double> = 60...(3_650 * 86_400)
    /// How many bytes of log text the dispatcher keeps: 1 MiB to 1 TiB.
    public static let logRetentionBytes: ClosedRange<Int> = (1 << 20)...(1 << 40)
}
