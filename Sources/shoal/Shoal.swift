import ArgumentParser
import ShoalCommandLine

@main
struct Shoal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shoal",
        abstract: "Run commands on fleets of machines picked by their labels, over MQTT.",
        discussion: """
            Every command finds the broker from --broker, else SHOAL_BROKER, else the local fleet \
            started by `shoal up`, else mqtt://127.0.0.1:1883.

            Exit codes: 0 success; 1 some node did not succeed; 2 no node matched; \
            64 bad usage; 69 broker or dispatcher unavailable.
            """,
        version: "0.1.0",
        groupedSubcommands: [
            CommandGroup(name: "Work on the fleet", subcommands: [Run.self, Nodes.self, Jobs.self, Top.self, Metrics.self, Rules.self, Audit.self, Keys.self]),
            CommandGroup(name: "Run the pieces", subcommands: [Up.self, AgentCommand.self, Dispatcher.self, Simulate.self]),
        ]
    )
}
