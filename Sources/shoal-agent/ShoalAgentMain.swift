import ArgumentParser
import ShoalAgent
import ShoalCommandLine

/// The agent alone, for machines that only run jobs: the same agent as `shoal agent`,
/// without the dispatcher, SQLite, the client commands and full Foundation, linked with
/// the static Swift runtime. Why: an idle agent's resident memory (bench/README.md, agent-rss).
@main
struct ShoalAgentMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shoal-agent",
        abstract: AgentOptions.abstract,
        discussion: "Example: shoal-agent --broker mqtt://broker:1883 --label region=eu --label role=web",
        version: shoalVersion)

    @OptionGroup var options: AgentOptions

    func run() async throws { try await options.run() }
}
