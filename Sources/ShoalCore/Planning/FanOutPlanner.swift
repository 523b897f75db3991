/// Turns a selector and the registry into the expected node set and the publications that
/// reach it: once per cell topic whose members mostly match, else once per node topic.
public struct FanOutPlanner: Sendable {
    public struct Candidate: Sendable {
        public var id: String
        public var labels: [String: String]
        public init(id: String, labels: [String: String]) {
            self.id = id
            self.labels = labels
        }
    }

    public enum Target: Sendable, Hashable {
        case cell(Cell)
        case node(String)
    }

    public struct Publication: Sendable, Equatable {
        public var target: Target
        /// Expected nodes this publication is meant for (carried in the job message).
        public var nodes: [String]
    }

    public struct Plan: Sendable, Equatable {
        public var expected: [String]
        public var publications: [Publication]
    }

    /// A cell topic is used when at least this share of the cell's members is expected:
    /// one publication then replaces many, and the rest of the cell drops it cheaply.
    public var cellShare: Double

    public init(cellShare: Double = 0.5) {
        self.cellShare = cellShare
    }

    public func plan(_ selector: Selector, candidates: [Candidate]) -> Plan {
        var members: [Cell: Int] = [:]
        var expectedByCell: [Cell: [String]] = [:]
        var expected: [String] = []
        for candidate in candidates {
            let cell = Cell(labels: candidate.labels)
            members[cell, default: 0] += 1
            if selector.matches(candidate.labels) {
                expected.append(candidate.id)
                expectedByCell[cell, default: []].append(candidate.id)
            }
        }
        var publications: [Publication] = []
        for (cell, nodes) in expectedByCell.sorted(by: { $0.key.description < $1.key.description }) {
            let share = Double(nodes.count) / Double(members[cell] ?? nodes.count)
            if nodes.count > 1 && share >= cellShare {
                publications.append(Publication(target: .cell(cell), nodes: nodes.sorted()))
            } else {
                publications += nodes.sorted().map { Publication(target: .node($0), nodes: [$0]) }
            }
        }
        return Plan(expected: expected.sorted(), publications: publications)
    }
}
