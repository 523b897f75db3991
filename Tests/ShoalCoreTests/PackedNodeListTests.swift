import Foundation
import ShoalCore
import Testing

@Suite struct PackedNodeListTests {
    @Test(arguments: [
        [],
        ["a"],
        ["sim-00001", "sim-00025", "sim-00049", "sim-01000", "sim-10000"],
        ["web-eu-017.prod.example.com", "web-eu-018.prod.example.com", "db-us-001.prod.example.com"],
        ["zeta", "alpha", "alpha", "alphabet", "alp"],
        ["é-1", "é-2", "éa", "漢字-1", "漢字-2", "漢子", "🦈1", "🦈2", "🦉"],
        [String(repeating: "x", count: 100) + "1", String(repeating: "x", count: 100) + "2"],
        ["e\u{301}", "e\u{300}", "e"],
    ])
    func roundTripKeepsIdsAndOrder(_ nodes: [String]) throws {
        #expect(try PackedNodeList.unpack(PackedNodeList.pack(nodes)) == nodes)
    }

    @Test func sharedPrefixesNeverSplitACharacter() throws {
        // "é" is 2 bytes and "漢"/"漢"-like ideographs 3: ids that share only the first byte
        // of a character must not be cut there.
        let nodes = ["aé", "aè", "a漢", "a漣", "a🦈", "a🦉"]
        let packed = PackedNodeList.pack(nodes)
        #expect(try PackedNodeList.unpack(packed) == nodes)
        #expect(packed == "0aé/1è/1漢/1漣/1🦈/1🦉")
    }

    @Test func fleetNamesPackToUnder40PercentOfAJSONArray() throws {
        let nodes = stride(from: 7, through: 10_000, by: 24).map { "sim-" + String(repeating: "0", count: 5 - String($0).count) + String($0) }
        let sorted = nodes.sorted()
        let array = try JSONEncoder().encode(sorted)
        let packed = PackedNodeList.pack(sorted)
        #expect(try PackedNodeList.unpack(packed) == sorted)
        #expect(packed.utf8.count * 5 <= array.count * 2, "\(packed.utf8.count) bytes packed, \(array.count) as an array")
    }

    @Test(arguments: ["/", "0a/", "0a//0b", "0a/Zb", "!a", "0a/2b", "1"])
    func malformedListsAreRefused(_ packed: String) {
        #expect(throws: WireError.self, "\(packed)") { try PackedNodeList.unpack(packed) }
    }

    @Test func aSharedLengthInsideACharacterIsRefused() {
        // "é" is C3 A9: sharing 2 bytes of "aé" leaves a lone continuation byte behind.
        #expect(throws: WireError.self) { try PackedNodeList.unpack("0aé/2\u{A9}") }
        #expect(throws: WireError.self) { try PackedNodeList.unpack("0aé/2x") }
    }

    @Test func jobMessagesCarryThePackedListAndAcceptAPlainArray() throws {
        let message = JobMessage(id: "j1", selector: try Selector(parsing: "role=web"), task: .shell("true"), timeout: 5,
                                 deadline: 20, nodes: ["web-01", "web-02", "web-10"], createdAt: 1)
        let json = String(decoding: Wire.encode(message), as: UTF8.self)
        #expect(json.contains(#""nodes":"0web-01/52/410""#), "\(json)")
        #expect(try Wire.decode(JobMessage.self, from: Wire.encode(message)) == message)
        let plain = #"{"v":1,"id":"j1","selector":"role=web","task":{"kind":"shell","script":"true"},"#
            + #""timeout":5,"deadline":20,"nodes":["web-01","web-02","web-10"],"createdAt":1}"#
        #expect(try Wire.decode(JobMessage.self, from: Array(plain.utf8)) == message)
        let broken = plain.replacingOccurrences(of: #"["web-01","web-02","web-10"]"#, with: #""0web/9x""#)
        #expect(throws: WireError.self) { try Wire.decode(JobMessage.self, from: Array(broken.utf8)) }
    }
}
