import ArgumentParser
import Foundation
import ShoalCommandLine
import ShoalClient
import ShoalCore

extension Jobs {
    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a job's output, every line prefixed by its node; with -f, follow it as it is produced.",
            discussion: """
                Examples:
                  shoal jobs logs 0193a1b2-...          (what was stored so far)
                  shoal jobs logs -f 0193a1b2-...       (then every new line, until every node has finished)
                stdout lines go to stdout and stderr lines to stderr, as `node | line`.
                """)

        @Argument(help: "The job id (from `shoal run` or `shoal jobs list`).")
        var id: String

        @Flag(name: [.short, .long], help: "Keep printing new lines until every node has finished.")
        var follow = false

        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            try JobIDArgument.check(id)
        }

        func run() async throws {
            let (id, follow) = (id, follow)
            try await CLIRuntime.withClient(connection) { client in
                let live = LiveOutput()
                // Subscribed before reading what is stored, so nothing falls between the two
                // (chunks seen in both are printed once).
                if follow { try await client.follow(job: id) }
                var cursor: OutputCursor?
                repeat {
                    let page = try await client.request(.jobOutput, JobOutputRequest(id: id, after: cursor), as: OutputPage.self)
                    page.chunks.forEach(live.take)
                    cursor = page.next
                } while cursor != nil
                let detail = try await client.request(.getJob, GetJobRequest(id: id, withOutput: false), as: JobDetail.self)
                // Nodes already finished: their last incomplete lines.
                detail.executions.forEach(live.take)
                if follow && !detail.job.isFinished {
                    let progress = RunProgress(expected: detail.job.expected, offline: 0, live: false)
                    detail.executions.forEach(progress.record)
                    if !progress.isComplete { try await Run.follow(job: id, progress: progress, output: live, client: client) }
                }
                live.flush()
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a job on every node (or one): running work is killed, work not yet started never starts.",
            discussion: """
                Each running execution's whole process tree is killed and ends `canceled` when its node \
                confirms; a node that is offline and never received the job ends `canceled` at once and \
                will not start it when it returns. A job that has finished is left as it was.
                Examples:
                  shoal jobs cancel 0193a1b2-...
                  shoal jobs cancel 0193a1b2-... --node web-07
                """)

        @Argument(help: "The job id (from `shoal run` or `shoal jobs list`).")
        var id: String

        @Option(name: .long, help: "Only this node's execution.")
        var node: String?

        @OptionGroup var signing: SigningOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try JobIDArgument.check(id)
            if let node, !TopicTree.isValidLevel(node) { throw ValidationError("'\(node)' is not a node id; see `shoal nodes`") }
        }

        func run() async throws {
            var request = CancelJobRequest(id: id, node: node, actor: CLIRuntime.actor)
            request.signature = try signing.sign(request.signingContent)
            let signedRequest = request
            let result = try await CLIRuntime.withClient(connection) { try await $0.request(.cancelJob, signedRequest, as: CancelJobResult.self) }
            switch output.output {
            case .json: print(StructuredOutput.json(result))
            case .yaml: print(StructuredOutput.yaml(result))
            case .table, .csv:
                if result.alreadyFinished {
                    print("job \(result.job) had already finished; nothing changed (see `shoal jobs show \(result.job)`)")
                } else {
                    print("job \(result.job): \(result.stopping) stopping, \(result.canceled) canceled before starting, "
                          + "\(result.unchanged) already finished")
                }
            }
        }
    }
}

extension Jobs {
    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hold a rollout's next batch: what runs finishes, nothing new starts until `shoal jobs resume`.")

        @Argument(help: "The job id of a rollout (from `shoal run --batch ...`).")
        var id: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try JobIDArgument.check(id)
        }

        func run() async throws {
            try await RolloutControl.send(.pauseJob, id: id, connection, output)
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let a paused rollout go on: its next batch goes out (after the wait, if one is running).")

        @Argument(help: "The job id of a paused rollout.")
        var id: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try JobIDArgument.check(id)
        }

        func run() async throws {
            try await RolloutControl.send(.resumeJob, id: id, connection, output)
        }
    }
}

/// `jobs pause` and `jobs resume`: one request, the job's rollout as the answer.
enum RolloutControl {
    static func send(_ operation: APIOperation, id: String, _ connection: ConnectionOptions, _ output: OutputOptions) async throws {
        let request = RolloutControlRequest(id: id, actor: CLIRuntime.actor)
        let job = try await CLIRuntime.withClient(connection) { try await $0.request(operation, request, as: JobView.self) }
        output.print(job, table: {
            var table = Table(headers: ["JOB", "ROLLOUT", "RESULT"])
            table.rows = [[job.id, job.rollout.map(JobRendering.rolloutLine) ?? "-", JobRendering.tally(job)]]
            return table
        })
    }
}
