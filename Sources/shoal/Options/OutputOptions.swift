import ArgumentParser
import ShoalCore

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, yaml, csv
}

struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Output format.")
    var output: OutputFormat = .table

    /// Prints `value` as JSON or YAML, or the table `table()` makes as a table or CSV;
    /// `footer` (a summary line, say) follows a table only, never the machine formats.
    func print<Value: Encodable>(_ value: Value, table: () -> Table, footer: () -> String? = { nil }) {
        switch output {
        case .json: Swift.print(StructuredOutput.json(value))
        case .yaml: Swift.print(StructuredOutput.yaml(value))
        case .csv: Swift.print(table().csv())
        case .table:
            Swift.print(table().render())
            if let footer = footer() { Swift.print(footer) }
        }
    }
}

/// `--limit` of the list commands: the range every list request takes (`Limits.listLimit`).
enum ListLimit {
    static func validate(_ limit: Int) throws {
        guard Limits.listLimit.contains(limit) else {
            throw ValidationError("--limit must be between \(Limits.listLimit.lowerBound) and \(Limits.listLimit.upperBound), e.g. --limit 100")
        }
    }
}
