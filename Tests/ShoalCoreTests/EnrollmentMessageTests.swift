import Foundation
import ShoalCore
import Testing

@Suite struct EnrollmentMessageTests {
    private let good = EnrollmentRequest(node: "n", labels: ["role": "web"], secret: String(repeating: "a", count: 64),
                                         sentAt: 1_800_000_000)

    @Test func aWellFormedRequestPasses() throws {
        try good.validate()
    }

    @Test(arguments: ["", "short", String(repeating: "x", count: 257), String(repeating: "x", count: 1 << 20),
                      String(repeating: "a", count: 40) + " spaced", String(repeating: "a", count: 40) + "\n",
                      String(repeating: "a", count: 40) + "\u{0}", String(repeating: "é", count: 40)])
    func hostileSecretsAreRefusedNamingTheField(_ secret: String) {
        var request = good
        request.secret = secret
        let error = #expect(throws: BoundsError.self) { try request.validate() }
        #expect(error?.field.hasPrefix("secret") == true)
    }

    @Test(arguments: [-1.0, 0, 1e300, .infinity, .nan, 9.3e18])
    func hostileTimesAreRefusedNamingTheField(_ sentAt: Double) {
        var request = good
        request.sentAt = sentAt
        let error = #expect(throws: BoundsError.self) { try request.validate() }
        #expect(error?.field == "sentAt")
    }

    @Test func tooManyLabelsAreRefused() {
        var request = good
        request.labels = Dictionary(uniqueKeysWithValues: (0...Limits.labelCount).map { ("k\($0)", "v") })
        #expect(throws: BoundsError.self) { try request.validate() }
    }

    @Test func enrollmentTopicsRouteAndStayOutOfTheNodeSubtree() {
        let topics = TopicTree()
        #expect(topics.enrollmentRequest("n") == "shoal/v1/enroll/n/request")
        #expect(topics.route(topics.enrollmentRequest("n")) == .enrollmentRequest(node: "n"))
        #expect(topics.route(topics.enrollmentAnswer("n")) == .enrollmentAnswer(node: "n"))
        #expect(topics.route("shoal/v1/enroll/n/other") == nil)
        #expect(topics.dispatcherFilters.contains("shoal/v1/enroll/+/request"))
    }
}
