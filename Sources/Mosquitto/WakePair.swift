import CMosquitto
import Glibc

/// libmosquitto's wake-up socketpair, and why the swarm drains it.
///
/// For every packet it queues, libmosquitto writes one byte to a socketpair of the client
/// (`sockpairW`) to wake its own `select()` loop, which reads the other end (`sockpairR`).
/// The swarm does not use that loop, so nothing would read it: every client's pair would
/// fill up to its socket buffer, about 200 KiB of unreclaimable kernel memory per client
/// (2 GiB for 10,000 clients, reached after a few hundred packets each).
///
/// libmosquitto has no API for those descriptors. They are the second and third fields of
/// `struct mosquitto` (`mosq_sock_t sock, sockpairR, sockpairW;` at its head, unchanged
/// from 1.4 to 2.0), which this reads, read-only, after each connect (libmosquitto
/// recreates the pair at every connect and keeps it until the next one, or until the
/// handle is destroyed). The reading is trusted only after checks: the first field must be
/// the socket `mosquitto_socket` returns, and, once per swarm, the other two must be
/// AF_UNIX stream sockets joined to each other (a byte written to one is read from the
/// other, exactly what libmosquitto does itself). If a check fails, the swarm leaves the
/// pairs alone and logs why once.
///
/// Threading: loop thread only.
package enum WakePair {
    package enum Support { case unknown, verified, unavailable }

    /// The reading end of the handle's pair, if the head of the struct looks as expected.
    package static func reader(of handle: OpaquePointer, socket: Int32) -> (reader: Int32, writer: Int32)? {
        let head = UnsafeRawPointer(handle)
        let fields = (head.load(as: Int32.self), head.load(fromByteOffset: 4, as: Int32.self),
                      head.load(fromByteOffset: 8, as: Int32.self))
        guard socket >= 0, fields.0 == socket, fields.1 >= 0, fields.2 >= 0,
              fields.1 != fields.2, fields.1 != socket, fields.2 != socket else { return nil }
        return (fields.1, fields.2)
    }

    /// The reading end of `handle`'s pair, once the checks pass: the full one (`verify`) the
    /// first time, its outcome kept in `support`. nil when they fail; `support` is then
    /// `.unavailable`, and stays so.
    package static func checkedReader(of handle: OpaquePointer, support: inout Support,
                              buffer: UnsafeMutableRawBufferPointer) -> Int32? {
        guard support != .unavailable else { return nil }
        let pair = reader(of: handle, socket: mosquitto_socket(handle))
        if support == .unknown {
            support = pair.map { verify(reader: $0.reader, writer: $0.writer, buffer: buffer) } == true ? .verified : .unavailable
        }
        guard support == .verified, let pair else {
            support = .unavailable
            return nil
        }
        return pair.reader
    }

    /// The full check, done once: both ends are AF_UNIX stream sockets, and a byte written
    /// to `writer` comes out of `reader`.
    package static func verify(reader: Int32, writer: Int32, buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard isUnixStream(reader), isUnixStream(writer) else { return false }
        drain(reader, buffer: buffer)
        var probe: UInt8 = 0x5a
        guard write(writer, &probe, 1) == 1 else { return false }
        var received: UInt8 = 0
        return read(reader, &received, 1) == 1 && received == probe
    }

    /// Reads (and drops) whatever is waiting. The descriptor is non-blocking (libmosquitto
    /// makes it so).
    package static func drain(_ reader: Int32, buffer: UnsafeMutableRawBufferPointer) {
        while read(reader, buffer.baseAddress, buffer.count) == buffer.count {}
    }

    private static func isUnixStream(_ fd: Int32) -> Bool {
        var domain: Int32 = 0
        var type: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0 else { return false }
        length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 else { return false }
        return domain == AF_UNIX && type == Int32(SOCK_STREAM.rawValue)
    }
}
