// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// mosquitto's password file, changed while the broker runs: a line per user
/// (`user:$7$...`, PBKDF2-SHA512 as mosquitto_passwd writes it), reloaded by the broker on
/// SIGHUP. The dispatcher adds a node here when it is approved and removes it when it is
/// rejected; the broker is the only reader.
///
/// Not thread-safe: one owner (the dispatcher's loop).
public struct BrokerPasswordFile: Sendable {
    public let path: String
    /// Where mosquitto wrote its pid (`pid_file`).
    public let pidFile: String

    public init(path: String, pidFile: String) {
        self.path = path
        self.pidFile = pidFile
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `user:hash` for `password`, hashed by mosquitto_passwd itself (so the broker can read
    /// it): the clear line goes into a 0600 file in `scratch` that the tool rewrites in place.
    public static func hashedLine(user: String, password: String, scratch: String) async throws -> String {
        guard !user.contains(":"), !user.contains("\n"), !password.contains("\n") else {
            throw Failure(description: "a user name may not contain ':' or a line break, a password no line break")
        }
        let file = scratch + "/.hash-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try SecureBrokerProfile.writePrivate("\(user):\(password)\n", to: file)
        defer { unlink(file) }
        try await ToolRun.run(["mosquitto_passwd", "-U", file])
        guard let data = FileManager.default.contents(atPath: file),
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first, line.hasPrefix(user + ":$") else {
            throw Failure(description: "mosquitto_passwd did not hash the password")
        }
        return String(line)
    }

    /// Just the hash of `hashedLine`, for storing (never the password).
    public static func hash(password: String, scratch: String) async throws -> String {
        let line = try await hashedLine(user: "x", password: password, scratch: scratch)
        return String(line.dropFirst(2))
    }

    /// Sets `user`'s hash (replacing any line of that user), then makes the broker reload.
    public func set(user: String, hash: String) throws {
        guard !user.contains(":"), !user.contains("\n"), hash.hasPrefix("$"), !hash.contains("\n") else {
            throw Failure(description: "not a user name and password hash: \(user)")
        }
        try rewrite { lines in lines.filter { !$0.hasPrefix(user + ":") } + ["\(user):\(hash)"] }
    }

    /// Removes `user`'s line, then makes the broker reload. Its open connection stays until
    /// it reconnects; the ACL still applies to it meanwhile.
    public func remove(user: String) throws {
        try rewrite { lines in lines.filter { !$0.hasPrefix(user + ":") } }
    }

    private func rewrite(_ change: ([String]) -> [String]) throws {
        let current = FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let lines = change(current.split(separator: "\n").map(String.init))
        try SecureBrokerProfile.writePrivate(lines.joined(separator: "\n") + "\n", to: path)
        if getuid() == 0, let broker = getpwnam("mosquitto") { chown(path, broker.pointee.pw_uid, broker.pointee.pw_gid) }
        try reloadBroker()
    }

    private func reloadBroker() throws {
        guard let data = FileManager.default.contents(atPath: pidFile),
              let pid = pid_t(String(decoding: data, as: UTF8.self).split(separator: "\n").first ?? ""), pid > 1 else {
            throw Failure(description: "cannot read the broker's pid from \(pidFile) (its pid_file setting)")
        }
        guard kill(pid, SIGHUP) == 0 else {
            throw Failure(description: "cannot signal the broker (pid \(pid)) to reload: \(String(cString: strerror(errno)))")
        }
    }
}
