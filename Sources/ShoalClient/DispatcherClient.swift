import Foundation
import Logging
import Mosquitto
import ShoalCore
import Synchronization

/// A client of the dispatcher's MQTT API, as the CLI and integrations use it.
///
/// Use it inside `DispatcherClient.with(...)`, which connects, runs the loop that routes
/// replies and events while the body runs, and disconnects afterwards. Thread-safe.
public final class DispatcherClient: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public let unavailable: Bool
        public init(_ description: String, unavailable: Bool = false) {
            self.description = description
            self.unavailable = unavailable
        }
    }

    public let broker: BrokerAddress
    public let topics: TopicTree
    /// Job events (`events/job/...`) for the jobs this client follows.
    public let events: AsyncStream<ExecutionView>
    /// Node events (`events/node/...`) once `followNodes()` was called.
    public let nodeEvents: AsyncStream<NodeView>
    /// The job events of the jobs this client follows, whole and in order: output chunks
    /// and state changes together (`events` has the state changes alone).
    public let jobEvents: AsyncStream<JobEvent>
    /// Log events (`events/logs/...`) once `followLogs()` was called: lines as they are stored.
    public let logEvents: AsyncStream<NodeLogEvent>

    private let client: MQTTClient
    private let replyTopic: String
    private let pending = Mutex<[String: CheckedContinuation<[UInt8], any Error>]>([:])
    private let eventSink: AsyncStream<ExecutionView>.Continuation
    private let nodeSink: AsyncStream<NodeView>.Continuation
    private let jobEventSink: AsyncStream<JobEvent>.Continuation
    private let logEventSink: AsyncStream<NodeLogEvent>.Continuation
    private let requestTimeout: Duration

    private init(client: MQTTClient, broker: BrokerAddress, topics: TopicTree, requestTimeout: Duration) {
        self.client = client
        self.broker = broker
        self.topics = topics
        self.requestTimeout = requestTimeout
        self.replyTopic = topics.reply(client: client.configuration.clientID)
        (events, eventSink) = AsyncStream.makeStream(of: ExecutionView.self)
        (nodeEvents, nodeSink) = AsyncStream.makeStream(of: NodeView.self)
        (jobEvents, jobEventSink) = AsyncStream.makeStream(of: JobEvent.self)
        (logEvents, logEventSink) = AsyncStream.makeStream(of: NodeLogEvent.self)
    }

    /// Connects (failing with a clear message after `connectTimeout`), runs `body`, disconnects.
    public static func with<Result: Sendable>(
        broker: BrokerAddress, topics: TopicTree = TopicTree(), username: String? = nil, password: String? = nil,
        tls: MQTTTLS? = nil, connectTimeout: Duration = .seconds(5), requestTimeout: Duration = .seconds(10), logger: Logger,
        _ body: @Sendable (DispatcherClient) async throws -> Result
    ) async throws -> Result {
        var generator = SystemRandomNumberGenerator()
        let clientID = "shoal-cli-" + String(UInt64.random(in: 0...UInt64.max, using: &generator), radix: 36)
        let mqtt = try MQTTClient(configuration: MQTTConfiguration(
            host: broker.host, port: broker.port, clientID: clientID, username: username, password: password,
            cleanStart: true, tls: tls), logger: logger)
        let connected = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await mqtt.start()
                return true
            }
            group.addTask {
                try await Task.sleep(for: connectTimeout)
                return false
            }
            let first = try await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard connected else {
            mqtt.abort()
            // A TLS listener dialled without TLS never answers CONNECT: it looks like a dead broker.
            let plain = tls == nil ? "; a TLS listener needs --tls-ca" : ""
            throw Failure("cannot reach the MQTT broker at \(broker): is it running? (`shoal up` starts a local fleet; "
                          + "--broker or SHOAL_BROKER points elsewhere\(plain))", unavailable: true)
        }
        let client = DispatcherClient(client: mqtt, broker: broker, topics: topics, requestTimeout: requestTimeout)
        defer { client.close() }
        try await mqtt.subscribe([client.replyTopic], qos: 1)
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                await client.route()
                return nil
            }
            let result = try await body(client)
            client.close()
            group.cancelAll()
            return result
        }
    }

    private func close() {
        client.stop()
        eventSink.finish()
        nodeSink.finish()
        jobEventSink.finish()
        logEventSink.finish()
        let waiters = pending.withLock { pending in
            defer { pending = [:] }
            return Array(pending.values)
        }
        waiters.forEach { $0.resume(throwing: Failure("connection closed")) }
    }

    private func route() async {
        for await message in client.messages {
            if message.topic == replyTopic, let correlation = message.correlationData {
                let key = String(decoding: correlation, as: UTF8.self)
                pending.withLock { $0.removeValue(forKey: key) }?.resume(returning: message.payload)
            } else if message.topic.hasPrefix(topics.prefix + "/events/job/") {
                if let event = try? Wire.decode(JobEvent.self, from: message.payload) {
                    jobEventSink.yield(event)
                    event.executions.forEach { eventSink.yield($0) }
                }
            } else if message.topic.hasPrefix(topics.prefix + "/events/node/") {
                if let view = try? Wire.decode(NodeView.self, from: message.payload) { nodeSink.yield(view) }
            } else if message.topic.hasPrefix(topics.prefix + "/events/logs/") {
                if let event = try? Wire.decode(NodeLogEvent.self, from: message.payload) { logEventSink.yield(event) }
            }
        }
    }

    /// Starts receiving a job's events; call before submitting it so none is missed.
    public func follow(job: String) async throws {
        try await client.subscribe([topics.jobEvents(job)], qos: 1)
    }

    public func followNodes() async throws {
        try await client.subscribe([topics.nodeEvents("+")], qos: 1)
    }

    /// Starts receiving every node's log events; call before reading what is stored so none is missed.
    public func followLogs() async throws {
        try await client.subscribe([topics.logEvents("+")], qos: 1)
    }

    /// Registers the reply waiter, then publishes the request. A cancellation that came
    /// before the waiter was registered is honoured here (the cancel handler found nothing
    /// to resume).
    private func awaitReply<Body: Encodable & Sendable>(
        correlation: String, operation: APIOperation, body: Body, userProperties: [MQTTUserProperty]
    ) async throws -> [UInt8]? {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8], any Error>) in
            pending.withLock { $0[correlation] = continuation }
            if Task.isCancelled {
                pending.withLock { $0.removeValue(forKey: correlation) }?.resume(throwing: CancellationError())
                return
            }
            do {
                try client.publish(MQTTMessage(
                    topic: topics.api(operation), payload: Wire.encode(body), qos: 1,
                    responseTopic: replyTopic, correlationData: Array(correlation.utf8), userProperties: userProperties))
            } catch {
                pending.withLock { $0.removeValue(forKey: correlation) }?.resume(throwing: error)
            }
        }
    }

    /// One API call: publishes the request with a Response Topic and Correlation Data and
    /// awaits the matching reply. `userProperties` go with the request (a test marks with
    /// them what it sends against the contract on purpose).
    public func request<Body: Encodable & Sendable, Result: Codable & Sendable>(
        _ operation: APIOperation, _ body: Body, as: Result.Type = Result.self, userProperties: [MQTTUserProperty] = []
    ) async throws -> Result {
        var generator = SystemRandomNumberGenerator()
        let correlation = String(UInt64.random(in: 0...UInt64.max, using: &generator), radix: 36)
        let timeout = requestTimeout
        let payload: [UInt8] = try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
            group.addTask {
                try await withTaskCancellationHandler {
                    try await self.awaitReply(correlation: correlation, operation: operation, body: body,
                                              userProperties: userProperties)
                } onCancel: {
                    self.pending.withLock { $0.removeValue(forKey: correlation) }?.resume(throwing: CancellationError())
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            // On a timeout this cancels the reply waiter, whose handler resumes it.
            group.cancelAll()
            while let _ = try? await group.next() {}
            return first ?? []
        }
        guard !payload.isEmpty else {
            throw Failure("no answer from the dispatcher within \(timeout) (broker \(broker)): is `shoal dispatcher` running?",
                          unavailable: true)
        }
        let response = try Wire.decode(APIResponse<Result>.self, from: payload)
        guard response.ok, let result = response.result else {
            throw Failure(response.error ?? "the dispatcher refused the request")
        }
        return result
    }
}

