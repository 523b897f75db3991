import ShoalCore
import Testing

@Suite("Topic tree")
struct TopicTreeTests {
    let topics = TopicTree()
    let cell = Cell(region: "eu", arch: "arm64", role: "web")

    @Test func defaultPrefix() {
        #expect(TopicTree().prefix == "shoal/v1")
    }

    @Test("a trailing slash on the prefix is dropped", arguments: ["acme/shoal", "acme/shoal/"])
    func trailingSlash(prefix: String) {
        let tree = TopicTree(prefix: prefix)
        #expect(tree.prefix == "acme/shoal")
        #expect(tree.birth("n1") == "acme/shoal/node/n1/birth")
    }

    @Test func builders() {
        #expect(topics.cellJob(cell) == "shoal/v1/cell/eu/arm64/web/job")
        #expect(topics.nodeJob("n1") == "shoal/v1/node/n1/job")
        #expect(topics.nodeControl("n1") == "shoal/v1/node/n1/ctl")
        #expect(topics.birth("n1") == "shoal/v1/node/n1/birth")
        #expect(topics.death("n1") == "shoal/v1/node/n1/death")
        #expect(topics.heartbeat("n1") == "shoal/v1/node/n1/hb")
        #expect(topics.metrics("n1") == "shoal/v1/node/n1/metrics")
        #expect(topics.execStatus(node: "n1", job: "j1") == "shoal/v1/node/n1/exec/j1/status")
        #expect(topics.execOutput(node: "n1", job: "j1") == "shoal/v1/node/n1/exec/j1/out")
        #expect(topics.api(.submitJob) == "shoal/v1/api/jobs.submit")
        #expect(topics.api(.listNodes) == "shoal/v1/api/nodes.list")
        #expect(topics.reply(client: "c1") == "shoal/v1/reply/c1")
        #expect(topics.jobEvents("j1") == "shoal/v1/events/job/j1")
        #expect(topics.nodeEvents("n1") == "shoal/v1/events/node/n1")
    }

    @Test func buildersUseACustomPrefix() {
        let tree = TopicTree(prefix: "lab")
        #expect(tree.cellJob(cell) == "lab/cell/eu/arm64/web/job")
        #expect(tree.execStatus(node: "n", job: "j") == "lab/node/n/exec/j/status")
        #expect(tree.api(.getJob) == "lab/api/jobs.get")
    }

    @Test func dispatcherFilters() {
        #expect(topics.dispatcherFilters == [
            "shoal/v1/node/+/birth", "shoal/v1/node/+/death", "shoal/v1/node/+/hb", "shoal/v1/node/+/metrics",
            "shoal/v1/node/+/exec/+/status", "shoal/v1/node/+/exec/+/out", "shoal/v1/api/+",
            "shoal/v1/enroll/+/request",
        ])
    }

    @Test func agentFilters() {
        #expect(topics.agentFilters(node: "n1", cell: cell) == [
            "shoal/v1/cell/eu/arm64/web/job", "shoal/v1/node/n1/job", "shoal/v1/node/n1/ctl",
        ])
    }

    @Test func routesEveryKindOfTopic() {
        #expect(topics.route("shoal/v1/node/n1/birth") == .birth(node: "n1"))
        #expect(topics.route("shoal/v1/node/n1/death") == .death(node: "n1"))
        #expect(topics.route("shoal/v1/node/n1/hb") == .heartbeat(node: "n1"))
        #expect(topics.route("shoal/v1/node/n1/metrics") == .metrics(node: "n1"))
        #expect(topics.route("shoal/v1/node/n1/job") == .nodeJob(node: "n1"))
        #expect(topics.route("shoal/v1/node/n1/ctl") == .nodeControl(node: "n1"))
        #expect(topics.route("shoal/v1/node/n1/exec/j1/status") == .execStatus(node: "n1", job: "j1"))
        #expect(topics.route("shoal/v1/node/n1/exec/j1/out") == .execOutput(node: "n1", job: "j1"))
        #expect(topics.route("shoal/v1/cell/eu/arm64/web/job") == .cellJob(cell))
        #expect(topics.route("shoal/v1/cell/_/_/_/job") == .cellJob(Cell(labels: [:])))
    }

    @Test("every API operation routes", arguments: APIOperation.allCases)
    func routesAPI(operation: APIOperation) {
        #expect(topics.route(topics.api(operation)) == .api(operation))
    }

    @Test func buildersAndRouteAgree() {
        let tree = TopicTree(prefix: "a/b/c")
        let pairs: [(String, TopicTree.Route)] = [
            (tree.birth("x"), .birth(node: "x")),
            (tree.death("x"), .death(node: "x")),
            (tree.heartbeat("x"), .heartbeat(node: "x")),
            (tree.nodeJob("x"), .nodeJob(node: "x")),
            (tree.nodeControl("x"), .nodeControl(node: "x")),
            (tree.execStatus(node: "x", job: "y"), .execStatus(node: "x", job: "y")),
            (tree.execOutput(node: "x", job: "y"), .execOutput(node: "x", job: "y")),
            (tree.cellJob(cell), .cellJob(cell)),
        ]
        for (topic, route) in pairs {
            #expect(tree.route(topic) == route, "\(topic)")
        }
    }

    @Test(
        "unknown and garbage topics route to nil",
        arguments: [
            "",
            "shoal",
            "shoal/v1",
            "shoal/v1/",
            "shoal/v2/node/n1/birth",
            "other/v1/node/n1/birth",
            "/shoal/v1/node/n1/birth",
            "shoal/v1/node/n1",
            "shoal/v1/node/n1/",
            "shoal/v1/node/n1/rebirth",
            "shoal/v1/node/n1/birth/extra",
            "shoal/v1/node/n1/exec/j1",
            "shoal/v1/node/n1/exec/j1/err",
            "shoal/v1/node/n1/exec/j1/status/x",
            "shoal/v1/node/n1/run/j1/status",
            "shoal/v1/cell/eu/arm64/web",
            "shoal/v1/cell/eu/arm64/web/ctl",
            "shoal/v1/cell/eu/arm64/job",
            "shoal/v1/cell/eu/arm64/web/x/job",
            "shoal/v1/api",
            "shoal/v1/api/jobs.submit/x",
            "shoal/v1/reply/c1",
            "shoal/v1/events/job/j1",
            "shoal/v1/events/node/n1",
            "shoal/v1/nodes/n1/birth",
            "shoal/v1/#",
            "shoal/v1/node/+/birth/#",
            "$SYS/broker/uptime",
            "shoal/v1//////",
            "\u{0}\u{1}\u{ff}",
            "shoal/v1/🦈/🦈/🦈",
        ]
    )
    func garbageRoutesToNil(topic: String) {
        #expect(topics.route(topic) == nil)
    }

    @Test(
        "an API topic with an unknown operation routes so that it can be answered",
        arguments: [("shoal/v1/api/", ""), ("shoal/v1/api/jobs.delete", "jobs.delete"), ("shoal/v1/api/JOBS.SUBMIT", "JOBS.SUBMIT")]
    )
    func unknownOperations(topic: String, name: String) {
        #expect(topics.route(topic) == .unknownAPI(name))
    }

    @Test(
        "a prefix that is only a string prefix of the topic's first levels does not match",
        arguments: ["shoal/v1Xnode/n1/birth", "shoal/v10/node/n1/birth", "shoal/v1_api/jobs.submit"]
    )
    func prefixMustEndAtALevelBoundary(topic: String) {
        #expect(topics.route(topic) == nil)
    }

    @Test("valid levels", arguments: ["n1", "node-1.example.com", "_", "x", "a b", "é", "🦈", "UPPER", "$x"])
    func validLevels(level: String) {
        #expect(TopicTree.isValidLevel(level))
    }

    @Test("invalid levels", arguments: ["", "/", "a/b", "+", "a+", "#", "a#b", "a\u{0}b", "\u{0}"])
    func invalidLevels(level: String) {
        #expect(!TopicTree.isValidLevel(level))
    }

    @Test(
        "valid topic names",
        arguments: ["a", "a/b", "/", "a//b", "shoal/v1/reply/c1", "x/é/🦈", "a$b", "trailing/"]
    )
    func validTopicNames(topic: String) {
        #expect(TopicTree.isValidTopicName(topic))
    }

    @Test(
        "invalid topic names",
        arguments: ["", "$SYS/x", "$", "a/+/b", "+", "a/#", "#", "a\u{0}b", "a+b", "x#"]
    )
    func invalidTopicNames(topic: String) {
        #expect(!TopicTree.isValidTopicName(topic))
    }

    @Test func topicNameLengthLimit() {
        #expect(TopicTree.isValidTopicName(String(repeating: "a", count: 65_535)))
        #expect(!TopicTree.isValidTopicName(String(repeating: "a", count: 65_536)))
        // The limit is in UTF-8 bytes, not characters.
        #expect(!TopicTree.isValidTopicName(String(repeating: "é", count: 32_768)))
        #expect(TopicTree.isValidTopicName(String(repeating: "é", count: 32_767)))
    }
}
