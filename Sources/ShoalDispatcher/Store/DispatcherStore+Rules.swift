import Foundation
import GRDB
import ShoalCore

/// Mitigation rules (one row each, the definition as JSON) and their firings (append-only).
extension DispatcherStore {
    func allRules() throws -> [MitigationRule] {
        try writer.read { db in
            try String.fetchAll(db, sql: "SELECT definition FROM rule ORDER BY name").compactMap { text in
                try? JSONDecoder().decode(MitigationRule.self, from: Data(text.utf8))
            }
        }
    }

    func saveRule(_ rule: MitigationRule) throws {
        let definition = String(decoding: try JSONEncoder().encode(rule), as: UTF8.self)
        try writer.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO rule (name, definition) VALUES (?, ?)", arguments: [rule.name, definition])
        }
    }

    /// True when there was such a rule.
    func deleteRule(_ name: String) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: "DELETE FROM rule WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    func recordFirings(_ firings: [RuleFiring]) throws {
        guard !firings.isEmpty else { return }
        try writer.write { db in
            for firing in firings {
                try db.execute(
                    sql: "INSERT INTO rule_firing (rule, node, cause, at, outcome, job) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [firing.rule, firing.node, firing.cause, firing.at, firing.outcome.rawValue, firing.job])
            }
        }
    }

    /// The most recent firings first.
    func ruleHistory(rule: String?, limit: Int) throws -> [RuleFiring] {
        try writer.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT rule, node, cause, at, outcome, job FROM rule_firing
                WHERE ?1 IS NULL OR rule = ?1 ORDER BY seq DESC LIMIT ?2
                """, arguments: [rule, limit])
            return rows.map(Self.firing)
        }
    }

    /// The last firing of each rule on each node: where the cooldowns stand.
    func lastFirings() throws -> [RuleFiring] {
        try writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT rule, node, '' AS cause, MAX(at) AS at, 'submitted' AS outcome, NULL AS job
                FROM rule_firing GROUP BY rule, node
                """).map(Self.firing)
        }
    }

    private static func firing(_ row: Row) -> RuleFiring {
        RuleFiring(rule: row["rule"], node: row["node"], cause: row["cause"], at: row["at"],
                   outcome: RuleFiring.Outcome(rawValue: row["outcome"]) ?? .submitted, job: row["job"])
    }
}
