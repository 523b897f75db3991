import ArgumentParser
import Foundation
import ShoalCommandLine
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
              shoal run -f -s role=web -- journalctl -f -n 20     (lines as they come: `web-01 | ...`)
              shoal run --incident -s name=web-07 -- ss -tnp      (reaches a quarantined node)
              shoal run -s role=web --canary 1 --wait 30s --batch 25% --max-failures 1 \\
                --health 'curl -fsS localhost/health' -- apt-get install -y nginx
              shoal run -s role=web --batch 25% --dry-run -- true   (the nodes and batches; runs nothing)

            Nodes that are offline when the job is submitted run it when they come back, until \
            the deadline; after it they are reported `unreachable`. Exits 0 only when every \
            expected node succeeded.

            A rollout (--batch, --canary, --wait, --max-failures) sends the job batch by batch, \
            nodes in the order of their ids; at one failed node more than --max-failures it \
            aborts: nodes not started end `skipped`. `shoal jobs pause|resume JOB` holds and \
            releases the next batch. The deadline bounds the whole rollout. See docs/rollouts.md.
            """)

    @Option(name: [.short, .long], help: "Which nodes: a label selector such as 'region=eu,role!=db'.")
    var selector: String = ""

    @Flag(name: .long, help: "Run on every node (required instead of an empty selector).")
    var all = false

    @Option(name: .long, help: "Per-node time limit, 1ms to 7d (e.g. 30s, 5m); the job's whole process tree is killed past it.",
            transform: DurationArgument.parser("--timeout", in: Limits.timeout))
    var timeout = DurationArgument("60s", seconds: 60)

    @Option(name: .long, help: "How long offline nodes may take to pick the job up before they count as unreachable, up to 30d.",
            transform: DurationArgument.parser("--deadline", in: Limits.deadlineIn))
    var deadline = DurationArgument("10m", seconds: 600)

    @Option(name: .long, help: ArgumentHelp(
        "The job's id (default: a new time-ordered id, printed before submitting).",
        discussion: "Submitting the same id again never runs the job twice: retry a failed submission with the id it printed."))
    var id: String?

    @Option(name: .long, help: "Run this script with /bin/sh -c instead of a command.")
    var shell: String?

    @Flag(name: .long, help: "Submit and print the job id without waiting for results.")
    var detach = false

    @Flag(name: [.short, .long], help: "Print every node's output lines as they are produced, each prefixed by its node.")
    var follow = false

    @Flag(name: .long, help: "An incident-response job: also reaches quarantined and cordoned nodes that match.")
    var incident = false

    @Flag(name: .long, help: "Print the nodes the job would expect and the batches it would run, then stop: nothing runs, nothing is stored.")
    var dryRun = false

    @OptionGroup(title: "Rollout and health check") var rollout: RolloutOptions
    @OptionGroup var signing: SigningOptions
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
        if follow && detach { throw ValidationError("give either --follow or --detach, not both") }
        if dryRun && (follow || detach) { throw ValidationError("--dry-run runs nothing: leave out --follow and --detach") }
        if let id, !JobID.isValid(id) {
            throw ValidationError("--id '\(id)' is not a job id: 1-64 letters, digits, '-', '_' or '.'")
        }
        do {
            try task.validate(field: shell == nil ? "command" : "--shell")
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// What each node runs: the command, then the health check when there is one, joined
    /// here so that a signature covers both (the dispatcher must not change a signed task).
    private var task: JobTask {
        let command = shell.map(JobTask.shell) ?? .exec(command)
        return rollout.health.map { command.followed(byHealthCheck: $0) } ?? command
    }

    func run() async throws {
        var generator = SystemRandomNumberGenerator()
        // Chosen here and shown before anything is sent: if the submission fails half-way
        // (dispatcher down, connection lost), resubmitting with --id cannot run it twice.
        let id = id ?? JobID.make(milliseconds: UInt64(Date().timeIntervalSince1970 * 1000), using: &generator)
        var request = SubmitJobRequest(
            id: id, selector: selector, all: all, task: task,
            timeout: timeout.seconds, deadlineIn: deadline.seconds, summary: true, incident: incident,
            actor: CLIRuntime.actor, rollout: try rollout.plan())
        let format = output.output
        if dryRun {
            let preview = request
            let plan = try await CLIRuntime.withClient(connection) { try await $0.request(.planJob, preview, as: JobPlanView.self) }
            JobRendering.printPlan(plan, format: format)
            return
        }
        if let content = request.signingContent {
            // Valid while the job may still be picked up (its deadline, plus a minute for
            // the submission to get through): a replay later is refused as expired.
            request.signature = try signing.sign(content, validFor: deadline.seconds + 60)
        }
        let signedRequest = request
        let detach = detach
        let follow = follow
        let started = Date()
        if !detach { CLIRuntime.printError("job \(id)") }
        let detail: JobDetail?
        do {
            detail = try await CLIRuntime.withClient(connection) { client -> JobDetail? in
                // Following before submitting, so that no event is missed; a detached run follows nothing.
                if !detach { try await client.follow(job: id) }
                let submitted = try await client.request(.submitJob, signedRequest, as: JobDetail.self)
                if submitted.job.expected == 0 || detach || submitted.job.isFinished { return submitted }
                let live = follow ? LiveOutput() : nil
                let progress = RunProgress(expected: submitted.job.expected, offline: submitted.executions.count,
                                           live: format == .table && !follow)
                progress.start(job: id)
                try await Self.follow(job: id, progress: progress, output: live, client: client)
                live?.flush()
                return try await client.request(.getJob, GetJobRequest(id: id), as: JobDetail.self)
            }
        } catch let exit as ExitCode {
            CLIRuntime.printError("job \(id) may or may not have been submitted; retrying with `--id \(id)` never runs it twice")
            throw exit
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
            if !follow {
                let blocks = JobRendering.outputBlocks(detail.executions)
                if !blocks.isEmpty { print("\n" + blocks) }
            } else {
                print("\n" + JobRendering.executionTable(detail.executions).render())
            }
            let elapsed = Date().timeIntervalSince(started)
            print("\n\(detail.executions.count) nodes: \(JobRendering.tally(detail.job)) in \(DurationText.format(elapsed))  (job \(id))")
            if let reason = detail.job.abortReason { print("job aborted: \(JobRendering.why(reason))") }
        }
        if detail.executions.contains(where: { $0.state != .succeeded }) { throw ExitCode(1) }
    }

    /// Applies the job's events until every node has finished. Events are the fast path;
    /// a check of the job after a quiet spell makes sure that a lost or unreadable event
    /// can delay the end, never stop it.
    static func follow(job id: String, progress: RunProgress, output: LiveOutput?, client: DispatcherClient) async throws {
        enum Signal: Sendable { case event(JobEvent), finished, closed }
        let (signals, sink) = AsyncStream.makeStream(of: Signal.self)
        let finished = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in client.jobEvents where event.job == id { sink.yield(.event(event)) }
                sink.yield(.closed)
            }
            group.addTask {
                while (try? await Task.sleep(for: .seconds(5))) != nil {
                    let state = try? await client.request(.getJob, GetJobRequest(id: id, withOutput: false), as: JobDetail.self)
                    if state?.job.isFinished == true {
                        sink.yield(.finished)
                        return
                    }
                }
            }
            var finished = false
            loop: for await signal in signals {
                switch signal {
                case .event(let event):
                    // Output before states: it was produced before the states announced with it.
                    for chunk in event.output ?? [] { output?.take(chunk) }
                    for execution in event.executions {
                        output?.take(execution)
                        progress.record(execution)
                    }
                    if progress.isComplete {
                        finished = true
                        break loop
                    }
                case .finished:
                    finished = true
                    break loop
                case .closed:
                    break loop
                }
            }
            group.cancelAll()
            return finished
        }
        if !finished {
            throw DispatcherClient.Failure("lost the connection to the broker while following job \(id); "
                                           + "see `shoal jobs show \(id)`", unavailable: true)
        }
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
