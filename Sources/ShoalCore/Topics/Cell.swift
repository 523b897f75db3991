/// A fan-out cell: the (region, arch, role) of a node. A missing label is `_`.
public struct Cell: Sendable, Hashable, Codable, CustomStringConvertible {
    public static let missing = "_"
    public var region: String
    public var arch: String
    public var role: String

    public init(region: String, arch: String, role: String) {
        self.region = region
        self.arch = arch
        self.role = role
    }

    public init(labels: [String: String]) {
        func level(_ key: String) -> String {
            guard let value = labels[key], TopicTree.isValidLevel(value) else { return Cell.missing }
            return value
        }
        self.init(region: level("region"), arch: level("arch"), role: level("role"))
    }

    public var description: String { "\(region)/\(arch)/\(role)" }
}
