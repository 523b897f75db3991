/// The stated limits of every value that enters Shoal by wire, flag or file.
///
/// Each is checked once, where the value enters (`Bounds`, the message validators, the
/// CLI's argument types), so nothing further in can trap on a hostile or mistyped number:
/// Swift traps converting 1e300 seconds to a `Duration` or to an `Int`.
public enum Limits {
    /// A job's per-node run time limit: 1 ms to 7 days.
    public static let timeout: ClosedRange<Double> = 0.001...(7 * 86_400)
    /// How long after submission nodes may still pick a job up: 1 ms to 30 days.
    public static let deadlineIn: ClosedRange<Double> = 0.001...(30 * 86_400)
    /// An agent's heartbeat interval: 100 ms to 1 hour.
    public static let heartbeatInterval: ClosedRange<Double> = 0.1...3_600
    /// UNIX times a node or client may state: 2001-09-09 to 2286-11-20. Anything else is
    /// a broken clock or a forged report.
    public static let timestamp: ClosedRange<Double> = 1_000_000_000...9_999_999_999

    /// One argument of an exec task, and a shell script (one argument of `sh -c`), in
    /// bytes: Linux refuses to exec a single argument of 128 KiB or more (MAX_ARG_STRLEN).
    public static let argumentBytes = 120 * 1024
    /// The whole argv of an exec task, in bytes.
    public static let taskBytes = 256 * 1024
    /// Arguments of an exec task.
    public static let argvCount = 4_096
    /// A selector's text, in bytes.
    public static let selectorBytes = 4_096
    /// Labels per node, and the bytes of one key or value.
    public static let labelCount = 256
    public static let labelBytes = 1_024
    /// A reason or version string, in bytes.
    public static let noteBytes = 4_096
    /// One output chunk as an agent sends it (the agent reads 64 KiB at a time).
    public static let chunkBytes = 256 * 1024
    /// Output the dispatcher stores per execution (both streams); past it, chunks are
    /// dropped and the execution's output ends with a truncation marker.
    public static let storedOutputBytes = 1024 * 1024
    /// Output per execution carried inside an event or a `jobs.get` reply; the rest is
    /// read page by page with `jobs.output`.
    public static let inlineOutputBytes = 64 * 1024
    /// A page of `jobs.output`, in bytes of output.
    public static let outputPageBytes = 1024 * 1024
    /// Characters of a task's text in a job list.
    public static let listedTaskCharacters = 200
    /// Who a request says it comes from (`actor`), in bytes.
    public static let actorBytes = 256
    /// What an audit entry keeps of the request (a task's text, labels), in bytes.
    public static let auditDetailBytes = 512
    /// Jobs in one `jobs.list` reply, entries in one `audit.list` reply.
    public static let listLimit: ClosedRange<Int> = 1...1_000

    /// How often an agent reads its metrics: 1 s to 1 hour (0 or `off` disables them).
    public static let metricsInterval: ClosedRange<Double> = 1...3_600
    /// Samples in one `node/{id}/metrics` message (an agent that was cut off sends what it kept).
    public static let metricSamplesPerMessage = 360
    /// Values in one sample (many mounts, sensors and GPUs), and in one message.
    public static let metricValuesPerSample = 1_024
    public static let metricValuesPerMessage = 20_000
    /// How far back `metrics.query` reaches: up to 400 days.
    public static let metricsSince: ClosedRange<Double> = 1...(400 * 86_400)
    /// Points per series in a `metrics.query` reply, and series (node × metric) per reply.
    public static let metricPoints: ClosedRange<Int> = 1...2_000
    public static let metricSeries = 5_000
}
