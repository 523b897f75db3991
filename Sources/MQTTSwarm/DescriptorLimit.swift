import Mosquitto
import Glibc

extension MQTTSwarm {
    /// Descriptors one libmosquitto client holds while connected: its socket, and the
    /// socketpair libmosquitto opens at every connect to wake its own (threaded) loop.
    public static let descriptorsPerClient = 3
    /// Descriptors left for everything else in the process (epoll, eventfd, logs, pipes).
    public static let reservedDescriptors = 64

    /// Raises this process's soft limit on open files to its hard limit and returns both.
    /// Idempotent; a process that may not raise it keeps what it has.
    @discardableResult
    public static func raiseDescriptorLimit() -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (1024, 1024) }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) != 0, limit.rlim_max == rlim_t.max {
                // "Unlimited" still stops at the kernel's nr_open; ask for a usual value of it.
                raised.rlim_cur = 1 << 20
                _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised)
            }
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return (clamp(limit.rlim_cur), clamp(limit.rlim_max))
    }

    /// How many swarm clients fit in a process allowed `limit` open files.
    public static func maximumClients(descriptorLimit limit: Int) -> Int {
        max(0, (limit - reservedDescriptors) / descriptorsPerClient)
    }

    /// How many swarm clients fit in this process once its soft limit is raised to the hard one.
    public static func maximumClients() -> Int {
        maximumClients(descriptorLimit: raiseDescriptorLimit().soft)
    }

    /// Raises the limit and throws `MQTTSwarmError.capacity` if `clients` still do not fit.
    static func reserveDescriptors(for clients: Int) throws(MQTTSwarmError) {
        let (soft, hard) = raiseDescriptorLimit()
        let needed = clients * descriptorsPerClient + reservedDescriptors
        guard needed <= soft else {
            throw .capacity(clients: clients, needed: needed, limit: soft, hardLimit: hard,
                            maximum: maximumClients(descriptorLimit: soft))
        }
    }

    private static func clamp(_ value: rlim_t) -> Int {
        value >= rlim_t(Int.max) ? Int.max : Int(value)
    }
}
