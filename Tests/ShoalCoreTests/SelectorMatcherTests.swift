import ShoalCore
import Testing

@Suite("Selector matching")
struct SelectorMatcherTests {
    private static let node: [String: String] = [
        "region": "eu",
        "role": "web",
        "arch": "arm64",
        "gpus": "2",
        "mem_mb": "2048",
        "load": "0.75",
        "name": "web-01",
        "note": "n/a",
        "blank": "",
        "example.com/tier": "gold",
    ]

    @Test(
        "against a typical node",
        arguments: [
            ("region=eu", true),
            ("region==eu", true),
            ("region=us", false),
            ("region!=us", true),
            ("region!=eu", false),
            ("region=eu,role=web", true),
            ("region=eu,role=db", false),
            ("arch in (amd64,arm64)", true),
            ("arch in (amd64,x86_64)", false),
            ("arch notin (amd64,x86_64)", true),
            ("arch notin (amd64,arm64)", false),
            ("role", true),
            ("!role", false),
            ("quarantined", false),
            ("!quarantined", true),
            ("blank", true),
            (#"blank="""#, true),
            ("!blank", false),
            ("example.com/tier=gold", true),
            ("gpus>=2", true),
            ("gpus>=3", false),
            ("gpus>1", true),
            ("gpus>2", false),
            ("gpus<=2", true),
            ("gpus<2", false),
            ("mem_mb<4096", true),
            ("mem_mb<1024.5", false),
            ("load>0.5", true),
            ("load<=0.75", true),
            ("load>-1", true),
            ("name=web-*", true),
            ("name=web-0?", true),
            ("name=web-?", false),
            ("name=*-01", true),
            ("name=db-*", false),
            ("name!=db-*", true),
            ("name!=web-*", false),
            ("name in (db-*, web-*)", true),
            ("name notin (db-*, web-*)", false),
            ("arch in (arm*)", true),
            (#"name="web-*""#, false),
            ("note=n/a", true),
            ("region=eu,role=db || arch=arm64", true),
            ("region=us || role=db", false),
            ("region=us || role=db || gpus>=1", true),
            ("region=us,role=web || region=eu,role=db", false),
            ("region=eu,!quarantined,gpus>=1,arch in (arm64),name=web-*", true),
        ]
    )
    func typicalNode(selector: String, expected: Bool) throws {
        #expect(try Selector(parsing: selector).matches(Self.node) == expected)
    }

    // Kubernetes semantics: negative requirements hold for a missing label, positive ones don't.
    @Test(
        "when the label is absent",
        arguments: [
            ("zone=a", false),
            ("zone=*", false),
            ("zone!=a", true),
            ("zone!=*", true),
            ("zone in (a,b)", false),
            ("zone notin (a,b)", true),
            ("zone", false),
            ("!zone", true),
            ("zone>0", false),
            ("zone>=0", false),
            ("zone<0", false),
            ("zone<=0", false),
        ]
    )
    func absentLabel(selector: String, expected: Bool) throws {
        #expect(try Selector(parsing: selector).matches(["other": "x"]) == expected)
        #expect(try Selector(parsing: selector).matches([:]) == expected)
    }

    @Test(
        "numeric comparisons never match non-numeric labels",
        arguments: ["abc", "", "1x", " 1", "one", "nan"]
    )
    func nonNumeric(value: String) throws {
        for selector in ["v>0", "v>=0", "v<1e9", "v<=1e9", "v>-1e9"] {
            #expect(try !Selector(parsing: selector).matches(["v": value]), "\(selector) on \(value)")
        }
    }

    @Test(
        "numeric labels parse as Double",
        arguments: [("1e3", "v>999", true), ("-4", "v<-3", true), ("2.50", "v<=2.5", true), ("+7", "v>=7", true)]
    )
    func numericLabel(value: String, selector: String, expected: Bool) throws {
        #expect(try Selector(parsing: selector).matches(["v": value]) == expected)
    }

    @Test(
        "globs",
        arguments: [
            ("*", "", true),
            ("*", "anything", true),
            ("?", "", false),
            ("?", "x", true),
            ("?", "xy", false),
            ("a*", "a", true),
            ("a*", "ba", false),
            ("*a", "ba", true),
            ("*a", "ab", false),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZcd", false),
            ("a**b", "ab", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "abbc", false),
            ("*?", "", false),
            ("*?", "x", true),
            ("?*?", "xy", true),
            ("web-??", "web-01", true),
            ("web-??", "web-1", false),
            ("z?rich", "zürich", true),
            ("?", "é", true),
            ("*ich", "zürich", true),
            ("z*h", "zürich", true),
            ("??", "日本", true),
            ("?", "日本", false),
            ("a*a*a*a*a*b", String(repeating: "a", count: 200), false),
            ("*a*a*a*a*a*", String(repeating: "a", count: 200), true),
        ]
    )
    func glob(pattern: String, value: String, expected: Bool) throws {
        #expect(try Selector(parsing: "v=\(pattern)").matches(["v": value]) == expected)
    }

    @Test func quotedValuesAreLiteral() throws {
        let selector = try Selector(parsing: #"v="web-*",w in ("a?", "b c")"#)
        #expect(selector.matches(["v": "web-*", "w": "a?"]))
        #expect(selector.matches(["v": "web-*", "w": "b c"]))
        #expect(!selector.matches(["v": "web-01", "w": "a?"]))
        #expect(!selector.matches(["v": "web-*", "w": "ab"]))
    }

    @Test func commaBindsTighterThanOr() throws {
        let selector = try Selector(parsing: "a=1,b=2 || c=3")
        #expect(selector.matches(["a": "1", "b": "2"]))
        #expect(selector.matches(["c": "3"]))
        #expect(!selector.matches(["a": "1"]))
        #expect(!selector.matches(["a": "1", "c": "4"]))
    }

    @Test func emptySelectorMatchesEverything() throws {
        #expect(Selector.all.matches([:]))
        #expect(Selector.all.matches(Self.node))
        #expect(try Selector(parsing: "   ").matches(Self.node))
    }

    @Test(
        "required value for cell routing",
        arguments: [
            ("region=eu", "region", "eu"),
            ("region==eu,role=web", "region", "eu"),
            ("role=web,region=eu || region=eu,gpus>=1", "region", "eu"),
            (#"region="eu-*""#, "region", "eu-*"),
            ("region=eu || region=us", "region", nil),
            ("region=eu || role=web", "region", nil),
            ("region=eu-*", "region", nil),
            ("region in (eu)", "region", nil),
            ("region!=eu", "region", nil),
            ("region", "region", nil),
            ("role=web", "region", nil),
            ("", "region", nil),
        ] as [(String, String, String?)]
    )
    func requiredValue(selector: String, key: String, expected: String?) throws {
        #expect(try Selector(parsing: selector).requiredValue(for: key) == expected)
    }
}
