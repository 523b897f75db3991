/// A file as the kernel names it: it keeps its identity when it is renamed (rotation).
public struct FileIdentity: Sendable, Hashable, Codable {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}

/// What `stat` says of a file, as the follower needs it.
public struct FileStatus: Sendable, Equatable {
    public var identity: FileIdentity
    public var size: UInt64

    public init(identity: FileIdentity, size: UInt64) {
        self.identity = identity
        self.size = size
    }
}

/// Where a source's shipping stands: the file, the byte just after the last line handled,
/// and that line's number. Kept in the agent's state directory; a restart resumes here.
public struct LogPosition: Sendable, Equatable, Codable {
    public var file: FileIdentity?
    public var offset: UInt64
    public var seq: UInt64

    public init(file: FileIdentity?, offset: UInt64, seq: UInt64) {
        self.file = file
        self.offset = offset
        self.seq = seq
    }
}
