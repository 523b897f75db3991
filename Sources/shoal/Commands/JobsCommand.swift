import ArgumentParser
import Foundation
import ShoalCommandLine
import ShoalClient
import ShoalCore

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List jobs, show one job's per-node results, follow its output, cancel it.",
        subcommands: [List.self, Show.self, Output.self, Logs.self, Cancel.self, Pause.self, Resume.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List recent jobs, newest first.")

        @Option(name: .long, help: "How many jobs to list.")
        var limit = 20

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try ListLimit.validate(limit)
        }

        func run() async throws {
            let request = ListJobsRequest(limit: limit)
            let jobs = try await CLIRuntime.withClient(connection) { try await $0.request(.listJobs, request, as: [JobView].self) }
            output.print(jobs, table: {
                var table = Table(headers: ["JOB", "CREATED", "SELECTOR", "TASK", "NODES", "RESULT"])
                table.rows = jobs.map { job in
                    [job.id, JobRendering.time(job.createdAt), job.selector.isEmpty ? "(all)" : job.selector,
                     String(job.task.description.prefix(40)), String(job.expected),
                     (job.abortReason == nil ? "" : "aborted: ") + JobRendering.tally(job)]
                }
                return table
            })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a job: every expected node with its state, exit code and output.")

        @Argument(help: "The job id (from `shoal run` or `shoal jobs list`).")
        var id: String

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try JobIDArgument.check(id)
        }

        func run() async throws {
            let request = GetJobRequest(id: id)
            let detail = try await CLIRuntime.withClient(connection) { try await $0.request(.getJob, request, as: JobDetail.self) }
            switch output.output {
            case .json: print(StructuredOutput.json(detail))
            case .yaml: print(StructuredOutput.yaml(detail))
            case .csv: print(JobRendering.executionTable(detail.executions).csv())
            case .table:
                print("job \(detail.job.id)  \(detail.job.task)  selector: \(detail.job.selector.isEmpty ? "(all)" : detail.job.selector)")
                print("created \(JobRendering.time(detail.job.createdAt)), \(JobRendering.status(detail.job)): \(JobRendering.tally(detail.job))")
                if let rollout = detail.job.rollout { print(JobRendering.rolloutLine(rollout)) }
                print("")
                print(JobRendering.executionTable(detail.executions).render())
                let blocks = JobRendering.outputBlocks(detail.executions)
                if !blocks.isEmpty { print("\n" + blocks) }
            }
        }
    }

    struct Output: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a job's whole stored output, page by page (events and `jobs show` carry only its start).")

        @Argument(help: "The job id.")
        var id: String

        @Option(name: .long, help: "Only this node's output.")
        var node: String?

        @OptionGroup var connection: ConnectionOptions

        func validate() throws {
            try JobIDArgument.check(id)
        }

        func run() async throws {
            let (id, node) = (id, node)
            try await CLIRuntime.withClient(connection) { client in
                var cursor: OutputCursor?
                var current: String?
                repeat {
                    let page = try await client.request(
                        .jobOutput, JobOutputRequest(id: id, node: node, after: cursor), as: OutputPage.self)
                    for chunk in page.chunks {
                        // Several nodes: a header before each one's output.
                        if node == nil && chunk.node != current {
                            print("==> \(chunk.node) <==")
                            current = chunk.node
                        }
                        if chunk.stream == .stderr {
                            FileHandle.standardError.write(Data(chunk.data.utf8))
                        } else {
                            FileHandle.standardOutput.write(Data(chunk.data.utf8))
                        }
                    }
                    cursor = page.next
                } while cursor != nil
            }
        }
    }
}
