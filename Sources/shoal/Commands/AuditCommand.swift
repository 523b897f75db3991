import ArgumentParser
import Foundation
import ShoalCommandLine
import ShoalClient
import ShoalCore

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show who submitted, canceled, cordoned, quarantined, released, relabelled or forgot what, oldest first.",
        discussion: """
            The record is append-only. "Who" is the `actor` each request names (the CLI sends \
            $USER@hostname, or SHOAL_ACTOR): self-declared until requests are signed.
            Examples:
              shoal audit --since 1h
              shoal audit --limit 1000 -o csv > audit.csv
            """)

    @Option(name: .long, help: "Only entries from this long ago until now, up to 100 years (e.g. 30m, 24h, 7d).",
            transform: DurationArgument.parser("--since", in: 0.001...(100 * 365 * 86_400)))
    var since: DurationArgument?

    @Option(name: .long, help: "At most this many entries (the most recent ones), 1 to 1000.")
    var limit = 100

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try ListLimit.validate(limit)
    }

    func run() async throws {
        let request = ListAuditRequest(since: since.map { Date().timeIntervalSince1970 - $0.seconds }, limit: limit)
        let entries = try await CLIRuntime.withClient(connection) { try await $0.request(.listAudit, request, as: [AuditEntry].self) }
        output.print(entries, table: {
            var table = Table(headers: ["TIME", "ACTOR", "ACTION", "TARGET", "DETAIL"])
            table.rows = entries.map { entry in
                [JobRendering.time(entry.at), entry.actor ?? "-", entry.action, entry.target, entry.detail ?? ""]
            }
            return table
        })
    }
}
