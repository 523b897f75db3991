import Glibc

/// TCP ports on 127.0.0.1, found by binding to port 0 and reading the port back.
public enum LocalPort {
    /// A port that is free right now.
    public static func free() throws -> Int32 {
        let (fd, port) = try bound(listening: false)
        close(fd)
        return port
    }

    /// An open socket bound to a free port, listening when asked (then connections succeed
    /// through the kernel's backlog even if nobody accepts them). The caller closes `fd`.
    public static func bound(listening: Bool) throws -> (fd: Int32, port: Int32) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw MQTTError(code: errno, operation: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ready = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && getsockname(fd, generic, &length) == 0
                    && (!listening || listen(fd, 16) == 0)
            }
        }
        guard ready else {
            let error = MQTTError(code: errno, operation: listening ? "listen" : "bind")
            close(fd)
            throw error
        }
        return (fd, Int32(UInt16(bigEndian: address.sin_port)))
    }
}
