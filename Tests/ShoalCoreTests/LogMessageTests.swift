import ShoalCore
import Testing

/// Every field of a log batch is bounded where it enters: hostile values are refused with
/// the field's name, never a trap.
@Suite struct LogMessageTests {
    let now = 1_800_000_000.0

    func decodeAndValidate(_ json: String) -> String? {
        do {
            let batch = try Wire.decode(LogBatchMessage.self, from: Array(json.utf8))
            try batch.validate()
            return nil
        } catch let error as BoundsError {
            return error.field
        } catch {
            return "decode: \(error)"
        }
    }

    @Test func aWellFormedBatchPasses() {
        #expect(decodeAndValidate(#"{"v":1,"node":"n","lines":[{"seq":1,"at":1800000000,"source":"/var/log/a","text":"hi"}]}"#) == nil)
    }

    @Test(arguments: [
        (#"{"seq":1e300,"at":1800000000,"source":"a","text":"x"}"#, "decode"),
        (#"{"seq":-1,"at":1800000000,"source":"a","text":"x"}"#, "decode"),
        (#"{"seq":0,"at":1800000000,"source":"a","text":"x"}"#, "lines[0].seq"),
        (#"{"seq":18446744073709551615,"at":1800000000,"source":"a","text":"x"}"#, "lines[0].seq"),
        (#"{"seq":1,"at":1e300,"source":"a","text":"x"}"#, "lines[0].at"),
        (#"{"seq":1,"at":-1,"source":"a","text":"x"}"#, "lines[0].at"),
        (#"{"seq":1,"at":1800000000,"source":"","text":"x"}"#, "lines[0].source"),
        (#"{"seq":1,"at":1800000000,"source":"a\u0000b","text":"x"}"#, "lines[0].source"),
        (#"{"seq":1,"at":1800000000,"source":"a\nb","text":"x"}"#, "lines[0].source"),
        (#"{"seq":1,"at":1800000000,"source":"a","text":"x\u0000y"}"#, "lines[0].text"),
    ])
    func hostileLineFieldsAreRefusedByName(line: String, field: String) {
        let result = decodeAndValidate(#"{"v":1,"node":"n","lines":["# + line + "]}")
        #expect(result?.hasPrefix(field) == true, "\(line): \(result ?? "accepted")")
    }

    @Test func aHugeLineIsRefused() {
        let huge = String(repeating: "x", count: Limits.logLineBytes + 1)
        let batch = LogBatchMessage(node: "n", lines: [LogLineMessage(seq: 1, at: now, source: "a", text: huge)])
        #expect(throws: BoundsError.self) { try batch.validate() }
    }

    @Test func aHugeArrayIsRefused() {
        let lines = (1...(Limits.logBatchLines + 1)).map { LogLineMessage(seq: UInt64($0), at: now, source: "a", text: "x") }
        #expect(throws: BoundsError(field: "lines count", "\(lines.count) is out of range 0...\(Limits.logBatchLines)")) {
            try LogBatchMessage(node: "n", lines: lines).validate()
        }
    }

    @Test func hostileDropNotesAreRefused() {
        for drop in [#"{"source":"a","seq":1,"count":0,"reason":"outbox_full","at":1800000000}"#,
                     #"{"source":"a","seq":1,"count":1,"reason":"bored","at":1800000000}"#,
                     #"{"source":"a","seq":1,"count":1e300,"reason":"outbox_full","at":1800000000}"#] {
            #expect(decodeAndValidate(#"{"v":1,"node":"n","lines":[],"dropped":["# + drop + "]}") != nil, "\(drop)")
        }
    }

    @Test func queriesAreBounded() {
        #expect(throws: BoundsError.self) { try LogQueryRequest(limit: 0).validate() }
        #expect(throws: BoundsError.self) { try LogQueryRequest(limit: 1 << 40).validate() }
        #expect(throws: BoundsError.self) { try LogQueryRequest(since: 1e300).validate() }
        #expect(throws: BoundsError.self) { try LogQueryRequest(after: LogCursor(at: 0, row: -1)).validate() }
        #expect(throws: BoundsError.self) { try LogQueryRequest(source: "a\u{0}").validate() }
        #expect(throws: Never.self) { try LogQueryRequest(selector: "role=web", since: now).validate() }
    }

    @Test func largeEventsAreSplit() {
        let entries = (1...100).map { LogEntryView(node: "n", source: "a", seq: UInt64($0), at: now,
                                                   text: String(repeating: "x", count: Limits.logLineBytes)) }
        let events = NodeLogEvent.pack(node: "n", entries: entries)
        #expect(events.count > 1)
        #expect(events.flatMap(\.entries) == entries)
        #expect(events.allSatisfy { Wire.encode($0).count < NodeLogEvent.maximumBytes + 64 * 1024 })
    }
}
