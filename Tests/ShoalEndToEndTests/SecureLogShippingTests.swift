import Foundation
import BrokerLauncher
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Log shipping under the secure profile's ACL: an agent may publish `node/<id>/logs` and
/// read `node/<id>/logs/ack`. A batch waits for its acknowledgement before the next one
/// goes, so lines written after the first batch was stored arrive only if the agent can
/// read the dispatcher's acknowledgements; an operator reads them through the API.
@Suite struct SecureLogShippingTests {
    @Test func anAgentShipsLogsThroughTheACL() async throws {
        try await withSecureFleet(spareUsers: ["web-9"]) { fleet in
            let path = fleet.home + "/app.log"
            let file = try AppendingFile(path, create: true)
            try fleet.startProvisionedAgent("web-9", labels: ["role": "web"], arguments: ["--log-file", path])
            try await fleet.waitOnline(["web-9"])
            for n in 1...3 { try file.append("first \(n)") }
            try await fleet.client { client in
                _ = try await storedLogs(client, node: "web-9") { $0.count >= 3 }
            }
            for n in 1...3 { try file.append("second \(n)") }
            let entries = try await fleet.client { client in
                try await storedLogs(client, node: "web-9", within: .seconds(30)) { $0.count >= 6 }
            }
            #expect(entries.map(\.text) == ["first 1", "first 2", "first 3", "second 1", "second 2", "second 3"])
        }
    }
}
