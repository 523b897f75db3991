import BrokerLauncher
import Foundation
import Mosquitto
import ShoalCommandLine

/// Where `shoal up` keeps its fleet: `$SHOAL_HOME/up` (default `~/.shoal/up`). The broker
/// URL file exists only while that fleet is up and ready; the client commands of this
/// binary use it when no broker is named. The agent never looks at it.
enum LocalFleetState {
    static var directory: String { ShoalHome.path + "/up" }
    static var brokerFile: String { directory + "/broker.url" }
    /// `shoal up --secure`'s CA, certificates and credentials (`SecureBrokerProfile`).
    static var secureDirectory: String { directory + "/secure" }

    static func brokerURL() -> String? {
        guard let text = try? String(contentsOfFile: brokerFile, encoding: .utf8) else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }
}

/// How a client command authenticates: the flags' and environment's settings, or those of
/// the local secure fleet.
struct ClientSecurity: Sendable {
    var username: String?
    var password: String?
    var tls: MQTTTLS?
}

extension ConnectionOptions {
    /// `--broker`, else SHOAL_BROKER, else the fleet of `shoal up`, else mqtt://127.0.0.1:1883.
    var addressOrLocalFleet: BrokerAddress {
        get throws { try address(orElse: LocalFleetState.brokerURL()) }
    }

    /// The flags' and environment's credentials and TLS; when none are given and the broker
    /// is the local fleet's, the operator credentials of `shoal up --secure` (if it made any).
    var securityOrLocalFleet: ClientSecurity {
        get throws {
            let local = broker == nil && ProcessInfo.processInfo.environment["SHOAL_BROKER"] == nil
            let profile = SecureBrokerProfile(directory: LocalFleetState.secureDirectory)
            if !namesSecurity, local, LocalFleetState.brokerURL() != nil,
               FileManager.default.fileExists(atPath: profile.operatorPasswordFile) {
                return ClientSecurity(username: SecureBrokerProfile.operatorUser,
                                      password: try SecretFile.readPassword(profile.operatorPasswordFile),
                                      tls: MQTTTLS(caFile: profile.caFile))
            }
            return ClientSecurity(username: resolvedUsername, password: try password, tls: tls)
        }
    }
}
