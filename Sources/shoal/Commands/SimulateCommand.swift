import MQTTSwarm
import ArgumentParser
import FleetSupervision
import Foundation
import Mosquitto
import ShoalAgent
import ShoalCommandLine
import ShoalCore
import ShoalSimulator
import UnixSignals

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run many simulated agents against a broker (for scale tests and benchmarks).",
        discussion: """
            Each simulated agent has its own MQTT connection, node id (sim-00001, …), labels, \
            birth/death, heartbeats and job handling, as a real agent does; only the task is \
            synthetic: `sleep X` waits, `false`/`exit N` fail, `echo …` prints, anything else \
            succeeds after --task-time. Agents run in worker processes of --per-process each \
            (every agent holds 3 open files). Prints progress on stderr and \
            "ready: N agents connected" on stdout; Ctrl-C or SIGTERM stops every agent cleanly.

            Labels: --labels-from 'region=eu:50%,us:30%,ap:20%;role=web,db;env=prod' gives each \
            key its values (equally likely without weights; :N relative weights; :N% percentages \
            adding up to 100). Every node also has name, os, arch, cpus, mem_mb, gpus, kernel, \
            agent and simulated=true. Details: docs/simulator.md.

            Example: shoal simulate --agents 10000 --fail-rate 0.01
            """)

    @Option(name: .long, help: "How many simulated agents to run.")
    var agents: Int

    @Option(name: .long, help: ArgumentHelp("How labels are spread over the agents (see above).", valueName: "spec"))
    var labelsFrom: String = LabelSpec.defaultText

    @Option(name: .long, help: "Fraction of executions, 0 to 1, that fail with exit 1 (the same ones on every run).")
    var failRate: Double = 0

    @Option(name: .long, help: "How long a task the simulator does not recognise takes, up to 7d (e.g. 200ms, 2s).",
            transform: DurationArgument.parser("--task-time", in: 0...Limits.timeout.upperBound))
    var taskTime = DurationArgument("0s", seconds: 0)

    @Option(name: .long, help: "Heartbeat interval, 100ms to 1h (jittered ±10%).",
            transform: DurationArgument.parser("--heartbeat", in: Limits.heartbeatInterval))
    var heartbeat = DurationArgument("5s", seconds: 5)

    @Option(name: .long, help: "Agents per worker process (each agent holds 3 open files).")
    var perProcess: Int = 5000

    @Option(name: .long, help: "Node ids are PREFIX-00001, PREFIX-00002, …")
    var idPrefix: String = "sim"

    @Option(name: .long, help: "Connections awaiting CONNACK at once, shared by the workers (mosquitto's listen backlog is 100).")
    var maxConnecting: Int = 64

    @Flag(name: .long, help: "Also answer bench/fanout's raw baseline (PREFIX/bench/raw/job/{cell} -> PREFIX/bench/raw/reply).")
    var rawEcho = false

    @Option(name: .long, help: "Also send a metric batch every interval, 1s to 1h (jittered ±10%; bench/ingest), or off.",
            transform: MetricsInterval.parse)
    var metricsInterval = MetricsInterval.off

    @Option(name: .long, help: "Values in each simulated metric sample, 1 to 1024.")
    var metricValues = 25

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions

    @Flag(name: .long, help: .hidden)
    var worker = false

    @Option(name: .long, help: .hidden)
    var first: Int = 1

    @Option(name: .long, help: .hidden)
    var count: Int?

    func validate() throws {
        guard agents >= 1 else { throw ValidationError("--agents must be at least 1, e.g. --agents 1000") }
        do {
            _ = try LabelSpec(parsing: labelsFrom)
        } catch {
            throw ValidationError("--labels-from: \(error.description)")
        }
        guard (0...1).contains(failRate) else {
            throw ValidationError("--fail-rate must be between 0 and 1, e.g. --fail-rate 0.05 for 5%")
        }
        let maximum = MQTTSwarm.maximumClients()
        guard (1...maximum).contains(perProcess) else {
            throw ValidationError("--per-process must be between 1 and \(maximum): each agent holds "
                                  + "\(MQTTSwarm.descriptorsPerClient) open files and a process may open "
                                  + "\(MQTTSwarm.raiseDescriptorLimit().soft); e.g. --per-process 5000")
        }
        guard TopicTree.isValidLevel(idPrefix), idPrefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        else {
            throw ValidationError("--id-prefix '\(idPrefix)' may use letters, digits, '-', '_' and '.' only, e.g. --id-prefix sim")
        }
        guard (1...Limits.metricValuesPerSample).contains(metricValues) else {
            throw ValidationError("--metric-values must be between 1 and \(Limits.metricValuesPerSample), e.g. --metric-values 25")
        }
        guard maxConnecting >= 1 else { throw ValidationError("--max-connecting must be at least 1, e.g. --max-connecting 64") }
        if worker {
            guard let count, count >= 1, first >= 1, first - 1 + count <= agents else {
                throw ValidationError("--worker needs --first K --count M within --agents")
            }
        }
    }

    func run() async throws {
        if worker {
            try await runWorker()
        } else {
            let plan = SimulationSupervisor.Plan(
                total: agents, perProcess: perProcess, workerArguments: workerArguments,
                broker: try connection.addressOrLocalFleet.description, maxConnecting: maxConnecting)
            do {
                try await SimulationSupervisor(plan: plan, say: CLIRuntime.printError).run()
            } catch {
                CLIRuntime.printError("error: \(error)")
                throw ExitCode(1)
            }
        }
    }

    /// The arguments every worker shares; the supervisor adds `--first` and `--count`.
    var workerArguments: [String] {
        var arguments = [
            "simulate", "--worker", "--agents", String(agents), "--labels-from", labelsFrom,
            "--fail-rate", String(failRate), "--task-time", taskTime.text, "--heartbeat", heartbeat.text,
            "--per-process", String(perProcess), "--id-prefix", idPrefix, "--prefix", connection.prefix,
            "--log-level", logging.logLevel,
        ]
        if let username = connection.username { arguments += ["--username", username] }
        // The workers read the same files (a password never goes on a command line).
        for (flag, path) in [("--password-file", connection.passwordFile), ("--tls-ca", connection.tlsCa),
                             ("--tls-cert", connection.tlsCert), ("--tls-key", connection.tlsKey)] {
            if let path { arguments += [flag, path] }
        }
        if rawEcho { arguments.append("--raw-echo") }
        arguments += ["--metrics-interval", metricsInterval.text, "--metric-values", String(metricValues)]
        return arguments
    }
}

// MARK: - Worker

extension Simulate {
    /// One worker process: a `FleetSimulator` for agents `first ..< first + count`, reporting
    /// its connected count on stdout (`FleetProgress.reportLine`), until SIGTERM/SIGINT.
    private func runWorker() async throws {
        let supervisor = getppid()
        let logger = ServiceRuntime.bootstrap(label: "shoal.simulate", level: logging.logLevel)
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let configuration = SimulatorConfiguration(
            broker: try connection.addressOrLocalFleet, topics: connection.topics, idPrefix: idPrefix, first: first,
            count: count ?? agents, fleetSize: agents, labels: try LabelSpec(parsing: labelsFrom),
            heartbeatInterval: heartbeat.seconds, failRate: failRate,
            taskTime: taskTime.seconds, version: shoalVersion,
            username: connection.resolvedUsername, password: try connection.password, maxConnecting: maxConnecting,
            rawEcho: rawEcho, tls: connection.tls, metricsInterval: metricsInterval.seconds, metricValues: metricValues)
        let simulator: FleetSimulator
        do {
            simulator = try FleetSimulator(configuration: configuration, logger: logger)
            try await simulator.start()
        } catch {
            CLIRuntime.printError("error: \(error)")
            throw ExitCode(1)
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await progress in simulator.progress {
                    FileHandle.standardOutput.write(Data(progress.reportLine.utf8))
                }
            }
            group.addTask {
                for await _ in signals { return }
            }
            group.addTask {
                // The supervisor forwards Ctrl-C and SIGTERM. If it is gone (killed), we are
                // reparented: stop too rather than hold thousands of connections for nobody.
                // (Not PR_SET_PDEATHSIG: it follows the spawning *thread*, and the
                // supervisor spawns from a pool thread that may end while it runs.)
                while getppid() == supervisor {
                    do {
                        try await Task.sleep(for: .seconds(1))
                    } catch {
                        return
                    }
                }
                CLIRuntime.printError("the shoal simulate supervisor is gone; stopping")
            }
            await group.next()
            // Ends `progress` too, and with it the first task.
            await simulator.stop()
            group.cancelAll()
        }
    }
}
