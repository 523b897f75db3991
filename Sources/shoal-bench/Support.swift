import Foundation

/// Runs `body`, giving up after `limit`: then `onTimeout` runs (it must make `body` return
/// or throw, e.g. by stopping the clients it waits on) and a `BenchError` is thrown.
/// The sleep is an upper bound on a wait, never a way to order events.
func withDeadline<T: Sendable>(
    _ limit: Duration, _ what: String, onTimeout: @escaping @Sendable () -> Void,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        let first = try await group.next()
        group.cancelAll()
        guard let first, let value = first else {
            onTimeout()
            throw BenchError("timed out after \(limit) \(what)")
        }
        return value
    }
}

extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

/// The middle value, or the mean of the two middle values.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

func formatted(_ milliseconds: Double) -> String {
    String(format: "%.3f", milliseconds)
}

extension RawRoundTrip.Result {
    /// `key=value` lines for bench/run-latency (and people).
    func report(_ options: RawRoundTrip.Options) {
        let values = runs.map(\.milliseconds)
        print("raw_config broker=\(options.broker) subscribers=\(options.subscribers) runs=\(options.runs) qos=1")
        print("raw_connect_ms value=\(formatted(connect.milliseconds))")
        print("raw_warmup_ms value=\(formatted(warmUp.milliseconds))")
        for (index, value) in values.enumerated() {
            print("raw_ms run=\(index + 1) value=\(formatted(value))")
        }
        print("raw_min_ms=\(formatted(values.min() ?? .nan))")
        print("raw_max_ms=\(formatted(values.max() ?? .nan))")
        print("raw_median_ms=\(formatted(median(values)))")
    }
}
