/// The checks each message and request gets where it enters. A failure names the field:
/// an API request is answered with it, a job is `rejected` with it, a report is dropped
/// and logged with it.

extension JobTask {
    public func validate(field: String = "task") throws(BoundsError) {
        switch self {
        case .exec(let argv):
            try Bounds.check(argv.count, field + ".argv count", in: 1...Limits.argvCount)
            var total = 0
            for (index, argument) in argv.enumerated() {
                try Bounds.check(argument, "\(field).argv[\(index)]", maxBytes: Limits.argumentBytes)
                total += argument.utf8.count
            }
            if total > Limits.taskBytes {
                throw BoundsError(field: field + ".argv", "\(total) bytes is over the limit of \(Limits.taskBytes)")
            }
            if argv[0].isEmpty { throw BoundsError(field: field + ".argv[0]", "is empty") }
        case .shell(let script):
            try Bounds.check(script, field + ".script", maxBytes: Limits.argumentBytes)
        }
    }
}

extension SubmitJobRequest {
    public func validate() throws(BoundsError) {
        if let id, !JobID.isValid(id) {
            throw BoundsError(field: "id", "'\(Bounds.prefix(id, maxBytes: 80).text)' is not a job id: 1-64 letters, digits, '-', '_' or '.'")
        }
        try Bounds.check(selector, "selector", maxBytes: Limits.selectorBytes)
        try task.validate()
        try Bounds.check(timeout, "timeout", in: Limits.timeout, unit: " seconds")
        try Bounds.check(deadlineIn, "deadlineIn", in: Limits.deadlineIn, unit: " seconds")
        try Bounds.checkActor(actor)
        if let signature {
            if id == nil { throw BoundsError(field: "id", "a signed job must carry the id it was signed with") }
            try signature.validate()
        }
        try rollout?.validate()
        if let health {
            if health.isEmpty { throw BoundsError(field: "health", "is empty; leave it out for no health check") }
            if signature != nil {
                throw BoundsError(field: "health", "a signed job's health check must be part of the task it signs (shoal run --health joins them before signing)")
            }
            try Bounds.check(health, "health", maxBytes: Limits.argumentBytes / 2)
            try taskToRun.validate(field: "task with its health check")
        }
    }
}

extension JobMessage {
    /// What an agent checks before it runs anything: a job that would make it trap (a
    /// timeout no `Duration` can hold) or run something other than what was shown (NUL).
    public func validate() throws(BoundsError) {
        try task.validate()
        try Bounds.check(timeout, "timeout", in: Limits.timeout, unit: " seconds")
        try Bounds.checkTimestamp(deadline, "deadline")
        try Bounds.checkTimestamp(createdAt, "createdAt")
    }
}

extension ExecutionStatusMessage {
    public func validate() throws(BoundsError) {
        try Bounds.checkTimestamp(at, "at")
        if let startedAt { try Bounds.checkTimestamp(startedAt, "startedAt") }
        if let reason { try Bounds.check(reason, "reason", maxBytes: Limits.noteBytes) }
        if let stdout { try Bounds.check(stdout.utf8.count, "stdout bytes", in: 0...Limits.chunkBytes) }
        if let stderr { try Bounds.check(stderr.utf8.count, "stderr bytes", in: 0...Limits.chunkBytes) }
    }
}

extension OutputChunkMessage {
    public func validate() throws(BoundsError) {
        if seq == 0 { throw BoundsError(field: "seq", "must be at least 1") }
        try Bounds.check(data.utf8.count, "data bytes", in: 0...Limits.chunkBytes)
    }
}

extension BirthMessage {
    public func validate() throws(BoundsError) {
        try Bounds.checkLabels(labels, "labels")
        try Bounds.check(version, "version", maxBytes: Limits.labelBytes)
        try Bounds.check(heartbeatInterval, "heartbeatInterval", in: Limits.heartbeatInterval, unit: " seconds")
        try Bounds.checkTimestamp(sentAt, "sentAt")
    }
}

extension ControlMessage {
    public func validate() throws(BoundsError) {
        if let job, !JobID.isValid(job) { throw BoundsError(field: "job", "not a job id") }
        if let set { try Bounds.checkLabels(set, "set") }
        if let remove {
            try Bounds.check(remove.count, "remove count", in: 0...Limits.labelCount)
            for key in remove { try Bounds.check(key, "remove", maxBytes: Limits.labelBytes) }
        }
        if let node { try Bounds.check(node, "node", maxBytes: Limits.labelBytes) }
        try signature?.validate()
    }
}

extension HeartbeatMessage {
    public func validate() throws(BoundsError) {
        try Bounds.checkTimestamp(sentAt, "sentAt")
    }
}
