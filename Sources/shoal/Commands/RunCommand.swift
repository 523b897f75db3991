import ArgumentParser
import Foundation
import ShoalAgentCLI
import ShoalClient
import ShoalCore

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command on every node matching a selector and show each node's result.",
        discussion: """
            Examples:
              shoal run -s 'region=eu,role=web' -- uptime
              shoal run --all --timeout 30s -- df -h /
              shoal run -s 'gpus>=1' --shell 'nvidia-smi -L | wc -l'

            Nodes that are offline when the job is submitted run it when they come back, until \
            the deadline; after it they are reported `unreachable`. Exits 0 only when every \
            expected node succeeded.
            """)

    @Option(name: [.short, .long], help: "Which nodes: a label selector such as 'region=eu,role!=db'.")
    var selector: String = ""

    @Flag(name: .long, help: "Run on every node (required instead of an empty selector).")
    var all = false

    @Option(name: .long, help: "Per-node time limit (e.g. 30s, 5m); the whole process group is killed past it.")
    var timeout: String = "60s"

    @Option(name: .long, help: "How long offline nodes may take to pick the job up before they count as unreachable.")
    var deadline: String = "10m"

    @Option(name: .long, help: "Run this script with /bin/sh -c instead of a command.")
    var shell: String?

    @Flag(name: .long, help: "Submit and print the job id without waiting for results.")
    var detach = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after `--`.")
    var command: [String] = []

    func validate() throws {
        try SelectorValidation.check(selector, all: all)
        if !selector.isEmpty && all { throw ValidationError("give either -s SELECTOR or --all, not both") }
        if command.isEmpty && shell == nil {
            throw ValidationError("nothing to run: add `-- COMMAND ARGS...` or --shell 'SCRIPT'")
        }
        if !command.isEmpty && shell != nil { throw ValidationError("give either a command after `--` or --shell, not both") }
        guard let seconds = DurationText.seconds(timeout), seconds > 0 else {
            throw ValidationError("--timeout '\(timeout)' is not a duration; write e.g. 30s, 5m or 1h")
        }
        guard let deadlineSeconds = DurationText.seconds(deadline), deadlineSeconds > 0 else {
            throw ValidationError("--deadline '\(deadline)' is not a duration; write e.g. 10m or 1h")
        }
    }

    func run() async throws {
        var generator = SystemRandomNumberGenerator()
        let id = JobID.make(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000), using: &generator)
        let request = SubmitJobRequest(
            id: id, selector: selector, all: all, task: shell.map(JobTask.shell) ?? .exec(command),
            timeout: DurationText.seconds(timeout)!, deadlineIn: DurationText.seconds(deadline)!, summary: true)
        let format = output.output
        let detach = detach
        let started = Date()
        let detail = try await CLIRuntime.withClient(connection) { client -> JobDetail? in
            // Following before submitting, so that no event is missed; a detached run follows nothing.
            if !detach { try await client.follow(job: id) }
            let submitted = try await client.request(.submitJob, request, as: JobDetail.self)
            if submitted.job.expected == 0 || detach { return submitted }
            let progress = RunProgress(expected: submitted.job.expected, offline: submitted.executions.count,
                                       live: format == .table)
            progress.start(job: id)
            for await event in client.events where event.job == id {
                progress.record(event)
                if progress.isComplete { break }
            }
            return try await client.request(.getJob, GetJobRequest(id: id), as: JobDetail.self)
        }
        guard let detail else { return }
        if detail.job.expected == 0 {
            CLIRuntime.printError("no node matches selector '\(selector)'; see `shoal nodes`")
            throw ExitCode(2)
        }
        if detach {
            print(id)
            return
        }
        switch format {
        case .json: print(StructuredOutput.json(detail))
        case .yaml: print(StructuredOutput.yaml(detail))
        case .csv: print(JobRendering.executionTable(detail.executions).csv())
        case .table:
            let blocks = JobRendering.outputBlocks(detail.executions)
            if !blocks.isEmpty { print("\n" + blocks) }
            let elapsed = Date().timeIntervalSince(started)
            print("\n\(detail.executions.count) nodes: \(JobRendering.tally(detail.job)) in \(DurationText.format(elapsed))  (job \(id))")
        }
        if detail.executions.contains(where: { $0.state != .succeeded }) { throw ExitCode(1) }
    }
}

/// Tracks which expected nodes have finished and, in table mode, prints each result as
/// it arrives (one line per node for small fleets, a counter line for large ones).
/// Owned by the task that runs `shoal run`; not shared.
final class RunProgress {
    /// Nodes heard from, with their latest state (others are still `queued`).
    private var states: [String: ExecutionState] = [:]
    private let expected: Int
    private let offline: Int
    private let live: Bool
    private let perNodeLines: Bool
    private var finished = 0

    init(expected: Int, offline: Int, live: Bool) {
        self.expected = expected
        self.offline = offline
        self.live = live
        perNodeLines = expected <= 50
    }

    /// The output's first line, so short answers are readable as they arrive; the full
    /// outputs follow, grouped, once every node is done.
    private static func preview(_ event: ExecutionView) -> String {
        let text = (event.stdout ?? "") + (event.stderr ?? "")
        guard let first = text.split(separator: "\n", omittingEmptySubsequences: true).first else { return "" }
        return "  | " + (first.count > 60 ? first.prefix(57) + "..." : first)
    }

    var isComplete: Bool { finished >= expected }

    func start(job: String) {
        guard live else { return }
        CLIRuntime.printError("job \(job): \(expected) node\(expected == 1 ? "" : "s") expected" + (offline > 0 ? ", \(offline) offline" : ""))
    }

    func record(_ event: ExecutionView) {
        let previous = states[event.node] ?? .queued
        guard previous.advanced(to: event.state) != nil else { return }
        states[event.node] = event.state
        guard event.state.isTerminal else { return }
        finished += 1
        guard live else { return }
        if perNodeLines {
            let mark = event.state == .succeeded ? "ok  " : "FAIL"
            let exit = event.exitCode.map { "exit \($0)" } ?? ""
            let duration = event.duration.map(DurationText.format) ?? ""
            let reason = event.state == .succeeded ? "" : (event.reason ?? "")
            print("\(mark) \(event.node)  \(event.state.rawValue)  \(exit)  \(duration)  \(reason)".trimmingCharacters(in: .whitespaces)
                  + Self.preview(event))
        } else {
            // Large fleets: a line per tenth, not per node.
            let step = max(1, expected / 10)
            if finished % step == 0 || finished == expected {
                CLIRuntime.printError("\(finished)/\(expected) nodes finished")
            }
        }
    }
}
