import Mosquitto
import ShoalCore
import ShoalEngine

/// Encodes and publishes the dispatcher's events (`events/job/...`, `events/node/...`) on a
/// task of its own, so that the loop that applies reports does not wait for JSON encoding:
/// at 10,000 results a commit announces 10,000 executions.
///
/// Thread-safe: `announce` may be called from the engine's loop; `run()` is the one consumer
/// and keeps the order of announcements.
struct EventPublisher: Sendable {
    private let client: MQTTClient
    private let topics: TopicTree
    private let stream: AsyncStream<[Announcement]>
    private let sink: AsyncStream<[Announcement]>.Continuation

    init(client: MQTTClient, topics: TopicTree) {
        self.client = client
        self.topics = topics
        (stream, sink) = AsyncStream.makeStream(of: [Announcement].self)
    }

    /// Called after the commit that made these true.
    func announce(_ announcements: [Announcement]) {
        guard !announcements.isEmpty else { return }
        sink.yield(announcements)
    }

    func finish() {
        sink.finish()
    }

    /// Publishes until `finish()`; what was announced before is still sent.
    func run() async {
        for await batch in stream {
            for announcement in batch {
                switch announcement {
                case .job(let event):
                    _ = try? client.publish(topics.jobEvents(event.job), Wire.encode(event), qos: 1)
                case .node(let view):
                    _ = try? client.publish(topics.nodeEvents(view.id), Wire.encode(view), qos: 1)
                case .logs(let event):
                    _ = try? client.publish(topics.logEvents(event.node), Wire.encode(event), qos: 1)
                case .logAck(let ack):
                    _ = try? client.publish(topics.logAck(ack.node), Wire.encode(ack), qos: 1)
                }
            }
        }
    }
}
