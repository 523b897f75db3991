import Foundation
import Glibc
import Logging
import Synchronization

/// `--metrics-listen`: a tiny HTTP/1.1 responder for Prometheus scrapes. It answers
/// `GET /metrics` with what `scrape` renders, `GET /` with a pointer there, and anything
/// else with 404 or 405; one connection at a time (scrapers are few), each closed after
/// its answer.
///
/// Hand-written rather than a server library: a scrape endpoint is one route, and the
/// libraries on offer bring an event loop (swift-nio) or a socket layer of their own
/// (FlyingFox) to build for it.
///
/// Thread-safe. The accept loop runs on a thread of its own (a blocking `accept` must not
/// hold one of Swift's cooperative threads); `close()` ends it.
final class MetricsEndpoint: Sendable {
    private let listener: Int32
    /// Whether the accept thread runs: then it closes the listener when it ends (closing
    /// it here could hand its number to another file while `accept` still uses it).
    private let serving = Mutex(false)
    /// The port bound (the one asked for, or the kernel's pick for port 0).
    let port: UInt16
    private let logger: Logger

    /// A request waits this long for its bytes, and a scrape for its rendering.
    static let timeout: Double = 10

    /// Binds at once, so that a taken port fails the dispatcher's start, not a later scrape.
    init(host: String, port: UInt16, logger: Logger) throws {
        self.logger = logger
        var hints = addrinfo(ai_flags: AI_PASSIVE | AI_NUMERICSERV, ai_family: AF_UNSPEC, ai_socktype: Int32(SOCK_STREAM.rawValue),
                             ai_protocol: 0, ai_addrlen: 0, ai_addr: nil, ai_canonname: nil, ai_next: nil)
        var found: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host.isEmpty ? nil : host, String(port), &hints, &found)
        guard status == 0, let address = found else {
            throw EndpointError("cannot resolve '\(host)': \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(found) }
        let descriptor = socket(address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw EndpointError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(descriptor, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0, listen(descriptor, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw EndpointError("cannot listen on \(host):\(port): \(reason)")
        }
        var bound = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        let boundPort = withUnsafePointer(to: &bound) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        self.listener = descriptor
        self.port = boundPort
    }

    /// Serves until `close()`. `scrape` is called on the accept thread and must call its
    /// argument exactly once with the body (the dispatcher's loop renders it).
    func start(scrape: @escaping @Sendable (@escaping @Sendable ([UInt8]) -> Void) -> Void) {
        let listener = self.listener, logger = self.logger
        serving.withLock { $0 = true }
        Thread.detachNewThread {
            while true {
                let connection = accept(listener, nil, nil)
                if connection < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    Glibc.close(listener)  // shut down by `close()`
                    return
                }
                _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
                Self.serve(connection, scrape: scrape, logger: logger)
                Glibc.close(connection)
            }
        }
    }

    func close() {
        // Wakes the blocked accept, which then fails: the thread closes the listener and ends.
        shutdown(listener, Int32(SHUT_RDWR))
        if !serving.withLock({ $0 }) { Glibc.close(listener) }
    }

    private static func serve(_ connection: Int32, scrape: @Sendable (@escaping @Sendable ([UInt8]) -> Void) -> Void, logger: Logger) {
        var wait = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        guard let head = readHead(connection) else { return }
        switch HTTPRequestLine.parse(head) {
        case .some(let line) where line.method == "GET" || line.method == "HEAD":
            let path = line.target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? line.target
            switch path {
            case "/metrics":
                let done = DispatchSemaphore(value: 0)
                let body = Mutex<[UInt8]?>(nil)
                scrape { rendered in
                    body.withLock { $0 = rendered }
                    done.signal()
                }
                guard done.wait(timeout: .now() + timeout) == .success, let text = body.withLock({ $0 }) else {
                    respond(connection, status: "503 Service Unavailable", body: Array("the dispatcher did not render in time\n".utf8))
                    return
                }
                respond(connection, status: "200 OK", contentType: "text/plain; version=0.0.4; charset=utf-8", body: text,
                        headOnly: line.method == "HEAD")
            case "/":
                respond(connection, status: "200 OK", body: Array("Shoal dispatcher: metrics at /metrics\n".utf8), headOnly: line.method == "HEAD")
            default:
                respond(connection, status: "404 Not Found", body: Array("not found; metrics are at /metrics\n".utf8))
            }
        case .some:
            respond(connection, status: "405 Method Not Allowed", body: Array("only GET\n".utf8), extraHeaders: "Allow: GET, HEAD\r\n")
        case nil:
            logger.debug("Refused a malformed HTTP request on the metrics port")
            respond(connection, status: "400 Bad Request", body: Array("bad request\n".utf8))
        }
    }

    /// The request line and headers, up to 8 KiB; the body (a GET has none) is never read.
    private static func readHead(_ connection: Int32) -> [UInt8]? {
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while head.count < 8192 {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return head.isEmpty ? nil : head }
            head.append(contentsOf: buffer[0..<count])
            if head.count >= 4, head.firstRange(of: [13, 10, 13, 10]) != nil { return head }
        }
        return head
    }

    private static func respond(_ connection: Int32, status: String, contentType: String = "text/plain; charset=utf-8",
                                body: [UInt8], headOnly: Bool = false, extraHeaders: String = "") {
        let header = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n\(extraHeaders)Connection: close\r\n\r\n"
        var bytes = Array(header.utf8)
        if !headOnly { bytes += body }
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            sent += count
        }
    }
}

/// The first line of an HTTP/1.x request: `GET /metrics HTTP/1.1`.
struct HTTPRequestLine: Equatable {
    var method: String
    var target: String

    static func parse(_ head: [UInt8]) -> HTTPRequestLine? {
        guard let end = head.firstRange(of: [13, 10])?.lowerBound else { return nil }
        let parts = head[..<end].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].starts(with: Array("HTTP/1.".utf8)), !parts[0].isEmpty,
              parts[0].allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }),
              parts[1].first == UInt8(ascii: "/") else { return nil }
        return HTTPRequestLine(method: String(decoding: parts[0], as: UTF8.self), target: String(decoding: parts[1], as: UTF8.self))
    }
}

struct EndpointError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
