#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Mosquitto
import ShoalCore

/// Samples this machine every `interval` seconds and publishes what it has on
/// `node/{id}/metrics` (QoS 0: a lost sample is replaced by the next). While the broker is
/// unreachable, samples wait in memory, up to one message's worth (the oldest go first),
/// and leave together as one batch once a publish goes through.
struct MetricsReporter: Sendable {
    let node: String
    let topic: String
    let interval: Double
    let logger: Logger

    func run(client: MQTTClient) async {
        let collector = MetricsCollector()
        // The first reading only primes the counters that rates and CPU % are taken from.
        _ = collector.sample(at: Date().timeIntervalSince1970)
        var waiting: [MetricSample] = []
        var dropped = 0
        while (try? await Task.sleep(for: .seconds(interval))) != nil {
            waiting.append(collector.sample(at: Date().timeIntervalSince1970))
            if waiting.count > Limits.metricSamplesPerMessage {
                dropped += waiting.count - Limits.metricSamplesPerMessage
                waiting.removeFirst(waiting.count - Limits.metricSamplesPerMessage)
            }
            let payload = Wire.encode(MetricsMessage(node: node, samples: waiting))
            do {
                try client.publish(topic, payload, qos: 0)
                if dropped > 0 {
                    logger.notice("Metric samples were dropped while the broker was unreachable", metadata: ["samples.dropped": "\(dropped)"])
                    dropped = 0
                }
                waiting.removeAll(keepingCapacity: true)
            } catch {
                logger.debug("Metrics kept for the next attempt", metadata: ["samples": "\(waiting.count)", "error": "\(error)"])
            }
        }
    }
}
