import ArgumentParser
import Foundation
import ShoalCommandLine
import ShoalCore

extension MitigationRule.Trigger: ExpressibleByArgument {}

struct Rules: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Automated mitigation: run a job when a node goes offline or a job fails on it.",
        discussion: """
            Examples:
              shoal rules add restart-agentd --on job-failed -s role=web --cooldown 10m --shell 'systemctl restart agentd'
              shoal rules add drain --on node-offline -s role=web --target role=lb -- /usr/local/bin/drain
              shoal rules add --file rules.yaml
              shoal rules history --rule drain
            A rule fires at most once per cooldown for each node, and not while --max-concurrent \
            of its jobs are still running; with --dry-run it only records that it would have fired.
            """,
        subcommands: [List.self, Add.self, Remove.self, History.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the dispatcher's rules.")

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let rules = try await CLIRuntime.withClient(connection) { client in
                try await client.request(.listRules, ListRulesRequest(), as: [MitigationRule].self)
            }
            output.print(rules, table: {
                var table = Table(headers: ["RULE", "ON", "SCOPE", "RUNS", "TARGET", "COOLDOWN", "MAX", "MODE"])
                table.rows = rules.map { rule in
                    [rule.name, rule.on.rawValue, rule.scope.isEmpty ? "(all)" : rule.scope,
                     rule.task.abbreviated(to: 40).description, rule.target ?? "(the node)",
                     DurationText.format(rule.cooldown), String(rule.maxConcurrent), rule.dryRun ? "dry-run" : "active"]
                }
                return table
            })
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a rule, or replace the rule of the same name.",
            discussion: "Either NAME with --on and a command, or --file with a rule file (see docs/rules.md).")

        @Argument(help: "The rule's name: letters, digits, '-', '_' or '.'.")
        var name: String?

        @Option(name: .long, help: "What triggers it.")
        var on: MitigationRule.Trigger?

        @Option(name: [.short, .customLong("scope")], help: "Which nodes it watches, a selector (default: all).")
        var scope: String = ""

        @Option(name: .long, help: "Where the job runs, a selector (default: the node where the trigger held).")
        var target: String?

        @Option(name: .long, help: "The job's per-node time limit, 1ms to 7d.",
                transform: DurationArgument.parser("--timeout", in: Limits.timeout))
        var timeout = DurationArgument("60s", seconds: 60)

        @Option(name: .long, help: "Fire at most once per this long for each node, 0 to 30d.",
                transform: DurationArgument.parser("--cooldown", in: MitigationRule.cooldownRange))
        var cooldown = DurationArgument("5m", seconds: 300)

        @Option(name: .long, help: "At most this many of the rule's jobs unfinished at once, 1 to 1000.")
        var maxConcurrent = 1

        @Flag(name: .long, help: "Only record that the rule would have fired; run nothing.")
        var dryRun = false

        @Option(name: .long, help: "Run this script with /bin/sh -c instead of a command.")
        var shell: String?

        @Option(name: .long, help: "Add every rule of this YAML rule file instead.")
        var file: String?

        @OptionGroup var connection: ConnectionOptions

        @Argument(parsing: .postTerminator, help: "The command and its arguments, after `--`.")
        var command: [String] = []

        func validate() throws {
            if file != nil {
                if name != nil || on != nil || shell != nil || !command.isEmpty {
                    throw ValidationError("give either --file FILE or a rule (NAME --on TRIGGER and a command), not both")
                }
                return
            }
            _ = try rule()
        }

        private func rule() throws -> MitigationRule {
            guard let name else { throw ValidationError("missing the rule's name, e.g. `shoal rules add restart-web --on job-failed -- CMD`") }
            guard let on else { throw ValidationError("missing --on: node-offline or job-failed") }
            if command.isEmpty == (shell == nil) {
                throw ValidationError("give what to run: `-- COMMAND ARGS...` or --shell 'SCRIPT' (one of them)")
            }
            let rule = MitigationRule(name: name, on: on, scope: scope, task: shell.map(JobTask.shell) ?? .exec(command),
                                      target: target, timeout: timeout.seconds, cooldown: cooldown.seconds,
                                      maxConcurrent: maxConcurrent, dryRun: dryRun)
            do {
                try rule.validate()
            } catch {
                throw ValidationError("\(error)")
            }
            return rule
        }

        func run() async throws {
            let rules: [MitigationRule]
            if let file {
                do {
                    rules = try RuleFile(path: file).rules
                } catch {
                    CLIRuntime.printError("error: \(error)")
                    throw ExitCode(65)
                }
            } else {
                rules = [try rule()]
            }
            let added = try await CLIRuntime.withClient(connection) { client in
                var added: [MitigationRule] = []
                for rule in rules {
                    added.append(try await client.request(.addRule, AddRuleRequest(rule: rule, actor: CLIRuntime.actor), as: MitigationRule.self))
                }
                return added
            }
            for rule in added { print("rule \(rule.name): on \(rule.on.rawValue)\(rule.dryRun ? " (dry run)" : "")") }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a rule (its history stays).")

        @Argument(help: "The rule's name, as `shoal rules` shows it.")
        var name: String

        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let request = RemoveRuleRequest(name: name, actor: CLIRuntime.actor)
            let removed = try await CLIRuntime.withClient(connection) { client in
                try await client.request(.removeRule, request, as: MitigationRule.self)
            }
            print("removed rule \(removed.name)")
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "When rules fired, for which node, why, and what ran.")

        @Option(name: .long, help: "Only this rule's firings.")
        var rule: String?

        @Option(name: .long, help: "At most this many firings, the most recent first (1 to 1000).")
        var limit = 100

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try ListLimit.validate(limit)
        }

        func run() async throws {
            let request = RuleHistoryRequest(rule: rule, limit: limit)
            let firings = try await CLIRuntime.withClient(connection) { client in
                try await client.request(.ruleHistory, request, as: [RuleFiring].self)
            }
            output.print(firings, table: {
                var table = Table(headers: ["WHEN", "RULE", "NODE", "OUTCOME", "JOB", "CAUSE"])
                table.rows = firings.map { firing in
                    [JobRendering.time(firing.at), firing.rule, firing.node, firing.outcome.rawValue, firing.job ?? "-", firing.cause]
                }
                return table
            })
        }
    }
}
