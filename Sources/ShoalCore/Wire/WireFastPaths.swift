// The hand-written encodings of the messages that travel once per node: execution reports
// (every node, every job), heartbeats (every node, every few seconds), job messages (one
// per cell, listing its nodes) and the job events that announce reports. Each writes the
// same JSON as its `Codable` conformance, keys in sorted order; WireFastPathTests checks
// both ways against `JSONEncoder`/`JSONDecoder`.

extension ExecutionStatusMessage: WireWritable, WireReadable {
    public func wireBytes() -> [UInt8] {
        WireWriter.object(capacity: 192 + (stdout?.utf8.count ?? 0) + (stderr?.utf8.count ?? 0)) { w in
            w.member("at", at)
            w.member("chunks", chunks)
            w.member("exitCode", exitCode)
            w.member("job", job)
            w.member("node", node)
            w.member("reason", reason)
            w.member("seq", seq)
            w.member("startedAt", startedAt)
            w.member("state", state.rawValue)
            w.member("stderr", stderr)
            w.member("stdout", stdout)
            w.member("v", v)
        }
    }

    public static func read(_ payload: [UInt8]) -> ExecutionStatusMessage? {
        var v: Int?, job: String?, node: String?, seq: UInt32?, state: ExecutionState?, exitCode: Int32?
        var reason: String?, at: Double?, startedAt: Double?, chunks: UInt32?, stdout: String?, stderr: String?
        let understood = WireReader.forEachMember(in: payload) { key, value in
            switch key {
            case "v": value.store(into: &v)
            case "job": value.store(into: &job)
            case "node": value.store(into: &node)
            case "seq": value.store(into: &seq)
            case "state": value.store(into: &state)
            case "exitCode": value.store(into: &exitCode)
            case "reason": value.store(into: &reason)
            case "at": value.store(into: &at)
            case "startedAt": value.store(into: &startedAt)
            case "chunks": value.store(into: &chunks)
            case "stdout": value.store(into: &stdout)
            case "stderr": value.store(into: &stderr)
            default: true
            }
        }
        guard understood, let v, let job, let node, let seq, let state, let at else { return nil }
        var message = ExecutionStatusMessage(job: job, node: node, seq: seq, state: state, exitCode: exitCode,
                                             reason: reason, at: at, startedAt: startedAt, chunks: chunks,
                                             stdout: stdout, stderr: stderr)
        message.v = v
        return message
    }
}

extension HeartbeatMessage: WireWritable, WireReadable {
    public func wireBytes() -> [UInt8] {
        WireWriter.object(capacity: 128) { w in
            w.member("load1", load1)
            w.member("node", node)
            w.member("running", running)
            w.member("sentAt", sentAt)
            w.member("seq", seq)
            w.member("uptime", uptime)
            w.member("v", v)
        }
    }

    public static func read(_ payload: [UInt8]) -> HeartbeatMessage? {
        var v: Int?, node: String?, seq: UInt64?, uptime: Double?, load1: Double?, running: Int?, sentAt: Double?
        let understood = WireReader.forEachMember(in: payload) { key, value in
            switch key {
            case "v": value.store(into: &v)
            case "node": value.store(into: &node)
            case "seq": value.store(into: &seq)
            case "uptime": value.store(into: &uptime)
            case "load1": value.store(into: &load1)
            case "running": value.store(into: &running)
            case "sentAt": value.store(into: &sentAt)
            default: true
            }
        }
        guard understood, let v, let node, let seq, let uptime, let running, let sentAt else { return nil }
        var message = HeartbeatMessage(node: node, seq: seq, uptime: uptime, load1: load1, running: running, sentAt: sentAt)
        message.v = v
        return message
    }
}

extension ExecutionView: WireWritable {
    public func wireBytes() -> [UInt8] {
        WireWriter.object(capacity: 256) { w in write(members: &w) }
    }

    func write(members w: inout WireWriter) {
        w.member("exitCode", exitCode)
        w.member("finishedAt", finishedAt)
        w.member("job", job)
        w.member("node", node)
        w.member("nodeOnline", nodeOnline)
        w.member("outputTruncated", outputTruncated)
        w.member("reason", reason)
        w.member("startedAt", startedAt)
        w.member("state", state.rawValue)
        w.member("stderr", stderr)
        w.member("stdout", stdout)
    }
}

extension JobEvent: WireWritable {
    public func wireBytes() -> [UInt8] {
        WireWriter.object(capacity: 64 + 200 * executions.count) { w in
            w.key("executions")
            w.array(executions) { w, execution in w.object { execution.write(members: &$0) } }
            w.member("finishedAt", finishedAt)
            w.member("job", job)
            if let output {
                w.key("output")
                w.array(output) { w, chunk in
                    w.object { w in
                        w.member("data", chunk.data)
                        w.member("node", chunk.node)
                        w.member("seq", chunk.seq)
                        w.member("stream", chunk.stream.rawValue)
                    }
                }
            }
            w.member("v", v)
        }
    }
}

extension JobMessage: WireWritable {
    /// Written once per cell topic, but with the node list of the whole cell: at 10,000
    /// nodes `JSONEncoder` took about 10 ms of the time between a submission and its
    /// publication.
    public func wireBytes() -> [UInt8] {
        return WireWriter.object(capacity: 512 + nodes.reduce(0) { $0 + $1.utf8.count + 3 }) { w in
            w.member("createdAt", createdAt)
            w.member("deadline", deadline)
            w.member("id", id)
            w.member("incident", incident)
            w.key("nodes")
            w.array(nodes) { w, node in w.string(node) }
            w.member("selector", selector.text)
            if let signature {
                w.key("signature")
                w.object { w in
                    w.member("expiresAt", signature.expiresAt)
                    w.member("nonce", signature.nonce)
                    w.member("signer", signature.signer)
                    w.member("value", signature.value)
                }
            }
            w.key("task")
            w.object { w in
                switch task {
                case .exec(let argv):
                    w.key("argv")
                    w.array(argv) { w, argument in w.string(argument) }
                    w.member("kind", "exec")
                case .shell(let script):
                    w.member("kind", "shell")
                    w.member("script", script)
                }
            }
            w.member("timeout", timeout)
            w.member("v", v)
        }
    }
}
