import ShoalCore
import Testing

@Suite("Execution state")
struct ExecutionStateTests {
    /// The intended order, stated independently of the implementation.
    static func stage(_ state: ExecutionState) -> Int {
        switch state {
        case .queued: 0
        case .accepted: 1
        case .running: 2
        case .succeeded, .failed, .timedOut, .canceled, .rejected, .unreachable, .skipped: 3
        }
    }

    static let terminal: Set<ExecutionState> = [.succeeded, .failed, .timedOut, .canceled, .rejected, .unreachable, .skipped]

    @Test func allCases() {
        #expect(ExecutionState.allCases.count == 10)
        #expect(Set(ExecutionState.allCases).isSuperset(of: Self.terminal))
    }

    @Test("terminal states", arguments: ExecutionState.allCases)
    func isTerminal(state: ExecutionState) {
        #expect(state.isTerminal == Self.terminal.contains(state))
    }

    @Test("advances only forward; terminal states are final", arguments: ExecutionState.allCases, ExecutionState.allCases)
    func advance(from current: ExecutionState, to next: ExecutionState) {
        let result = current.advanced(to: next)
        if Self.terminal.contains(current) {
            #expect(result == nil, "a terminal state never changes")
        } else if Self.stage(next) > Self.stage(current) {
            #expect(result == next)
        } else {
            #expect(result == nil, "a stale or duplicate report is ignored")
        }
    }

    @Test("a duplicate report is ignored", arguments: ExecutionState.allCases)
    func duplicate(state: ExecutionState) {
        #expect(state.advanced(to: state) == nil)
    }

    @Test func aTypicalLifeCycle() {
        var state = ExecutionState.queued
        for report: ExecutionState in [.accepted, .running, .accepted, .running, .succeeded, .failed, .queued] {
            if let next = state.advanced(to: report) { state = next }
        }
        #expect(state == .succeeded)
    }

    @Test func reportsMaySkipStages() {
        #expect(ExecutionState.queued.advanced(to: .running) == .running)
        #expect(ExecutionState.queued.advanced(to: .rejected) == .rejected)
        #expect(ExecutionState.accepted.advanced(to: .timedOut) == .timedOut)
    }

    @Test func ordering() {
        #expect(ExecutionState.queued < .accepted)
        #expect(ExecutionState.accepted < .running)
        #expect(ExecutionState.running < .succeeded)
        #expect(!(ExecutionState.succeeded < .failed) && !(ExecutionState.failed < .succeeded))
    }

    @Test func wireNames() throws {
        #expect(ExecutionState.timedOut.rawValue == "timed_out")
        #expect(String(decoding: Wire.encode([ExecutionState.timedOut]), as: UTF8.self) == #"["timed_out"]"#)
        #expect(try Wire.decode([ExecutionState].self, from: Array(#"["queued","timed_out"]"#.utf8)) == [.queued, .timedOut])
        #expect(throws: WireError.self) { try Wire.decode([ExecutionState].self, from: Array(#"["timedOut"]"#.utf8)) }
        #expect(throws: WireError.self) { try Wire.decode([ExecutionState].self, from: Array(#"["done"]"#.utf8)) }
    }
}
