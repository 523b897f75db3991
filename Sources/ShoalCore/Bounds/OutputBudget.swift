/// Text that tells a reader where output was cut and how to get the rest.
public enum OutputMarker {
    /// Appended (to stderr) where the dispatcher stopped storing an execution's output.
    public static let storedLimit = "\n[shoal: output truncated: the dispatcher keeps \(Limits.storedOutputBytes / 1024) KiB per node]\n"
    /// Appended to a chunk cut to fit an event (the stored chunk is whole).
    public static let eventLimit = "\n[shoal: chunk cut to fit an event; `shoal jobs output` has it whole]\n"
}

/// Keeps replies and events under what their readers accept (`Wire.maximumPayload`): each
/// execution carries at most `perExecution` bytes of output, and all of them together at
/// most `total`; the rest is marked `outputTruncated`, to be read with `jobs.output`.
///
/// Sizes are counted as JSON, where a control byte becomes six (`\u0001`).
public struct OutputBudget: Sendable {
    public let perExecution: Int
    public private(set) var remaining: Int

    public init(perExecution: Int = Limits.inlineOutputBytes, total: Int = 1024 * 1024) {
        self.perExecution = perExecution
        self.remaining = total
    }

    /// Fills `view`'s output from `stdout` and `stderr` within the budget.
    public mutating func fill(_ view: inout ExecutionView, stdout: String, stderr: String) {
        let allowed = min(perExecution, remaining)
        let (out, outCut) = Self.prefix(stdout, jsonBytes: allowed)
        let outSize = Self.jsonSize(out)
        let (err, errCut) = Self.prefix(stderr, jsonBytes: allowed - outSize)
        remaining -= outSize + Self.jsonSize(err)
        if !stdout.isEmpty { view.stdout = out }
        if !stderr.isEmpty { view.stderr = err }
        if outCut || errCut { view.outputTruncated = true }
    }

    /// Bytes of `text` once escaped in a JSON string.
    public static func jsonSize(_ text: String) -> Int {
        var size = 0
        for byte in text.utf8 {
            size += byte < 0x20 ? 6 : (byte == 0x22 || byte == 0x5c) ? 2 : 1
        }
        return size
    }

    /// The longest start of `text` whose JSON size fits `jsonBytes`, cut at a scalar boundary.
    static func prefix(_ text: String, jsonBytes: Int) -> (String, Bool) {
        guard jsonBytes > 0 else { return ("", !text.isEmpty) }
        var used = 0
        var end = text.unicodeScalars.startIndex
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let size = value < 0x20 ? 6 : (value == 0x22 || value == 0x5c) ? 2 : scalar.utf8.count
            guard used + size <= jsonBytes else { return (String(text.unicodeScalars[..<end]), true) }
            used += size
            end = text.unicodeScalars.index(after: end)
        }
        return (text, false)
    }
}

/// Splits one job's changed executions into events that each stay under `maxBytes`, with
/// each execution's output cut to its share (see `OutputBudget`). `finishedAt` goes on
/// the last event only, so a follower that sees it has seen everything before it.
public enum JobEventPacker {
    public static let maxBytes = 1024 * 1024

    public static func pack(job: String, executions: [ExecutionView], finishedAt: Double?,
                            output: [OutputChunkView] = [], maxBytes: Int = maxBytes) -> [JobEvent] {
        // Output first: a terminal state announced in this commit comes after the output before it.
        var events = packOutput(job: job, output, maxBytes: maxBytes)
        if executions.isEmpty && finishedAt == nil && !events.isEmpty { return events }
        var current: [ExecutionView] = []
        var size = 0
        // Output gets half of each event; names, reasons and states the rest.
        var budget = OutputBudget(perExecution: min(Limits.inlineOutputBytes, maxBytes / 4), total: maxBytes / 2)
        for var view in executions {
            let stdout = view.stdout ?? "", stderr = view.stderr ?? ""
            view.stdout = nil
            view.stderr = nil
            let fixed = 256 + OutputBudget.jsonSize(view.node) + OutputBudget.jsonSize(view.reason ?? "")
            // Output that would not get its whole share here starts a new event.
            let wanted = stdout.isEmpty && stderr.isEmpty
                ? 0 : min(budget.perExecution, OutputBudget.jsonSize(stdout) + OutputBudget.jsonSize(stderr))
            if !current.isEmpty && (size + fixed > maxBytes / 2 || wanted > budget.remaining) {
                events.append(JobEvent(job: job, executions: current))
                current = []
                size = 0
                budget = OutputBudget(perExecution: budget.perExecution, total: maxBytes / 2)
            }
            if !stdout.isEmpty || !stderr.isEmpty { budget.fill(&view, stdout: stdout, stderr: stderr) }
            size += fixed
            current.append(view)
        }
        events.append(JobEvent(job: job, executions: current, finishedAt: finishedAt))
        return events
    }
}

extension JobEventPacker {
    /// Output chunks in events of at most half of `maxBytes` of output each; a chunk larger
    /// than that (an agent sends up to 256 KiB, and a control byte is six in JSON) is cut
    /// to fit, and the cut is said on the chunk itself (`jobs.output` has it whole).
    static func packOutput(job: String, _ output: [OutputChunkView], maxBytes: Int) -> [JobEvent] {
        guard !output.isEmpty else { return [] }
        let share = maxBytes / 2
        var events: [JobEvent] = []
        var current: [OutputChunkView] = []
        var size = 0
        for var chunk in output {
            let fixed = 64 + OutputBudget.jsonSize(chunk.node)
            var dataSize = OutputBudget.jsonSize(chunk.data)
            if fixed + dataSize > share {
                let marker = OutputMarker.eventLimit
                let (kept, _) = OutputBudget.prefix(chunk.data, jsonBytes: share - fixed - OutputBudget.jsonSize(marker))
                chunk.data = kept + marker
                dataSize = OutputBudget.jsonSize(chunk.data)
            }
            if !current.isEmpty && size + fixed + dataSize > share {
                events.append(JobEvent(job: job, executions: [], output: current))
                current = []
                size = 0
            }
            size += fixed + dataSize
            current.append(chunk)
        }
        events.append(JobEvent(job: job, executions: [], output: current))
        return events
    }
}
