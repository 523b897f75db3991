import BrokerLauncher
import Foundation
import Mosquitto
import Testing

@Suite("Broker configuration")
struct BrokerConfigTests {
    /// `broker-config/mosquitto.conf` in this package, found from this file's path.
    static var developmentConfig: String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // MosquittoTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // package root
            .appendingPathComponent("broker-config/mosquitto.conf").path
    }

    @Test("every tuning line is in broker-config/mosquitto.conf", arguments: MosquittoBroker.Configuration.tuning)
    func tuningIsInTheDevelopmentConfig(line: String) throws {
        let text = try String(contentsOfFile: Self.developmentConfig, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.contains(line), "'\(line)' is missing from \(Self.developmentConfig)")
    }

    /// `broker-config/secure/mosquitto.conf` keeps the tuning (anonymous access aside) and
    /// sets everything the generated secure profile sets.
    @Test func theSecureConfigCarriesTheTuningAndTheProfilesSettings() throws {
        let path = URL(fileURLWithPath: Self.developmentConfig).deletingLastPathComponent()
            .appendingPathComponent("secure/mosquitto.conf").path
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        for line in MosquittoBroker.Configuration.tuning where line != "allow_anonymous true" {
            #expect(lines.contains(line), "'\(line)' is missing from \(path)")
        }
        #expect(lines.contains("allow_anonymous false"))
        #expect(!lines.contains("allow_anonymous true"))
        for line in SecureBrokerProfile(directory: "/etc/shoal/broker").brokerLines {
            let key = String(line.prefix { $0 != " " })
            #expect(lines.contains { $0.hasPrefix(key + " ") }, "'\(key)' is missing from \(path)")
        }
    }

    @Test func tuningIsNotEmpty() {
        #expect(!MosquittoBroker.Configuration.tuning.isEmpty)
        #expect(MosquittoBroker.Configuration.tuning.contains("persistence true"))
    }

    @Test func renderedConfigCarriesPortDirectoryTuningAndExtraLines() {
        let configuration = MosquittoBroker.Configuration(
            port: 18_831, directory: "/var/lib/shoal/broker", bindAddress: "0.0.0.0", extraLines: ["max_keepalive 60"])
        let rendered = configuration.render()
        let lines = rendered.split(separator: "\n").map(String.init)
        #expect(rendered.hasSuffix("\n"))
        #expect(lines.contains("listener 18831 0.0.0.0"))
        #expect(lines.contains("persistence_location /var/lib/shoal/broker/"))
        for line in MosquittoBroker.Configuration.tuning {
            #expect(lines.contains(line))
        }
        #expect(lines.last == "max_keepalive 60")
        // One listener only: the generated config never also opens the default port.
        #expect(lines.filter { $0.hasPrefix("listener ") }.count == 1)
    }

    @Test func theDefaultBindAddressIsLoopback() {
        let configuration = MosquittoBroker.Configuration(port: 1, directory: "/d")
        #expect(configuration.bindAddress == "127.0.0.1")
        #expect(configuration.render().contains("listener 1 127.0.0.1\n"))
    }

    @Test func freePortsAreUsable() throws {
        let ports = try (0..<20).map { _ in try LocalPort.free() }
        #expect(ports.allSatisfy { (1024...65535).contains($0) })
    }
}
