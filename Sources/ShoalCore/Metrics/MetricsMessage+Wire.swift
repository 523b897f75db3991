/// The usual shape of a metrics batch read without `JSONDecoder`: the dispatcher takes
/// thousands a second (bench/ingest), each a few dozen numbers in two levels of nesting.
/// Like `WireReader`, it only declines: anything unusual (an unknown nested member, a
/// duplicate name, a number `Double` cannot hold) returns nil and `JSONDecoder` decides.
extension MetricsMessage: WireReadable {
    public static func read(_ payload: [UInt8]) -> MetricsMessage? {
        payload.withUnsafeBufferPointer { buffer -> MetricsMessage? in
            var scanner = WireReader.Scanner(bytes: buffer)
            var v: Int?, node: String?, samples: [MetricSample]?
            guard scanner.consume(UInt8(ascii: "{")) else { return nil }
            repeat {
                guard scanner.consume(UInt8(ascii: "\"")), let key = scanner.stringBody(), scanner.consume(UInt8(ascii: ":")) else {
                    return nil
                }
                switch key {
                case "v":
                    guard let value = scanner.value(), value.store(into: &v) else { return nil }
                case "node":
                    guard let value = scanner.value(), value.store(into: &node) else { return nil }
                case "samples":
                    guard samples == nil, let read = readSamples(&scanner) else { return nil }
                    samples = read
                default:
                    // Unknown flat members are ignored, as `JSONDecoder` does; nested ones decline.
                    guard scanner.value() != nil else { return nil }
                }
            } while scanner.consume(UInt8(ascii: ","))
            guard scanner.consume(UInt8(ascii: "}")), scanner.atEnd(), let v, let node, let samples else { return nil }
            var message = MetricsMessage(node: node, samples: samples)
            message.v = v
            return message
        }
    }

    /// `[{"at": number, "values": {name: number, ...}}, ...]`, the opening `[` next.
    private static func readSamples(_ scanner: inout WireReader.Scanner) -> [MetricSample]? {
        guard scanner.consume(UInt8(ascii: "[")) else { return nil }
        var samples: [MetricSample] = []
        if scanner.consume(UInt8(ascii: "]")) { return samples }
        repeat {
            // Past the stated limit the message is refused anyway; `JSONDecoder` says so.
            guard samples.count < Limits.metricSamplesPerMessage * 4, scanner.consume(UInt8(ascii: "{")) else { return nil }
            var at: Double?, values: [String: Double]?
            repeat {
                guard scanner.consume(UInt8(ascii: "\"")), let key = scanner.stringBody(), scanner.consume(UInt8(ascii: ":")) else {
                    return nil
                }
                switch key {
                case "at":
                    guard let value = scanner.value(), value.store(into: &at) else { return nil }
                case "values":
                    guard values == nil, let read = readValues(&scanner) else { return nil }
                    values = read
                default:
                    guard scanner.value() != nil else { return nil }
                }
            } while scanner.consume(UInt8(ascii: ","))
            guard scanner.consume(UInt8(ascii: "}")), let at, let values else { return nil }
            samples.append(MetricSample(at: at, values: values))
        } while scanner.consume(UInt8(ascii: ","))
        return scanner.consume(UInt8(ascii: "]")) ? samples : nil
    }

    /// `{name: number, ...}`, the opening `{` next; a duplicate name declines.
    private static func readValues(_ scanner: inout WireReader.Scanner) -> [String: Double]? {
        guard scanner.consume(UInt8(ascii: "{")) else { return nil }
        var values: [String: Double] = [:]
        if scanner.consume(UInt8(ascii: "}")) { return values }
        repeat {
            guard values.count < Limits.metricValuesPerSample * 4, scanner.consume(UInt8(ascii: "\"")), let name = scanner.stringBody(),
                  scanner.consume(UInt8(ascii: ":")), let value = scanner.value() else { return nil }
            var number: Double?
            guard value.store(into: &number), let number, values.updateValue(number, forKey: name) == nil else { return nil }
        } while scanner.consume(UInt8(ascii: ","))
        return scanner.consume(UInt8(ascii: "}")) ? values : nil
    }
}
