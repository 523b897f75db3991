import Foundation
import ShoalCore
import Yams

/// The dispatcher's rule file (`shoal dispatcher --rules FILE`), YAML:
///
///     rules:
///       - name: restart-web-when-a-job-fails
///         on: job-failed            # or node-offline
///         scope: role=web           # which nodes it watches (default: all)
///         run: systemctl restart nginx   # a /bin/sh script, or
///         # exec: [systemctl, restart, nginx]
///         target: role=lb           # where it runs (default: the node itself)
///         timeout: 30s
///         cooldown: 10m
///         maxConcurrent: 2
///         dryRun: false
///
/// Durations are written as in flags (`30s`, `5m`); every value is checked where it
/// enters, and an error names the rule and the field.
struct RuleFile {
    let rules: [MitigationRule]

    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    private struct Document: Decodable {
        var rules: [Entry]
    }

    private struct Entry: Decodable {
        var name: String
        var on: String
        var scope: String?
        var run: String?
        var exec: [String]?
        var target: String?
        var timeout: String?
        var cooldown: String?
        var maxConcurrent: Int?
        var dryRun: Bool?
    }

    init(path: String) throws(Problem) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Problem(description: "cannot read the rule file \(path): \(error.localizedDescription)")
        }
        try self.init(yaml: text, source: path)
    }

    init(yaml text: String, source: String) throws(Problem) {
        guard text.utf8.count <= 4 << 20 else { throw Problem(description: "\(source): over 4 MiB; is this a rule file?") }
        let document: Document
        do {
            document = try YAMLDecoder().decode(Document.self, from: text)
        } catch {
            throw Problem(description: "\(source): not a rule file (\(error)); see docs/rules.md for the format")
        }
        guard document.rules.count <= MitigationRule.maximumCount else {
            throw Problem(description: "\(source): \(document.rules.count) rules, at most \(MitigationRule.maximumCount)")
        }
        var rules: [MitigationRule] = []
        var names: Set<String> = []
        for (index, entry) in document.rules.enumerated() {
            let label = "\(source): rule \(index + 1) ('\(Bounds.prefix(entry.name, maxBytes: 64).text)')"
            do {
                let rule = try Self.rule(entry)
                try rule.validate()
                guard names.insert(rule.name).inserted else { throw BoundsError(field: "name", "appears twice") }
                rules.append(rule)
            } catch {
                throw Problem(description: "\(label): \(error)")
            }
        }
        self.rules = rules
    }

    private static func rule(_ entry: Entry) throws(BoundsError) -> MitigationRule {
        guard let trigger = MitigationRule.Trigger(rawValue: entry.on) else {
            let known = MitigationRule.Trigger.allCases.map(\.rawValue).joined(separator: " or ")
            throw BoundsError(field: "on", "'\(Bounds.prefix(entry.on, maxBytes: 64).text)' is not a trigger; write \(known)")
        }
        let task: JobTask
        switch (entry.run, entry.exec) {
        case (let script?, nil): task = .shell(script)
        case (nil, let argv?) where !argv.isEmpty: task = .exec(argv)
        case (nil, _): throw BoundsError(field: "run", "missing: give `run: SCRIPT` or `exec: [COMMAND, ARGS...]`")
        default: throw BoundsError(field: "run", "give either `run` or `exec`, not both")
        }
        return MitigationRule(
            name: entry.name, on: trigger, scope: entry.scope ?? "", task: task, target: entry.target,
            timeout: try entry.timeout.map { text throws(BoundsError) in try DurationText.parse(text, field: "timeout", in: Limits.timeout) } ?? 60,
            cooldown: try entry.cooldown.map { text throws(BoundsError) in
                try DurationText.parse(text, field: "cooldown", in: MitigationRule.cooldownRange)
            } ?? 300,
            maxConcurrent: entry.maxConcurrent ?? 1, dryRun: entry.dryRun ?? false)
    }
}
