import Foundation
import ShoalCore
import Testing
import Yams

/// `-o yaml` says what `-o json` says, whatever the text in it: output that looks like YAML
/// (keys, comments, list items, quotes, a leading space, an empty line) reads back intact.
@Suite struct OutputFormatTests {
    private static func rounded(_ detail: JobDetail) -> JobDetail {
        func ms(_ time: Double) -> Double { (time * 1000).rounded() / 1000 }
        var detail = detail
        detail.job.createdAt = ms(detail.job.createdAt)
        detail.job.deadline = ms(detail.job.deadline)
        detail.job.finishedAt = detail.job.finishedAt.map(ms)
        detail.executions = detail.executions.map { execution in
            var execution = execution
            execution.startedAt = execution.startedAt.map(ms)
            execution.finishedAt = execution.finishedAt.map(ms)
            return execution
        }
        return detail
    }

    @Test func yamlAndJSONCarryTheSameJob() async throws {
        try await withFleet(agents: ["fmt": ["role": "f"]]) { fleet in
            let script = #"printf 'a: b\n# not a comment\n- item\n"quoted" and '\''single'\''\n  leading space\n\nyes\n'"#
            let run = try await fleet.shoal("run", "--all", "-o", "json", "--", "sh", "-c", script)
            #expect(run.exitCode == 0, "\(run.stderr)")
            let job = try decodeJSON(JobDetail.self, run.stdout).job.id
            let json = try await fleet.shoal("jobs", "show", job, "-o", "json")
            let yaml = try await fleet.shoal("jobs", "show", job, "-o", "yaml")
            #expect(yaml.exitCode == 0, "\(yaml.stderr)")
            let fromJSON = try decodeJSON(JobDetail.self, json.stdout)
            let fromYAML = try YAMLDecoder().decode(JobDetail.self, from: yaml.stdout)
            // YAML writes numbers with 15 significant digits: timestamps agree to 0.1 ms.
            #expect(Self.rounded(fromYAML) == Self.rounded(fromJSON))
            #expect(fromYAML.executions.first?.stdout == "a: b\n# not a comment\n- item\n\"quoted\" and 'single'\n  leading space\n\nyes\n")

            let nodes = try await fleet.shoal("nodes", "-o", "yaml")
            #expect(try YAMLDecoder().decode([NodeView].self, from: nodes.stdout).map(\.id) == ["fmt"])
        }
    }
}
