import Foundation
import ShoalCore
import Testing

// On Darwin, Foundation re-exports Objective-C's `Selector`; the module's own type must win.
private typealias Selector = ShoalCore.Selector

@Suite("Selector parsing")
struct SelectorParserTests {
    @Test(
        "normalises every construct",
        arguments: [
            ("region=eu,role!=db", "region=eu,role!=db"),
            ("region==eu", "region=eu"),
            ("  region = eu ,  role != db  ", "region=eu,role!=db"),
            ("\tregion=eu\n,\nrole=web", "region=eu,role=web"),
            ("arch in (arm64, aarch64),gpus>=1", "arch in (arm64,aarch64),gpus>=1"),
            ("arch notin(a,b)", "arch notin (a,b)"),
            ("env", "env"),
            ("!quarantined", "!quarantined"),
            ("! quarantined , env", "!quarantined,env"),
            ("name=web-*", "name=web-*"),
            ("name!=web-??", "name!=web-??"),
            ("name in (web-*, ?pi)", "name in (web-*,?pi)"),
            ("gpus>=1.0", "gpus>=1"),
            ("mem_mb<4096", "mem_mb<4096"),
            ("cpus>2", "cpus>2"),
            ("x<=3", "x<=3"),
            ("x>1.5", "x>1.5"),
            ("x>-2", "x>-2"),
            ("x<1e3", "x<1000"),
            ("region=eu,role=web || role=edge", "region=eu,role=web || role=edge"),
            ("region=eu,role=web||role=edge", "region=eu,role=web || role=edge"),
            ("a=1 || b=2 || c", "a=1 || b=2 || c"),
            (#"a="b c""#, #"a="b c""#),
            (#"a="eu""#, "a=eu"),
            (#"a="x*""#, #"a="x*""#),
            (#"a="say \"hi\" \\o/""#, #"a="say \"hi\" \\o/""#),
            (#"a="""#, #"a="""#),
            (#"a in ("x y", z)"#, #"a in ("x y",z)"#),
            ("in=x", "in=x"),
            ("in in (in,notin)", "in in (in,notin)"),
            ("notin", "notin"),
            ("example.com/role=web", "example.com/role=web"),
            ("_private-key.v2=a:b+c/d", "_private-key.v2=a:b+c/d"),
            ("9lives=yes", "9lives=yes"),
        ]
    )
    func normalises(text: String, normalised: String) throws {
        let selector = try Selector(parsing: text)
        #expect(selector.description == normalised)
        #expect(selector.text == text)
        #expect(!selector.isEmpty)
    }

    @Test(
        "normalised text parses back to an equal selector",
        arguments: [
            "region=eu,role!=db || arch in (arm64,aarch64),gpus>=1,!quarantined,env",
            #"name=web-*,label notin ("a b", "c\"d", "*"),x<1e3,y>-0.5"#,
            #"a="", b = "é", c="""#,
        ]
    )
    func roundTripsThroughDescription(text: String) throws {
        let selector = try Selector(parsing: text)
        let reparsed = try Selector(parsing: selector.description)
        #expect(reparsed == selector)
        #expect(reparsed.description == selector.description)
    }

    @Test("blank text is the empty selector", arguments: ["", " ", "\t\n  "])
    func blankIsEmpty(text: String) throws {
        let selector = try Selector(parsing: text)
        #expect(selector.isEmpty)
        #expect(selector == Selector.all)
        #expect(selector.description == "")
        #expect(selector.text == text)
    }

    @Test func allIsEmpty() {
        #expect(Selector.all.isEmpty)
        #expect(Selector.all.text == "")
    }

    @Test func equalityFollowsMeaningNotSpelling() throws {
        let spellings = try ["region==eu,gpus>=1", "region = eu , gpus >= 1.0", #"region="eu",gpus>=1"#]
            .map { text in try Selector(parsing: text) }
        #expect(spellings.allSatisfy { $0 == spellings[0] })
        #expect(Set(spellings).count == 1)
        #expect(try Selector(parsing: "region=eu") != Selector(parsing: "region=us"))
        #expect(try Selector(parsing: "a=1,b=2") != Selector(parsing: "a=1 || b=2"))
        // A quoted `*` is a literal, not the glob it would be unquoted.
        #expect(try Selector(parsing: #"a="*""#) != Selector(parsing: "a=*"))
    }

    @Test(
        "malformed selectors report where they went wrong",
        arguments: [
            ("region=", 7),
            ("=eu", 0),
            ("region=eu,", 10),
            (",region=eu", 0),
            ("region in (eu", 13),
            ("region in eu", 10),
            ("region in ()", 11),
            ("gpus>=", 6),
            ("gpus>=abc", 6),
            ("region=eu ||", 12),
            ("|| role=web", 0),
            ("region=eu role=web", 10),
            ("!", 1),
            ("!region=eu", 7),
            ("region=eu)", 9),
            ("reg ion=eu", 4),
            ("a=b=c", 3),
            ("a=(b)", 2),
            (#"a="b"#, 2),
            (#"a=="b\"#, 3),
            ("a|b", 1),
            ("a=b;c", 3),
            ("région=eu", 1),
            ("*=a", 0),
            ("-a=b", 0),
            ("a*=b", 1),
            ("a:b=c", 1),
            ("a in (b,)", 8),
            ("a in (b c)", 8),
            ("a notin b", 8),
            (#"gpus>"3""#, 5),
            ("gpus>=1x", 6),
            ("gpus>=nan", 6),
            ("gpus<inf", 5),
            ("a=1 || || b=2", 7),
            ("a=1,,b=2", 4),
            ("a=1 |", 4),
            (#""a"=1"#, 0),
            ("a==", 3),
            ("a!=", 3),
            ("a in (b))", 8),
            ("(a=b)", 0),
            ("a=b c", 4),
        ]
    )
    func reportsPosition(text: String, position: Int) {
        let error = #expect(throws: SelectorError.self) {
            try Selector(parsing: text)
        }
        #expect(error?.position == position)
        #expect(error?.text == text)
        #expect(error?.message.isEmpty == false)
    }

    @Test(
        "messages say what was expected and what was found",
        arguments: [
            ("region=", "expected a value after '=', found end of selector"),
            ("=eu", "expected a key, found '='"),
            ("region=eu,", "expected a key after ',', found end of selector"),
            ("region in eu", "expected '(' after 'in', found 'eu'"),
            ("region in ()", "expected a value after '(', found ')'"),
            ("gpus>=abc", "expected a number after '>=', found 'abc'"),
            ("region=eu ||", "expected a key after '||', found end of selector"),
            ("region=eu role=web", "expected ',' or '||' after a requirement, found 'role'"),
            ("reg ion=eu", "expected an operator, ',' or '||' after key 'reg', found 'ion'"),
        ]
    )
    func message(text: String, message: String) {
        let error = #expect(throws: SelectorError.self) {
            try Selector(parsing: text)
        }
        #expect(error?.message == message)
    }

    @Test func errorDescriptionPointsAtTheCulprit() {
        let error = #expect(throws: SelectorError.self) {
            try Selector(parsing: "region=eu role=web")
        }
        #expect(
            error?.description == """
                expected ',' or '||' after a requirement, found 'role' at position 10
                region=eu role=web
                          ^
                """
        )
    }

    @Test func caretFollowsTabsAndSitsPastTheEnd() {
        let error = #expect(throws: SelectorError.self) {
            try Selector(parsing: "a=1,\tb=")
        }
        #expect(error?.position == 7)
        #expect(error?.description.hasSuffix("a=1,\tb=\n    \t  ^") == true)
    }

    @Test func encodesAsTheOriginalText() throws {
        let selector = try Selector(parsing: "region == eu || gpus>=1")
        let data = try JSONEncoder().encode(["selector": selector])
        #expect(String(decoding: data, as: UTF8.self) == #"{"selector":"region == eu || gpus>=1"}"#)
    }

    @Test func codableRoundTrip() throws {
        let original = try [Selector(parsing: "region=eu,name=web-* || !quarantined"), Selector.all]
        let decoded = try JSONDecoder().decode([Selector].self, from: JSONEncoder().encode(original))
        #expect(decoded == original)
        #expect(decoded.map(\.text) == original.map(\.text))
    }

    @Test func decodingBadTextIsDataCorrupted() {
        let json = Data(#"{"selector":"region="}"#.utf8)
        let error = #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([String: Selector].self, from: json)
        }
        guard case .dataCorrupted(let context) = error else {
            Issue.record("expected dataCorrupted, got \(String(describing: error))")
            return
        }
        #expect(context.debugDescription.contains("expected a value after '=', found end of selector at position 7"))
    }
}
