/// Which finished jobs the dispatcher deletes (with their executions and output): those
/// finished longer than `maxAge` ago, then the oldest until the output kept fits `maxBytes`.
/// Unfinished jobs are never pruned. Pure: the caller gives the time.
public struct RetentionPolicy: Sendable, Equatable {
    public struct FinishedJob: Sendable, Equatable {
        public var id: String
        public var finishedAt: Double
        public var outputBytes: Int

        public init(id: String, finishedAt: Double, outputBytes: Int) {
            self.id = id
            self.finishedAt = finishedAt
            self.outputBytes = outputBytes
        }
    }

    /// Seconds a finished job is kept.
    public var maxAge: Double
    /// Stored output bytes kept over all finished jobs.
    public var maxBytes: Int

    /// What `shoal dispatcher` keeps unless told otherwise: 30 days, 1 GiB of output.
    public static let defaultMaxAge: Double = 30 * 86_400
    public static let defaultMaxBytes = 1 << 30
    /// The flags' ranges: 1 minute to 10 years; 1 MiB to 1 TiB.
    public static let maxAgeRange: ClosedRange<Double> = 60...(3_650 * 86_400)
    public static let maxBytesRange: ClosedRange<Int> = (1 << 20)...(1 << 40)

    public init(maxAge: Double = defaultMaxAge, maxBytes: Int = defaultMaxBytes) {
        self.maxAge = maxAge
        self.maxBytes = maxBytes
    }

    /// The ids to delete, oldest first.
    public func expired(_ jobs: [FinishedJob], now: Double) -> [String] {
        let ordered = jobs.sorted { ($0.finishedAt, $0.id) < ($1.finishedAt, $1.id) }
        var total = ordered.reduce(0) { $0 + $1.outputBytes }
        var result: [String] = []
        for job in ordered {
            guard now - job.finishedAt > maxAge || total > maxBytes else { break }
            result.append(job.id)
            total -= job.outputBytes
        }
        return result
    }
}
