import ArgumentParser

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, yaml, csv
}

struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Output format.")
    var output: OutputFormat = .table
}

struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"
}
