import Mosquitto

extension RawRoundTrip.Options {
    /// `--flag value` or `--flag=value`; every flag at most once.
    init(parsing arguments: [String]) throws(UsageError) {
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
            guard ["broker", "subscribers", "runs", "timeout"].contains(name) else {
                throw UsageError("unknown option '--\(name)'")
            }
            guard values.updateValue(value, forKey: name) == nil else { throw UsageError("--\(name) given twice") }
        }

        let brokerText = values["broker"] ?? "mqtt://127.0.0.1:1883"
        guard let broker = BrokerAddress(brokerText) else {
            throw UsageError("'\(brokerText)' is not a broker address; write mqtt://HOST:PORT")
        }
        self.init(
            broker: broker,
            // libmosquitto's threaded loop uses select(): 3 descriptors per client and
            // FD_SETSIZE 1024 stop one process near 337 clients (the connect never completes).
            subscribers: try Self.integer(values, "subscribers", default: 20, in: 1...300),
            runs: try Self.integer(values, "runs", default: 10, in: 1...100_000),
            timeout: .seconds(try Self.integer(values, "timeout", default: 60, in: 1...86_400)))
    }

    private static func integer(
        _ values: [String: String], _ name: String, default fallback: Int, in range: ClosedRange<Int>
    ) throws(UsageError) -> Int {
        guard let text = values[name] else { return fallback }
        guard let number = Int(text), range.contains(number) else {
            throw UsageError("--\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return number
    }
}
