import MQTTSwarm
import Logging
import Mosquitto
import ShoalCore

/// Many simulated Shoal agents in one process, each with its own MQTT connection, node id,
/// labels, birth/death, heartbeats and job handling (see `SimulatedAgent`), all on one
/// `MQTTSwarm`: one thread and epoll, about 3 open files per agent.
///
/// Thread-safe. `start()` connects the agents (at most `maxConnecting` awaiting CONNACK at a
/// time) and returns once they are all added, not connected: follow `progress` for that.
/// `stop()` makes every agent publish its death and disconnect cleanly.
public final class FleetSimulator: Sendable {
    public let configuration: SimulatorConfiguration
    /// The number of connected agents, each time it changes. Keeps only the latest value
    /// for a slow reader. Ends after `stop()`.
    public let progress: AsyncStream<FleetProgress>

    private let progressSink: AsyncStream<FleetProgress>.Continuation
    private let swarm: MQTTSwarm
    private let logger: Logger

    /// Throws `MQTTSwarmError.capacity` when this process cannot open enough files for
    /// `configuration.count` agents.
    public init(configuration: SimulatorConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        (progress, progressSink) = AsyncStream.makeStream(of: FleetProgress.self, bufferingPolicy: .bufferingNewest(1))
        var swarmConfiguration = MQTTSwarm.Configuration(broker: configuration.broker, capacity: configuration.count)
        swarmConfiguration.maxConnecting = configuration.maxConnecting
        swarmConfiguration.tls = configuration.tls
        swarm = try MQTTSwarm(configuration: swarmConfiguration, logger: logger)
    }

    /// Agents connected right now.
    public var connectedCount: Int { swarm.connectedCount }

    /// Creates every agent and starts connecting them.
    public func start() async throws {
        try swarm.start()
        progressSink.yield(FleetProgress(connected: 0, total: configuration.count))
        let configuration = self.configuration
        let logger = self.logger
        let sink = progressSink
        try await swarm.perform { loop in
            let fleet = FleetContext(configuration: configuration, logger: logger, progress: sink)
            for number in configuration.first..<(configuration.first + configuration.count) {
                let node = configuration.nodeID(number)
                let agent = SimulatedAgent(node: node, number: number, fleet: fleet)
                agent.client = try loop.addClient(SimulatedAgent.options(node: node, fleet: fleet), handler: agent)
            }
        }
        logger.debug("Simulated agents created", metadata: ["simulator.agents": "\(configuration.count)"])
    }

    /// Deaths, DISCONNECTs, then the swarm's thread ends.
    public func stop() async {
        await swarm.shutdown()
        progressSink.finish()
    }
}
