import ShoalCore
import Testing

@Suite("Cell")
struct CellTests {
    @Test func takesRegionArchAndRoleFromLabels() {
        let cell = Cell(labels: ["region": "eu", "arch": "arm64", "role": "web", "name": "web-1"])
        #expect(cell == Cell(region: "eu", arch: "arm64", role: "web"))
        #expect(cell.description == "eu/arm64/web")
    }

    @Test func missingLabelsBecomeUnderscore() {
        #expect(Cell(labels: [:]) == Cell(region: "_", arch: "_", role: "_"))
        #expect(Cell(labels: ["region": "eu"]) == Cell(region: "eu", arch: "_", role: "_"))
        #expect(Cell(labels: ["arch": "x86_64"]) == Cell(region: "_", arch: "x86_64", role: "_"))
        #expect(Cell(labels: ["role": "db"]) == Cell(region: "_", arch: "_", role: "db"))
        #expect(Cell.missing == "_")
    }

    @Test("invalid level values become underscore", arguments: ["", "a/b", "/", "+", "eu+", "#", "e#u", "e\u{0}u"])
    func invalidValues(value: String) {
        let cell = Cell(labels: ["region": value, "arch": value, "role": value])
        #expect(cell == Cell(region: "_", arch: "_", role: "_"))
    }

    @Test func oneInvalidLabelDoesNotAffectTheOthers() {
        let cell = Cell(labels: ["region": "eu/west", "arch": "arm64", "role": "web"])
        #expect(cell == Cell(region: "_", arch: "arm64", role: "web"))
    }

    @Test func labelKeysAreCaseSensitive() {
        #expect(Cell(labels: ["Region": "eu", "ARCH": "arm64"]) == Cell(region: "_", arch: "_", role: "_"))
    }

    @Test func codableRoundTrip() throws {
        let cell = Cell(region: "eu", arch: "arm64", role: "web")
        #expect(try Wire.decode(Cell.self, from: Wire.encode(cell)) == cell)
    }

    @Test func hashable() {
        let cells: Set = [Cell(labels: [:]), Cell(labels: ["region": "/"]), Cell(region: "_", arch: "_", role: "_")]
        #expect(cells.count == 1)
    }
}
