import Foundation
import Mosquitto
import ShoalCommandLine

/// Where `shoal up` keeps its fleet: `$SHOAL_HOME/up` (default `~/.shoal/up`). The broker
/// URL file exists only while that fleet is up and ready; the client commands of this
/// binary use it when no broker is named. The agent never looks at it.
enum LocalFleetState {
    static var directory: String { ShoalHome.path + "/up" }
    static var brokerFile: String { directory + "/broker.url" }

    static func brokerURL() -> String? {
        guard let text = try? String(contentsOfFile: brokerFile, encoding: .utf8) else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }
}

extension ConnectionOptions {
    /// `--broker`, else SHOAL_BROKER, else the fleet of `shoal up`, else mqtt://127.0.0.1:1883.
    var addressOrLocalFleet: BrokerAddress {
        get throws { try address(orElse: LocalFleetState.brokerURL()) }
    }
}
