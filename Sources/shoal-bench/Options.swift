import Mosquitto

extension RawRoundTrip.Options {
    init(parsing arguments: [String]) throws(UsageError) {
        let values = try Flags.parse(arguments, allowed: Set(["broker", "subscribers", "runs", "timeout", "topic-prefix"])
                                     .union(BrokerLogin.flags))
        self.init(
            broker: try Flags.broker(values), login: try BrokerLogin(values),
            topicPrefix: try Flags.topicPrefix(values, default: "shoal-bench"),
            // libmosquitto's threaded loop uses select(): 3 descriptors per client and
            // FD_SETSIZE 1024 stop one process near 337 clients (the connect never completes).
            subscribers: try Flags.integer(values, "subscribers", default: 20, in: 1...300),
            runs: try Flags.integer(values, "runs", default: 10, in: 1...100_000),
            timeout: .seconds(try Flags.integer(values, "timeout", default: 60, in: 1...86_400)))
    }
}

/// TLS and credentials, for a broker with the secure profile: `--tls-ca`, `--username`,
/// `--password-file` (a password never goes on a command line).
struct BrokerLogin: Sendable {
    var tls: MQTTTLS?
    var username: String?
    var password: String?

    static let flags: Set<String> = ["tls-ca", "username", "password-file"]

    init(_ values: [String: String]) throws(UsageError) {
        tls = values["tls-ca"].map { MQTTTLS(caFile: $0) }
        username = values["username"]
        if let path = values["password-file"] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw UsageError("--password-file: cannot read '\(path)'")
            }
            password = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    func configuration(_ broker: BrokerAddress, clientID: String, maxInflight: UInt32 = 1000,
                       receiveMaximum: UInt16? = nil) -> MQTTConfiguration {
        MQTTConfiguration(host: broker.host, port: broker.port, clientID: clientID, username: username, password: password,
                          maxInflight: maxInflight, receiveMaximum: receiveMaximum, tls: tls)
    }
}

/// Hand-parsed flags (this tool does not link swift-argument-parser).
enum Flags {
    /// `--topic-prefix`: where a raw baseline's topics go.
    static func topicPrefix(_ values: [String: String], default fallback: String) throws(UsageError) -> String {
        let prefix = values["topic-prefix"] ?? fallback
        guard !prefix.isEmpty, !prefix.contains("+"), !prefix.contains("#"), prefix.utf8.count <= 200 else {
            throw UsageError("--topic-prefix must be 1-200 characters without '+' or '#', not '\(prefix)'")
        }
        return prefix
    }

    /// `--flag value` or `--flag=value`; every flag at most once.
    static func parse(_ arguments: [String], allowed: Set<String>) throws(UsageError) -> [String: String] {
        var values: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "-h" || argument == "--help" { throw UsageError("help", helpRequested: true) }
            guard argument.hasPrefix("--") else { throw UsageError("unexpected argument '\(argument)'") }
            var name = String(argument.dropFirst(2))
            let value: String
            if let equals = name.firstIndex(of: "=") {
                value = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            } else {
                guard index < arguments.count else { throw UsageError("--\(name) needs a value") }
                value = arguments[index]
                index += 1
            }
            guard allowed.contains(name) else { throw UsageError("unknown option '--\(name)'") }
            guard values.updateValue(value, forKey: name) == nil else { throw UsageError("--\(name) given twice") }
        }
        return values
    }

    static func broker(_ values: [String: String]) throws(UsageError) -> BrokerAddress {
        let text = values["broker"] ?? "mqtt://127.0.0.1:1883"
        guard let broker = BrokerAddress(text) else {
            throw UsageError("'\(text)' is not a broker address; write mqtt://HOST:PORT")
        }
        return broker
    }

    static func integer(
        _ values: [String: String], _ name: String, default fallback: Int, in range: ClosedRange<Int>
    ) throws(UsageError) -> Int {
        guard let text = values[name] else { return fallback }
        guard let number = Int(text), range.contains(number) else {
            throw UsageError("--\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return number
    }
}
