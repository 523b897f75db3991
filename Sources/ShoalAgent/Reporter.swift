import Logging
import Mosquitto
import ShoalCore

/// Publishes what the agent reports about executions, durably: each message goes to the
/// outbox first and leaves it only once the broker has acknowledged it.
struct Reporter: Sendable {
    let client: MQTTClient
    let outbox: Outbox
    let logger: Logger

    func send(_ topic: String, _ payload: [UInt8]) async {
        let sequence: UInt64
        do {
            sequence = try outbox.append(topic: topic, payload: payload)
        } catch {
            logger.error("Outbox write failed; publishing without it", metadata: ["error": "\(error)"])
            try? client.publish(topic, payload, qos: 1)
            return
        }
        do {
            try await client.publishConfirmed(MQTTMessage(topic: topic, payload: payload, qos: 1))
            outbox.remove(sequence)
        } catch {
            // Stopped before the broker acknowledged: the outbox replays it on the next start.
            logger.debug("Report left in outbox", metadata: ["outbox.seq": "\(sequence)", "error": "\(error)"])
        }
    }

    func status(_ message: ExecutionStatusMessage, topics: TopicTree) async {
        await send(topics.execStatus(node: message.node, job: message.job), Wire.encode(message))
    }

    /// Publishes what a previous run of this agent left unacknowledged, in order.
    func replay() async {
        for entry in outbox.pending() {
            do {
                try await client.publishConfirmed(MQTTMessage(topic: entry.topic, payload: entry.payload, qos: 1))
                outbox.remove(entry.sequence)
            } catch {
                return
            }
        }
    }
}
