import ArgumentParser

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, yaml, csv
}

struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Output format.")
    var output: OutputFormat = .table
}
