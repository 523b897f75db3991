/// `rules.add`: adds a mitigation rule, or replaces the rule of the same name.
public struct AddRuleRequest: Sendable, Codable, Equatable {
    public var rule: MitigationRule
    /// Who asks, for the audit record (self-declared).
    public var actor: String?
    public init(rule: MitigationRule, actor: String? = nil) {
        self.rule = rule
        self.actor = actor
    }
}

/// `rules.remove`: removes the rule of that name (its history stays).
public struct RemoveRuleRequest: Sendable, Codable, Equatable {
    public var name: String
    /// Who asks, for the audit record (self-declared).
    public var actor: String?
    public init(name: String, actor: String? = nil) {
        self.name = name
        self.actor = actor
    }
}

/// `rules.list`: every rule, by name. The body may be `{}`.
public struct ListRulesRequest: Sendable, Codable, Equatable {
    public init() {}
}

/// `rules.history`: the most recent firings first, of one rule or of all.
public struct RuleHistoryRequest: Sendable, Codable, Equatable {
    public var rule: String?
    /// 1…1000, default 100.
    public var limit: Int

    public init(rule: String? = nil, limit: Int = 100) {
        self.rule = rule
        self.limit = limit
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(rule: try container.decodeIfPresent(String.self, forKey: .rule),
                  limit: try container.decodeIfPresent(Int.self, forKey: .limit) ?? 100)
    }
}
