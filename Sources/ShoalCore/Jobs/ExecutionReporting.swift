/// How a node reports one execution, shared by the real agent and the simulator.
///
/// Most fleet jobs are quick (a probe, a one-line command). A node waits up to
/// `quickWindow` after starting the task: if it has ended by then and its output is small,
/// one terminal report carries the state, the exit code and the output (one message per
/// node, as cheap as a raw reply). Otherwise it reports `running`, streams numbered output
/// chunks, then the terminal state. `accepted` is implied by either report.
public enum ExecutionReporting {
    public static let quickWindow: Duration = .milliseconds(20)
    public static let inlineOutputLimit = 16 * 1024

    public static let acceptedSeq: UInt32 = 1
    public static let runningSeq: UInt32 = 2
    public static let terminalSeq: UInt32 = 3

    /// Whether output of these sizes may travel inside the terminal report.
    public static func fitsInline(stdout: Int, stderr: Int) -> Bool {
        stdout + stderr <= inlineOutputLimit
    }

    public static func running(job: String, node: String, startedAt: Double, at: Double) -> ExecutionStatusMessage {
        ExecutionStatusMessage(job: job, node: node, seq: runningSeq, state: .running, at: at, startedAt: startedAt)
    }

    /// The terminal report; `inline` output only for a quick job that sent no chunks.
    public static func finished(
        job: String, node: String, state: ExecutionState, exitCode: Int32?, reason: String?, startedAt: Double?,
        at: Double, chunks: UInt32, inline: (stdout: String, stderr: String)? = nil
    ) -> ExecutionStatusMessage {
        ExecutionStatusMessage(
            job: job, node: node, seq: terminalSeq, state: state, exitCode: exitCode, reason: reason, at: at,
            startedAt: startedAt, chunks: chunks, stdout: inline?.stdout, stderr: inline?.stderr)
    }

    /// A terminal state from the exit of the task.
    public static func outcome(exitCode: Int32, signal: Int32?, timedOut: Bool, canceled: Bool,
                               timeout: Double) -> (ExecutionState, String?) {
        if canceled { return (.canceled, "canceled by request") }
        if timedOut { return (.timedOut, "killed after \(DurationText.format(timeout))") }
        if let signal { return (.failed, "killed by signal \(signal)") }
        return exitCode == 0 ? (.succeeded, nil) : (.failed, "exit status \(exitCode)")
    }
}
