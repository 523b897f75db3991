import ArgumentParser
import Foundation
import ShoalCommandLine
import ShoalClient
import ShoalCore

struct Top: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A live table of nodes (CPU, memory, disk, load, last heartbeat), like top for the fleet.",
        discussion: """
            Refreshes every --interval. In a terminal, keys change the order: c CPU, m memory, d disk, \
            l load, n name, s last seen; q quits (as does Ctrl-C).
            Examples:
              shoal top
              shoal top -s role=db --sort disk
              shoal top --once -o json
            """)

    @Option(name: [.short, .long], help: "Only nodes matching this selector, e.g. 'region=eu' or 'cpu_pct>50'.")
    var selector: String = ""

    @Option(name: .long, help: "Order, heaviest first: cpu, mem, disk, load, name or seen.")
    var sort: TopView.SortKey = .cpu

    @Option(name: .long, help: "Refresh interval, 500ms to 1h (e.g. 2s).", transform: DurationArgument.parser("--interval", in: 0.5...3600))
    var interval = DurationArgument("2s", seconds: 2)

    @Flag(name: .long, help: "Print one frame and exit (for scripts; with -o json|yaml|csv, the rows).")
    var once = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try SelectorValidation.check(selector, all: true)
        if output.output != .table && !once { throw ValidationError("-o \(output.output.rawValue) needs --once (a live view is a table)") }
    }

    func run() async throws {
        let request = ListNodesRequest(selector: selector)
        let once = self.once, output = self.output, selector = self.selector, interval = self.interval, sort = self.sort
        try await CLIRuntime.withClient(connection) { client in
            if once {
                let nodes = try await client.request(.listNodes, request, as: [NodeView].self)
                let view = TopView(nodes: nodes, now: Date().timeIntervalSince1970, sort: sort, selector: selector, width: .max, height: .max)
                output.print(view.sorted(), table: {
                    var table = Table(headers: TopView.headers)
                    table.rows = view.rows()
                    return table
                })
                return
            }
            // One consumer for the refresh timer and the keys: a key redraws at once.
            let (events, sink) = AsyncStream.makeStream(of: TopEvent.self)
            let keys = TerminalKeys { sink.yield(.key($0)) }
            defer { keys.restore() }
            var sort = sort
            var nodes: [NodeView] = []
            func draw() {
                let size = TerminalKeys.size()
                let view = TopView(nodes: nodes, now: Date().timeIntervalSince1970, sort: sort, selector: selector,
                                   width: size.columns, height: size.rows)
                // Home, draw, clear what is left of the previous frame.
                let frame = "\u{1B}[H" + view.render().replacingOccurrences(of: "\n", with: "\u{1B}[K\n") + "\u{1B}[K\u{1B}[J"
                FileHandle.standardOutput.write(Data(frame.utf8))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    repeat { sink.yield(.refresh) } while (try? await Task.sleep(for: interval.duration)) != nil
                }
                defer { group.cancelAll() }
                for await event in events {
                    switch event {
                    case .refresh:
                        nodes = try await client.request(.listNodes, request, as: [NodeView].self)
                    case .key("q"):
                        return
                    case .key(let key):
                        guard let chosen = TopView.SortKey.forKey(key) else { continue }
                        sort = chosen
                    }
                    draw()
                }
            }
        }
    }
}

private enum TopEvent: Sendable {
    case refresh
    case key(Character)
}

extension TopView.SortKey: ExpressibleByArgument {}
