/// `node/{id}/metrics`: the samples an agent read since its last message, oldest first.
///
/// A sample is one reading of the node at one time: metric name → value. A name is a base
/// name (`cpu_pct`) or a base name qualified by what it measures after `@`
/// (`disk_used_pct@/data`, `temp_celsius@x86_pkg_temp`). See `MetricName` for the rules and
/// docs/telemetry.md for the names agents send.
public struct MetricsMessage: Sendable, Codable, Equatable {
    public var v: Int = Wire.version
    public var node: String
    public var samples: [MetricSample]

    public init(node: String, samples: [MetricSample]) {
        self.node = node
        self.samples = samples
    }
}

public struct MetricSample: Sendable, Codable, Equatable {
    /// When the values were read, UNIX seconds on the node's clock.
    public var at: Double
    public var values: [String: Double]

    public init(at: Double, values: [String: Double]) {
        self.at = at
        self.values = values
    }
}

extension MetricsMessage {
    /// Every field checked: one hostile sample drops the whole message, with the field named.
    public func validate() throws(BoundsError) {
        try Bounds.check(samples.count, "samples count", in: 1...Limits.metricSamplesPerMessage)
        var total = 0
        for (index, sample) in samples.enumerated() {
            try Bounds.checkTimestamp(sample.at, "samples[\(index)].at")
            try Bounds.check(sample.values.count, "samples[\(index)].values count", in: 1...Limits.metricValuesPerSample)
            total += sample.values.count
            for (name, value) in sample.values {
                try MetricName.check(name, value, field: "samples[\(index)].values")
            }
        }
        try Bounds.check(total, "values count", in: 1...Limits.metricValuesPerMessage)
    }
}
