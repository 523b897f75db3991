import BrokerLauncher
import Foundation
import Logging
import Mosquitto
import ServiceLifecycle
import ShoalCore
import ShoalEngine

/// The dispatcher service: records what agents report, keeps the registry, plans and
/// publishes jobs, enforces deadlines and answers the API.
///
/// `run()` feeds one sequential loop with batches of broker messages and clock ticks; all
/// state lives in an `EngineShell` (around the pure `DispatchEngine`) that only that loop
/// touches, so there are no locks on the hot path.
public final class Dispatcher: Service, Sendable {
    public let configuration: DispatcherConfiguration
    private let logger: Logger

    public init(configuration: DispatcherConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    private enum Input: Sendable {
        case message(MQTTMessage)
        case tick
        /// The commit window opened by the oldest uncommitted change has passed.
        case commitDue
        /// An enrollment request's secret, hashed beside the loop (nil: hashing failed).
        case credentialHashed(EngineShell.CredentialHashing, hash: String?)
        /// A Prometheus scrape (`--metrics-listen`): render, and hand the text to `reply`.
        case scrape(reply: @Sendable ([UInt8]) -> Void)
    }

    /// Rows that make a batch worth committing without waiting for the window.
    static let commitRows = 512

    public func run() async throws {
        let store = try DispatcherStore(path: configuration.databasePath)
        let inputs = InputBuffer<Input>()
        // Messages go straight from the network thread into the batch being gathered, a
        // burst at a time: at 10,000 reports a job, a task switch per message cost more than
        // decoding them, and a wait per message on the network thread more again. Up to 1 ms
        // more per report lets thin bursts gather (see `BurstLoop`).
        let client = try MQTTClient(configuration: MQTTConfiguration(
            host: configuration.broker.host, port: configuration.broker.port, clientID: configuration.clientID,
            username: configuration.username, password: configuration.password,
            // Persistent: agents' reports made while the dispatcher is down wait at the broker.
            cleanStart: false, sessionExpiry: 7 * 24 * 3600, maxInflight: 10_000,
            // The whole fleet reports to this one subscriber (see `receiveMaximum`).
            receiveMaximum: 10_000, tls: configuration.tls
        ), delivery: .batches(gather: .milliseconds(1)) { inputs.append(contentsOf: $0.lazy.map(Input.message)) }, logger: logger)
        let events = EventPublisher(client: client, topics: configuration.topics)
        let engine = try EngineShell(store: store, client: client, events: events, topics: configuration.topics,
                                     missedHeartbeats: configuration.missedHeartbeats,
                                     retention: configuration.retention, rules: configuration.rules,
                                     enrollment: configuration.enrollment, ruleSigningKey: configuration.ruleSigningKey,
                                     logger: logger)
        engine.engine.metricRetention = MetricRetention(rawWindow: configuration.metricsRawWindow,
                                                        rollupWindow: configuration.metricsRollupWindow)
        // Bound before the broker connection: a taken port fails the start.
        let endpoint = try configuration.metricsListen.map { try MetricsEndpoint(host: $0.host, port: $0.port, logger: logger) }
        defer { endpoint?.close() }
        let filters = configuration.topics.dispatcherFilters
        guard try await client.startUnlessShuttingDown(subscribingTo: filters) else { return }
        if let endpoint {
            endpoint.start { reply in inputs.append(.scrape(reply: reply)) }
            logger.info("Serving Prometheus metrics", metadata: ["metrics.port": "\(endpoint.port)"])
        }
        engine.resendUnfinished()
        logger.info("Dispatcher running", metadata: ["broker": "\(configuration.broker)", "db": "\(configuration.databasePath)"])

        let tick = configuration.tickInterval
        let window = configuration.commitWindow
        // Events are encoded and published beside the loop; on shutdown what was announced
        // is still sent before the client disconnects.
        async let publishing: Void = events.run()
        // Discarding: the commit timers come and go all the time, and a plain task group
        // would keep every finished one until the dispatcher stops.
        await withDiscardingTaskGroup { group in
            group.addTask {
                while (try? await Task.sleep(for: tick)) != nil { inputs.append(.tick) }
            }
            // Everything that arrived while the previous batch was processed is one batch.
            // Its changes are committed at once when they finish a job, when they are many,
            // or when an API request reads them (`answer` commits first); otherwise they wait
            // up to `commitWindow` for more. During a 10,000-node fan-in the loop keeps up
            // with reports a few at a time: committing (and announcing) each such batch made
            // ~1,000 transactions and ~1,000 job events a job.
            // A graceful shutdown ends the input; what was queued is still applied and committed.
            // (Not `cancelOnGracefulShutdown()`: its merge costs a task switch per batch.)
            let clock = ContinuousClock()
            var commitArmed = false
            var lastBatch = (inputs: 0, seconds: 0.0)
            await withGracefulShutdownHandler {
                for await batch in inputs.batches {
                    let started = clock.now
                    var due = false
                    for input in batch {
                        switch input {
                        case .message(let message): engine.handle(message)
                        case .tick: engine.tick()
                        case .commitDue:
                            commitArmed = false
                            due = true
                        case .credentialHashed(let request, let hash):
                            engine.credentialHashed(request, hash: hash)
                        case .scrape(let reply):
                            reply(engine.exposition(lastBatchInputs: lastBatch.inputs, lastBatchSeconds: lastBatch.seconds))
                        }
                    }
                    if let scratch = configuration.enrollment?.scratchDirectory {
                        // mosquitto_passwd is a process start: never on the loop.
                        for request in engine.takeHashRequests() {
                            group.addTask {
                                let hash = try? await BrokerPasswordFile.hash(password: request.secret, scratch: scratch)
                                inputs.append(.credentialHashed(request, hash: hash))
                            }
                        }
                    }
                    let applied = clock.now
                    if due || window == .zero || engine.finishesJobs || engine.pendingRows >= Self.commitRows {
                        engine.flush()
                    } else if engine.hasPending && !commitArmed {
                        commitArmed = true
                        group.addTask {
                            try? await Task.sleep(for: window)
                            inputs.append(.commitDue)
                        }
                    }
                    let spent = clock.now - started
                    lastBatch = (batch.count, Double(spent.components.seconds) + Double(spent.components.attoseconds) * 1e-18)
                    logger.trace("Batch", metadata: [
                        "batch.inputs": "\(batch.count)", "batch.apply": "\(applied - started)",
                        "batch.flush": "\(clock.now - applied)"])
                }
                engine.flush()
            } onGracefulShutdown: {
                inputs.finish()
            }
            group.cancelAll()
        }
        events.finish()
        await publishing
        client.stop()
    }
}
