import BrokerLauncher
import Foundation
import Mosquitto
import ShoalTestSupport
import Testing

/// TLS against a real mosquitto with the secure profile: the broker's certificate is
/// checked against the CA, a client certificate is sent when the broker asks for one, and
/// a handshake that cannot succeed ends `start()` at once with a TLS error.
@Suite("MQTT client: TLS")
struct MQTTClientTLSTests {
    /// A secure-profile broker that also requires a client certificate signed by its CA.
    private func withCertificateBroker(_ body: (MosquittoBroker, SecureBrokerProfile) async throws -> Void) async throws {
        var made: SecureBrokerProfile?
        try await withMosquitto(configure: { directory in
            let profile = try await SecureBrokerProfile.create(in: directory + "/secure")
            made = profile
            return profile.brokerLines + ["require_certificate true"]
        }) { broker in
            try await body(broker, try #require(made))
        }
    }

    private func client(_ broker: MosquittoBroker, _ profile: SecureBrokerProfile, tls: MQTTTLS?,
                        timeout: Duration = .seconds(10)) throws -> MQTTClient {
        let password = try String(contentsOfFile: profile.operatorPasswordFile, encoding: .utf8)
            .trimmingCharacters(in: .newlines)
        return try MQTTClient(configuration: MQTTConfiguration(
            host: broker.address.host, port: broker.address.port, clientID: "tls-\(UInt32.random(in: 0...UInt32.max))",
            username: SecureBrokerProfile.operatorUser, password: password, connectTimeout: timeout, tls: tls),
            logger: testLogger("tls"))
    }

    @Test func aClientCertificateSignedByTheCAConnects() async throws {
        try await withCertificateBroker { broker, profile in
            let (certificate, key) = try await profile.makeClientCertificate(for: "operator")
            let client = try client(broker, profile, tls: MQTTTLS(caFile: profile.caFile, certificateFile: certificate, keyFile: key))
            defer { client.stop() }
            try await client.start()
            #expect(client.isConnected)
        }
    }

    @Test func withoutTheRequiredCertificateThereIsNoSession() async throws {
        try await withCertificateBroker { broker, profile in
            let client = try client(broker, profile, tls: MQTTTLS(caFile: profile.caFile), timeout: .seconds(5))
            defer { client.stop() }
            await #expect(throws: MQTTConnectError.self) { try await client.start() }
            #expect(!client.isConnected)
        }
    }

    /// libmosquitto verifies the broker's certificate inside its blocking connect, so a
    /// foreign CA normally ends `start()` at once with `.tls`; when the handshake's end
    /// arrives only after the connect returned, the failure surfaces as a lost connection
    /// and `start()` ends at its connect timeout instead. Either way: no session.
    @Test func aBrokerCertificateFromAnotherCAGetsNoSession() async throws {
        var made: SecureBrokerProfile?
        try await withMosquitto(configure: { directory in
            let profile = try await SecureBrokerProfile.create(in: directory + "/secure")
            made = profile
            return profile.brokerLines
        }) { broker in
            let profile = try #require(made)
            try await withTemporaryDirectory("shoal-other-ca") { directory in
                let stranger = try await SecureBrokerProfile.create(in: directory + "/other")
                let client = try client(broker, profile, tls: MQTTTLS(caFile: stranger.caFile), timeout: .seconds(5))
                defer { client.stop() }
                let error = await #expect(throws: MQTTConnectError.self) { try await client.start() }
                #expect(!client.isConnected)
                if error?.kind == .tls {
                    #expect(error?.description.contains("--tls-ca") == true)
                }
            }
        }
    }
}
