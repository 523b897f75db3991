import ShoalCore
import Testing

@testable import ShoalEngine

/// Job events carry the output chunks a commit stored, for followers (`shoal run -f`),
/// within the events' size bound.
@Suite("Live output in events")
struct LiveOutputEventTests {
    private func jobEvents(_ announcements: [Announcement]) -> [JobEvent] {
        announcements.compactMap { if case .job(let event) = $0 { event } else { nil } }
    }

    @Test func streamedChunksAreAnnouncedOnceInOrderBeforeTheStatesOfTheirCommit() throws {
        let fixture = EngineFixture()
        fixture.birth("a")
        fixture.birth("b")
        fixture.birth("c")
        try fixture.submit("j")
        _ = fixture.commit()
        fixture.report("a", job: "j", .running, seq: 2)
        fixture.output("a", job: "j", seq: 1, "one\n")
        fixture.output("b", job: "j", seq: 1, "uno\n")
        fixture.output("a", job: "j", seq: 1, "one\n")  // a replay
        var events = jobEvents(fixture.commit())
        #expect(events.count == 2)
        #expect(events[0].output?.map { "\($0.node) \($0.seq) \($0.data)" } == ["a 1 one\n", "b 1 uno\n"])
        #expect(events[0].executions.isEmpty && events[1].output == nil)
        #expect(events[1].executions.map(\.node) == ["a"])
        // A commit with output only still announces it.
        fixture.output("a", job: "j", seq: 2, "two\n", stream: .stderr)
        events = jobEvents(fixture.commit())
        #expect(events.count == 1 && events[0].executions.isEmpty)
        #expect(events[0].output == [OutputChunkView(node: "a", seq: 2, stream: .stderr, data: "two\n")])
        // A quick job's inline output is in its terminal state, not repeated as chunks.
        fixture.report("c", job: "j", .succeeded, exitCode: 0, stdout: "done\n")
        events = jobEvents(fixture.commit())
        #expect(events.count == 1 && events[0].output == nil)
        #expect(events[0].executions.first?.stdout == "done\n")
    }

    @Test func largeOrHostileChunksAreCutToStayUnderTheEventBound() throws {
        // 256 KiB of control bytes is 1.5 MiB as JSON: over the bound unless cut.
        let hostile = String(repeating: "\u{1}", count: Limits.chunkBytes)
        let plain = String(repeating: "x", count: Limits.chunkBytes)
        let chunks = (1...12).map { OutputChunkView(node: "n\($0 % 3)", seq: Int64($0), stream: .stdout, data: $0 == 5 ? hostile : plain) }
        let events = JobEventPacker.pack(job: "j", executions: [], finishedAt: nil, output: chunks)
        #expect(events.flatMap { $0.output ?? [] }.map(\.seq) == Array(1...12))
        for event in events {
            #expect(Wire.encode(event).count <= JobEventPacker.maxBytes)
        }
        let cut = try #require(events.flatMap { $0.output ?? [] }.first { $0.seq == 5 })
        #expect(cut.data.hasSuffix(OutputMarker.eventLimit))
        // With states: output first, `finishedAt` on the very last event.
        let done = JobEventPacker.pack(job: "j", executions: [ExecutionView(job: "j", node: "n1", state: .succeeded)],
                                       finishedAt: 5, output: Array(chunks.prefix(2)))
        #expect(done.first?.output != nil && done.last?.finishedAt == 5 && done.dropLast().allSatisfy { $0.finishedAt == nil })
    }
}
