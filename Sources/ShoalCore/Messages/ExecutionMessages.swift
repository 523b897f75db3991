/// `node/{id}/exec/{job}/status`: one state change. `seq` orders the reports of one
/// execution; the dispatcher applies each (job, node, seq) once.
public struct ExecutionStatusMessage: Sendable, Codable, Equatable {
    public var v: Int = Wire.version
    public var job: String
    public var node: String
    public var seq: UInt32
    public var state: ExecutionState
    public var exitCode: Int32?
    /// Why it was rejected or failed without running (never secrets).
    public var reason: String?
    public var at: Double
    public var startedAt: Double?
    /// Number of output chunks sent, so the reader knows when it has them all.
    public var chunks: UInt32?
    /// The whole output of a quick job, carried in its only report instead of chunks.
    public var stdout: String?
    public var stderr: String?

    public init(job: String, node: String, seq: UInt32, state: ExecutionState, exitCode: Int32? = nil,
                reason: String? = nil, at: Double, startedAt: Double? = nil, chunks: UInt32? = nil,
                stdout: String? = nil, stderr: String? = nil) {
        self.job = job
        self.node = node
        self.seq = seq
        self.state = state
        self.exitCode = exitCode
        self.reason = reason
        self.at = at
        self.startedAt = startedAt
        self.chunks = chunks
        self.stdout = stdout
        self.stderr = stderr
    }
}

public enum OutputChannel: String, Sendable, Codable { case stdout, stderr }

/// `node/{id}/exec/{job}/out`: a numbered piece of output (UTF-8, invalid bytes replaced).
public struct OutputChunkMessage: Sendable, Codable, Equatable {
    public var v: Int = Wire.version
    public var job: String
    public var node: String
    public var seq: UInt32
    public var stream: OutputChannel
    public var data: String

    public init(job: String, node: String, seq: UInt32, stream: OutputChannel, data: String) {
        self.job = job
        self.node = node
        self.seq = seq
        self.stream = stream
        self.data = data
    }
}
