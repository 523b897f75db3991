import ShoalCore
import Testing

// On Darwin, Foundation re-exports Objective-C's `Selector`; the module's own type must win.
private typealias Selector = ShoalCore.Selector
private typealias Candidate = FanOutPlanner.Candidate

@Suite("Fan-out planner")
struct FanOutPlannerTests {
    static let webCell = Cell(region: "eu", arch: "arm64", role: "web")
    static let dbCell = Cell(region: "eu", arch: "x86_64", role: "db")
    static let usCell = Cell(region: "us", arch: "arm64", role: "web")
    static let unlabelled = Cell(region: "_", arch: "_", role: "_")

    /// Three cells of 3, 4 and 1 nodes, plus two nodes without usable cell labels.
    fileprivate static let fleet: [Candidate] = {
        func node(_ id: String, _ cell: Cell, _ extra: [String: String] = [:]) -> Candidate {
            Candidate(id: id, labels: ["region": cell.region, "arch": cell.arch, "role": cell.role, "name": id]
                .merging(extra) { _, new in new })
        }
        return [
            node("w2", webCell), node("w1", webCell, ["gpus": "1"]), node("w3", webCell),
            node("d1", dbCell, ["gpus": "2"]), node("d2", dbCell), node("d3", dbCell), node("d4", dbCell),
            node("u1", usCell),
            Candidate(id: "m1", labels: ["name": "m1"]),
            Candidate(id: "m2", labels: ["region": "eu/west", "name": "m2"]),
        ]
    }()

    private func plan(
        _ selector: String, cellShare: Double = 0.5, _ candidates: [Candidate] = fleet
    ) throws -> FanOutPlanner.Plan {
        FanOutPlanner(cellShare: cellShare).plan(try Selector(parsing: selector), candidates: candidates)
    }

    private func cell(_ cell: Cell, _ nodes: [String]) -> String {
        "cell \(cell): \(nodes.joined(separator: ","))"
    }

    private func node(_ id: String) -> String {
        "node \(id): \(id)"
    }

    @Test func aFullyMatchedCellBecomesOneCellPublication() throws {
        let plan = try plan("region=eu,role=web")
        #expect(plan.expected == ["w1", "w2", "w3"])
        #expect(plan.summary == [cell(Self.webCell, ["w1", "w2", "w3"])])
    }

    @Test func aSparseMatchBecomesPerNodePublications() throws {
        let plan = try plan("name in (d2,w3)")
        #expect(plan.expected == ["d2", "w3"])
        // Ordered by cell: eu/arm64/web before eu/x86_64/db.
        #expect(plan.summary == [node("w3"), node("d2")])
    }

    @Test func aMatchedCellOfOneNodeIsPublishedToTheNode() throws {
        let plan = try plan("region=us")
        #expect(plan.expected == ["u1"])
        #expect(plan.summary == [node("u1")])
    }

    @Test func aMostlyMatchedCellIsPublishedOnceWithOnlyTheExpectedNodes() throws {
        let plan = try plan("role=db,name!=d4")
        #expect(plan.expected == ["d1", "d2", "d3"])
        #expect(plan.summary == [cell(Self.dbCell, ["d1", "d2", "d3"])])
    }

    @Test func cellShareIsTheThreshold() throws {
        // Two of the four db nodes: exactly half.
        let half = "name in (d1,d3)"
        #expect(try plan(half, cellShare: 0.5).summary == [cell(Self.dbCell, ["d1", "d3"])])
        #expect(try plan(half, cellShare: 0.51).summary == [node("d1"), node("d3")])
    }

    @Test func theEmptySelectorExpectsEveryNode() throws {
        let plan = FanOutPlanner().plan(.all, candidates: Self.fleet)
        #expect(plan.expected == ["d1", "d2", "d3", "d4", "m1", "m2", "u1", "w1", "w2", "w3"])
        #expect(plan.summary == [
            cell(Self.unlabelled, ["m1", "m2"]),
            cell(Self.webCell, ["w1", "w2", "w3"]),
            cell(Self.dbCell, ["d1", "d2", "d3", "d4"]),
            node("u1"),
        ])
        #expect(try self.plan("") == plan)
    }

    @Test func nothingMatchedIsAnEmptyPlan() throws {
        for plan in [try plan("region=ap"), try plan("gpus>8"), FanOutPlanner().plan(.all, candidates: [])] {
            #expect(plan.expected.isEmpty)
            #expect(plan.publications.isEmpty)
        }
    }

    @Test func theSelectorPicksExactlyTheMatchingNodes() throws {
        let plan = try plan("gpus>=1 || region=us")
        #expect(plan.expected == ["d1", "u1", "w1"])
        #expect(plan.publications.flatMap(\.nodes).sorted() == plan.expected)
    }

    @Test func candidateOrderDoesNotMatter() throws {
        var generator = SplitMix64(seed: 11)
        let original = try plan("region=eu || arch=arm64")
        for _ in 0..<20 {
            #expect(try plan("region=eu || arch=arm64", Self.fleet.shuffled(using: &generator)) == original)
        }
    }

    @Test(
        "on a random fleet every expected node is reached exactly once and nothing else is",
        arguments: [
            "", "region=eu", "role!=db", "arch in (arm64,riscv64),gpus>=1", "name=n1*", "zone=b || role=edge",
            "region=nowhere",
        ]
    )
    func randomFleet(selectorText: String) throws {
        var generator = SplitMix64(seed: 2024)
        let regions = ["eu", "us", "ap", "a/b", ""], arches = ["arm64", "x86_64", "riscv64"]
        let roles = ["web", "db", "edge", "+"], zones = ["a", "b"]
        let candidates = (0..<400).map { index in
            var labels = ["name": "n\(index)", "zone": zones.randomElement(using: &generator)!]
            if Bool.random(using: &generator) || index % 7 != 0 {
                labels["region"] = regions.randomElement(using: &generator)!
            }
            if index % 5 != 0 { labels["arch"] = arches.randomElement(using: &generator)! }
            labels["role"] = roles.randomElement(using: &generator)!
            if Int.random(in: 0..<3, using: &generator) == 0 {
                labels["gpus"] = String(Int.random(in: 0...4, using: &generator))
            }
            return Candidate(id: "n\(index)", labels: labels)
        }
        let selector = try Selector(parsing: selectorText)
        let plan = FanOutPlanner().plan(selector, candidates: candidates)

        let matching = candidates.filter { selector.matches($0.labels) }
        #expect(plan.expected == matching.map(\.id).sorted())
        #expect(plan.publications.flatMap(\.nodes).sorted() == plan.expected, "each expected node in exactly one publication")

        let cellOf = Dictionary(uniqueKeysWithValues: candidates.map { ($0.id, Cell(labels: $0.labels)) })
        let members = Dictionary(grouping: candidates) { Cell(labels: $0.labels) }
        for publication in plan.publications {
            #expect(publication.nodes == publication.nodes.sorted())
            switch publication.target {
            case .node(let id):
                #expect(publication.nodes == [id])
            case .cell(let cell):
                #expect(publication.nodes.count > 1)
                #expect(publication.nodes.allSatisfy { cellOf[$0] == cell })
                #expect(Double(publication.nodes.count) >= 0.5 * Double(members[cell]?.count ?? 0))
            }
        }
        // A cell is never published to twice.
        let cells = plan.publications.compactMap { publication -> Cell? in
            if case .cell(let cell) = publication.target { return cell }
            return nil
        }
        #expect(Set(cells).count == cells.count)
    }
}

extension FanOutPlanner.Plan {
    /// Publications as readable text: `cell eu/arm64/web: w1,w2` or `node w3: w3`.
    fileprivate var summary: [String] {
        publications.map { publication in
            let nodes = publication.nodes.joined(separator: ",")
            switch publication.target {
            case .cell(let cell): return "cell \(cell): \(nodes)"
            case .node(let id): return "node \(id): \(nodes)"
            }
        }
    }
}
