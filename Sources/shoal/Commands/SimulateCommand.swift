import ArgumentParser

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run many simulated agents in this process (for scale tests and benchmarks).")

    func run() async throws {
        throw ValidationError("not implemented yet")
    }
}
