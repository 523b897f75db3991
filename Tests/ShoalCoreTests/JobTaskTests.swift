import ShoalCore
import Testing

@Suite("Job task")
struct JobTaskTests {
    @Test(
        "round trips through the wire",
        arguments: [
            JobTask.exec(["/usr/bin/uptime"]),
            .exec(["echo", "two words", "", "é 🦈", "quote\"d"]),
            .shell("echo hello && exit 3"),
            .shell(""),
            .shell("printf '%s\\n' \"$HOME\" | tr a-z A-Z"),
        ]
    )
    func roundTrip(task: JobTask) throws {
        #expect(try Wire.decode(JobTask.self, from: Wire.encode(task)) == task)
    }

    @Test func encodedShape() {
        #expect(String(decoding: Wire.encode(JobTask.exec(["ls", "-l"])), as: UTF8.self)
            == #"{"argv":["ls","-l"],"kind":"exec"}"#)
        #expect(String(decoding: Wire.encode(JobTask.shell("uptime")), as: UTF8.self)
            == #"{"kind":"shell","script":"uptime"}"#)
    }

    @Test func decodesHandWrittenJSON() throws {
        #expect(try decode(#"{"kind":"exec","argv":["a","b"]}"#) == .exec(["a", "b"]))
        #expect(try decode(#"{"kind":"shell","script":"a | b"}"#) == .shell("a | b"))
        // Fields of the other kind are ignored.
        #expect(try decode(#"{"kind":"shell","script":"x","argv":["y"]}"#) == .shell("x"))
    }

    @Test func emptyArgvIsRejected() {
        #expect(throws: WireError.self) { try decode(#"{"kind":"exec","argv":[]}"#) }
    }

    @Test(
        "unknown or missing kinds are rejected",
        arguments: [
            #"{"kind":"docker","argv":["x"]}"#,
            #"{"kind":"Exec","argv":["x"]}"#,
            #"{"kind":"","script":"x"}"#,
            #"{"argv":["x"]}"#,
            #"{"kind":1,"argv":["x"]}"#,
        ]
    )
    func unknownKind(json: String) {
        #expect(throws: WireError.self) { try decode(json) }
    }

    @Test(
        "missing or mistyped fields are rejected",
        arguments: [
            #"{"kind":"exec"}"#,
            #"{"kind":"exec","argv":"ls"}"#,
            #"{"kind":"exec","argv":[1]}"#,
            #"{"kind":"exec","argv":null}"#,
            #"{"kind":"shell"}"#,
            #"{"kind":"shell","script":["x"]}"#,
            #"["exec","ls"]"#,
            #""shell""#,
        ]
    )
    func malformed(json: String) {
        #expect(throws: WireError.self) { try decode(json) }
    }

    @Test func rejectionNamesTheProblem() {
        let emptyArgv = #expect(throws: WireError.self) { try decode(#"{"kind":"exec","argv":[]}"#) }
        #expect(emptyArgv?.description.contains("argv is empty") == true)
        let unknown = #expect(throws: WireError.self) { try decode(#"{"kind":"docker"}"#) }
        #expect(unknown?.description.contains("docker") == true)
    }

    @Test func argv() {
        #expect(JobTask.exec(["ls", "-l", "/"]).argv == ["ls", "-l", "/"])
        #expect(JobTask.shell("echo hi; exit 2").argv == ["/bin/sh", "-c", "echo hi; exit 2"])
    }

    @Test func description() {
        #expect(JobTask.exec(["echo", "two words"]).description == "echo 'two words'")
        #expect(JobTask.shell("uptime").description == "sh -c 'uptime'")
    }

    private func decode(_ json: String) throws(WireError) -> JobTask {
        try Wire.decode(JobTask.self, from: Array(json.utf8))
    }
}
