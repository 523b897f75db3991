// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// JSON encoding of every Shoal payload. Each message carries `v` (its schema version).
public enum Wire {
    public static let version = 1

    // @inlinable: callers in other modules get a version specialised for their message
    // type; the unspecialised generic path looks type metadata up at run time, which
    // showed in the dispatcher's profile at 10,000 reports per job.
    @inlinable
    public static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding our own Codable values cannot fail (no non-finite numbers are produced).
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    /// The same JSON, written without `JSONEncoder` (see `WireWriter`).
    @inlinable
    public static func encode<T: Encodable & WireWritable>(_ value: T) -> [UInt8] {
        value.wireBytes()
    }

    /// Reads the common shape without `JSONDecoder` (see `WireReader`); whatever the fast
    /// path declines, `JSONDecoder` decides, so errors and edge cases are the same.
    @inlinable
    public static func decode<T: Decodable & WireReadable>(_ type: T.Type, from payload: [UInt8]) throws(WireError) -> T {
        if payload.count <= maximumPayload, let value = T.read(payload) { return value }
        return try decodeWithFoundation(type, from: payload)
    }

    /// Decodes `payload`; throws a `WireError` that names the type and what was wrong,
    /// which callers log and drop: malformed input is never fatal.
    @inlinable
    public static func decode<T: Decodable>(_ type: T.Type, from payload: [UInt8]) throws(WireError) -> T {
        try decodeWithFoundation(type, from: payload)
    }

    @inlinable
    static func decodeWithFoundation<T: Decodable>(_ type: T.Type, from payload: [UInt8]) throws(WireError) -> T {
        guard payload.count <= maximumPayload else {
            throw WireError(description: "\(T.self): payload of \(payload.count) bytes exceeds \(maximumPayload)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(payload))
        } catch let error as DecodingError {
            throw WireError(description: "\(T.self): \(Self.describe(error))")
        } catch {
            throw WireError(description: "\(T.self): \(error)")
        }
    }

    /// Larger payloads are refused before parsing (a hostile 10 MiB message costs nothing).
    public static let maximumPayload = 4 * 1024 * 1024

    @usableFromInline
    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context): "malformed (\(context.debugDescription))"
        case .keyNotFound(let key, _): "missing field '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        @unknown default: "\(error)"
        }
    }
}

/// A message with a hand-written JSON encoding (the same JSON as its `Encodable` one).
public protocol WireWritable {
    /// The JSON object, keys in sorted order, nil optionals left out.
    func wireBytes() -> [UInt8]
}

/// A message with a hand-written reader for its usual shape.
public protocol WireReadable {
    /// The message, or nil when the fast path declines (`Wire.decode` then asks `JSONDecoder`).
    static func read(_ payload: [UInt8]) -> Self?
}

public struct WireError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}
