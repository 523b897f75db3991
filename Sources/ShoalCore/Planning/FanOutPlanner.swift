/// Turns a selector and the registry into the expected node set and the publications that
/// reach it: once per cell topic whose members mostly match, else once per node topic.
public struct FanOutPlanner: Sendable {
    public struct Candidate: Sendable {
        public let id: String
        public let labels: [String: String]
        /// Worked out once: callers keep candidates between plans, and three label
        /// lookups per node per plan showed at 10,000 nodes.
        public let cell: Cell
        public init(id: String, labels: [String: String]) {
            self.id = id
            self.labels = labels
            cell = Cell(labels: labels)
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
        var cells: [Cell: (members: Int, expected: [String])] = [:]
        var expected: [String] = []
        for candidate in candidates {
            let matches = selector.matches(candidate.labels)
            if matches { expected.append(candidate.id) }
            // One lookup per node: counted as a member, and listed when it matches.
            cells[candidate.cell, default: (0, [])].members += 1
            if matches { cells[candidate.cell]!.expected.append(candidate.id) }
        }
        var publications: [Publication] = []
        for (cell, entry) in cells.sorted(by: { $0.key.description < $1.key.description }) where !entry.expected.isEmpty {
            let nodes = entry.expected.sorted()
            if nodes.count > 1 && Double(nodes.count) / Double(entry.members) >= cellShare {
                publications.append(Publication(target: .cell(cell), nodes: nodes))
            } else {
                publications += nodes.map { Publication(target: .node($0), nodes: [$0]) }
            }
        }
        return Plan(expected: expected.sorted(), publications: publications)
    }
}
