/// What a job runs on each node.
public enum JobTask: Sendable, Hashable, Codable, CustomStringConvertible {
    /// argv, executed directly (no shell).
    case exec([String])
    /// A script run by `/bin/sh -c`.
    case shell(String)

    private enum CodingKeys: String, CodingKey { case kind, argv, script }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .kind) {
        case "exec":
            let argv = try container.decode([String].self, forKey: .argv)
            guard !argv.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .argv, in: container, debugDescription: "argv is empty")
            }
            self = .exec(argv)
        case "shell":
            self = .shell(try container.decode(String.self, forKey: .script))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown task kind '\(other)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .exec(let argv):
            try container.encode("exec", forKey: .kind)
            try container.encode(argv, forKey: .argv)
        case .shell(let script):
            try container.encode("shell", forKey: .kind)
            try container.encode(script, forKey: .script)
        }
    }

    /// The argv a node executes.
    public var argv: [String] {
        switch self {
        case .exec(let argv): argv
        case .shell(let script): ["/bin/sh", "-c", script]
        }
    }

    public var description: String {
        switch self {
        case .exec(let argv): argv.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        case .shell(let script): "sh -c '\(script)'"
        }
    }
}

extension JobTask {
    /// The same task with its text cut to about `characters`, for lists: a 256 KiB script
    /// shown in full would make a list of jobs unreadable (and too large to send).
    public func abbreviated(to characters: Int) -> JobTask {
        switch self {
        case .shell(let script):
            return script.count <= characters ? self : .shell(String(script.prefix(characters)) + "…")
        case .exec(let argv):
            var kept: [String] = []
            var used = 0
            for argument in argv {
                if used + argument.count > characters {
                    kept.append(String(argument.prefix(max(0, characters - used))) + "…")
                    return .exec(kept)
                }
                used += argument.count + 1
                kept.append(argument)
            }
            return self
        }
    }
}
