import Mosquitto
import Glibc

/// Why an `MQTTSwarm` could not do what it was asked.
public enum MQTTSwarmError: Error, Sendable, CustomStringConvertible {
    /// A system call failed (`operation` names it; `errno` says why).
    case system(operation: String, errno: Int32)
    /// More clients were asked for than this process may open descriptors for.
    case capacity(clients: Int, needed: Int, limit: Int, hardLimit: Int, maximum: Int)
    /// The swarm has been shut down (or was never started) and runs nothing more.
    case stopped

    public var description: String {
        switch self {
        case .system(let operation, let code):
            return "\(operation) failed: \(String(cString: strerror(code)))"
        case .capacity(let clients, let needed, let limit, let hardLimit, let maximum):
            return "\(clients) MQTT clients need about \(needed) open files (\(MQTTSwarm.descriptorsPerClient) each: "
                + "a socket plus libmosquitto's socketpair), but this process may open \(limit) "
                + "(hard limit \(hardLimit)); run at most \(maximum) clients per process"
        case .stopped:
            return "the MQTT swarm is not running"
        }
    }

    /// The one place a failing system call becomes an error: `EINTR` is the caller's to retry.
    @inline(__always)
    static func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(MQTTSwarmError) -> Int32 {
        guard result >= 0 else { throw .system(operation: operation(), errno: errno) }
        return result
    }
}
