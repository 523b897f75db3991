// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import ShoalCore

/// The operator keys of this machine's user, and the keys it trusts, under `ShoalHome`:
///
/// - `keys/NAME.key`: a private key, mode 0600 in a 0700 directory; read only to sign.
/// - `keys/NAME.pub`: its public key line (`ed25519 BASE64 NAME`), to copy to nodes.
/// - `trusted-keys/ID.pub`: a trusted public key line, for `shoal agent --trusted-keys`.
///
/// The key named `default` is the one `shoal run` signs with when no `--key` is given.
public struct OperatorKeyStore: Sendable {
    public let home: String

    public static let defaultName = "default"

    public init(home: String = ShoalHome.path) {
        self.home = home
    }

    public var keysDirectory: String { home + "/keys" }
    public var trustedDirectory: String { home + "/trusted-keys" }

    public static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.first != "." && name.utf8.allSatisfy {
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E
        }
    }

    /// Makes a new key; an existing one of that name is never overwritten (it may be trusted
    /// by a whole fleet).
    public func create(name: String) throws -> OperatorPublicKey {
        guard Self.isValidName(name) else { throw KeyStoreError("key name '\(name)' is not valid: 1-64 letters, digits, '-', '_' or '.'") }
        try makeDirectory(keysDirectory, mode: 0o700)
        let key = OperatorPrivateKey()
        let path = keysDirectory + "/\(name).key"
        try Self.createExclusive(path, contents: key.fileContents, mode: 0o600,
                                 exists: "a key named '\(name)' exists already (\(path)); choose another name")
        var publicKey = key.publicKey
        publicKey.name = name
        try Self.replace(keysDirectory + "/\(name).pub", contents: publicKey.line + "\n", mode: 0o644)
        return publicKey
    }

    /// This user's keys, by name.
    public func ownKeys() throws -> [OperatorPublicKey] {
        try names(in: keysDirectory, suffix: ".key").map { try privateKey(named: $0).publicKey }
    }

    /// The private key called `name`.
    public func privateKey(named name: String) throws -> OperatorPrivateKey {
        guard Self.isValidName(name) else { throw KeyStoreError("key name '\(name)' is not valid; see `shoal keys list`") }
        let path = keysDirectory + "/\(name).key"
        guard let text = Self.read(path) else {
            throw KeyStoreError("no key named '\(name)' in \(keysDirectory); create one with `shoal keys create \(name)`")
        }
        do {
            return try OperatorPrivateKey(fileContents: text, name: name)
        } catch {
            throw KeyStoreError("\(path): \(error.problem)")
        }
    }

    /// The key `shoal run` signs with unless told otherwise, if this user has one.
    public func defaultKey() throws -> OperatorPrivateKey? {
        FileManager.default.fileExists(atPath: keysDirectory + "/\(Self.defaultName).key")
            ? try privateKey(named: Self.defaultName) : nil
    }

    /// Adds `key` to the trusted directory (replacing the same key under another name).
    public func trust(_ key: OperatorPublicKey) throws {
        try makeDirectory(trustedDirectory, mode: 0o755)
        try Self.replace(trustedDirectory + "/\(key.id).pub", contents: key.line + "\n", mode: 0o644)
    }

    /// Removes the trusted keys whose id or name is `idOrName`; returns them.
    public func untrust(_ idOrName: String) throws -> [OperatorPublicKey] {
        let matching = try trustedKeys().filter { $0.id == idOrName || $0.name == idOrName }
        for key in matching { unlink(trustedDirectory + "/\(key.id).pub") }
        return matching
    }

    public func trustedKeys() throws -> [OperatorPublicKey] {
        FileManager.default.fileExists(atPath: trustedDirectory) ? try Self.loadTrusted(trustedDirectory) : []
    }

    /// The keys in a trust file (one key per line) or a directory of `.pub` files, for
    /// `shoal agent --trusted-keys`. Any unreadable file or bad line is an error: a node
    /// that trusted less than its operator meant would refuse their jobs, one that
    /// silently trusted nothing would run anyone's.
    public static func loadTrusted(_ path: String) throws -> [OperatorPublicKey] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw KeyStoreError("trusted keys: \(path) does not exist")
        }
        let files: [String]
        if info.st_mode & S_IFMT == S_IFDIR {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            files = entries.filter { $0.hasSuffix(".pub") }.sorted().map { path + "/" + $0 }
        } else {
            files = [path]
        }
        var keys: [OperatorPublicKey] = []
        for file in files {
            guard let text = read(file) else { throw KeyStoreError("trusted keys: cannot read \(file)") }
            do {
                keys += try TrustedKeys.parse(text, source: file)
            } catch {
                throw KeyStoreError("trusted keys: \(error.description)")
            }
        }
        return keys
    }

    private func names(in directory: String, suffix: String) throws -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.filter { $0.hasSuffix(suffix) }.map { String($0.dropLast(suffix.count)) }.sorted()
    }

    private func makeDirectory(_ path: String, mode: mode_t) throws {
        if !FileManager.default.fileExists(atPath: path) {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        chmod(path, mode)
    }

    static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Creates `path` with `mode` from the start (O_EXCL): the secret is never readable by
    /// others, not even between a write and a chmod.
    private static func createExclusive(_ path: String, contents: String, mode: mode_t, exists: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            if errno == EEXIST { throw KeyStoreError(exists) }
            throw KeyStoreError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        try writeAll(fd, Array(contents.utf8), path: path)
        if fsync(fd) != 0 { throw KeyStoreError("cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    private static func replace(_ path: String, contents: String, mode: mode_t) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw KeyStoreError("cannot write \(path): \(String(cString: strerror(errno)))") }
        do {
            try writeAll(fd, Array(contents.utf8), path: path)
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw KeyStoreError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw KeyStoreError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }
}

/// A key store failure, with what to do about it.
public struct KeyStoreError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
