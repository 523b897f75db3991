import ArgumentParser
import Foundation
import ShoalCommandLine
import ShoalClient
import ShoalCore

/// `shoal logs`: the lines the agents ship from the files they follow.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the log lines nodes ship (shoal agent --log-file), interleaved in time order, each prefixed with its node.",
        discussion: """
            Examples:
              shoal logs -s role=web --since 1h
              shoal logs -f -s role=web --grep ERROR        (then every new line, until interrupted)
              shoal logs --source /var/log/app.log -o json  (one JSON object per line)
            Lines an agent could not send are reported in their place, e.g. \
            "node-02: 1234 lines dropped (outbox full) from /var/log/app.log"; --grep never hides those.
            """)

    @Option(name: [.short, .long], help: "Only nodes matching this selector, e.g. 'role=web' (default: every node).")
    var selector: String = ""

    @Flag(name: [.short, .long], help: "Keep printing new lines as they arrive, until interrupted.")
    var follow = false

    @Option(name: .long, help: "Only lines matching this regular expression, e.g. 'ERROR|WARN'.")
    var grep: String?

    @Option(name: .long, help: "Only lines read in this last while, e.g. 10m, 2h, 7d (default: 10m).",
            transform: DurationArgument.parser("--since", in: 0.001...(100 * 365 * 86_400)))
    var since = DurationArgument("10m", seconds: 600)

    @Option(name: .long, help: "Only lines of this source (the path given to --log-file).")
    var source: String?

    @Option(name: [.short, .long], help: "Output format: table (node | line), json (one object per line) or csv.")
    var output: OutputFormat = .table

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        try SelectorValidation.check(selector, all: true)
        if let grep {
            do {
                _ = try Regex(grep)
            } catch {
                throw ValidationError("--grep: '\(grep)' is not a regular expression (\(error)); e.g. --grep 'ERROR|WARN'")
            }
        }
        if let source {
            do {
                try Bounds.checkLogSource(source, "--source")
            } catch {
                throw ValidationError("\(error); give the path as the agent's --log-file has it")
            }
        }
        if output == .yaml { throw ValidationError("-o yaml does not stream; use -o json (one object per line) or -o csv") }
    }

    func run() async throws {
        let request = LogQueryRequest(selector: selector, source: source, since: Date().timeIntervalSince1970 - since.seconds)
        let printer = try LogPrinter(format: output, grep: grep)
        let (follow, selectorText) = (follow, selector)
        try await CLIRuntime.withClient(connection) { client in
            // Subscribed before reading what is stored, so nothing falls between the two
            // (lines seen in both are printed once).
            var matching: NodeMatch?
            if follow {
                try await client.followLogs()
                try await client.followNodes()
                let nodes = try await client.request(.listNodes, ListNodesRequest(selector: selectorText), as: [NodeView].self)
                matching = try NodeMatch(selector: selectorText, nodes: nodes)
            }
            var page = request
            while true {
                let result = try await client.request(.queryLogs, page, as: LogPage.self)
                result.entries.forEach(printer.takeStored)
                guard let next = result.next else { break }
                page.after = next
            }
            guard let matching else { return }
            // Node events change which nodes match (a relabelled or new node); log events are
            // printed as they come. Both streams end when the client closes.
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await view in client.nodeEvents { matching.update(view) }
                }
                group.addTask {
                    for await event in client.logEvents where matching.contains(event.node) {
                        for entry in event.entries where request.source == nil || entry.source == request.source {
                            printer.takeLive(entry)
                        }
                    }
                }
            }
        }
    }
}
