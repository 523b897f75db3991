import ArgumentParser

public struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    public var logLevel: String = "info"

    public init() {}
}
