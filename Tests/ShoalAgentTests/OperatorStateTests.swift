import Foundation
import ShoalCore
import ShoalTestSupport
import Testing

@testable import ShoalAgent

/// Labels and quarantine as operators set them: applied over the agent's own labels and
/// kept across restarts; the isolation action reports its failures.
@Suite struct OperatorStateTests {
    @Test func labelsSetAndRemovedFromTheControlPlaneSurviveARestart() async throws {
        try await withTemporaryDirectory { directory in
            let base = ["name": "n", "role": "web", "tier": "1"]
            let state = OperatorState(directory: directory, base: base)
            #expect(state.labels == base)
            #expect(try state.applyLabels(set: ["role": "db", "zone": "a"], remove: ["tier"])
                    == ["name": "n", "role": "db", "zone": "a"])
            // Set again after a removal: back; removed after a set: gone.
            #expect(try state.applyLabels(set: ["tier": "2"], remove: ["zone"]) == ["name": "n", "role": "db", "tier": "2"])
            try state.setQuarantined(true, isolated: true)
            let restarted = OperatorState(directory: directory, base: base)
            #expect(restarted.labels == ["name": "n", "role": "db", "tier": "2"])
            #expect(restarted.quarantined && restarted.isolated)
            // A damaged file is a fresh start, not a crash.
            try Data("{not json".utf8).write(to: URL(fileURLWithPath: directory + "/operator-state.json"))
            #expect(OperatorState(directory: directory, base: base).labels == base)
        }
    }

    @Test func theIsolationActionSaysWhyItFailed() async throws {
        let broker = (host: "127.0.0.1", port: Int32(1883))
        #expect(await IsolationAction(script: "test \"$SHOAL_BROKER_PORT\" = 1883 && test \"$SHOAL_NODE_ID\" = n1")
            .run(broker: broker, node: "n1") == nil)
        let failure = await IsolationAction(script: "echo no firewall here >&2; exit 3").run(broker: broker, node: "n1")
        #expect(failure == "exit status 3: no firewall here")
        let stuck = await IsolationAction(script: "sleep 30").run(broker: broker, node: "n1", limit: .milliseconds(200))
        #expect(stuck?.hasPrefix("killed after") == true)
    }
}
