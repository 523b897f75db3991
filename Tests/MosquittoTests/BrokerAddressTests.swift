import Mosquitto
import Testing

@Suite("Broker address")
struct BrokerAddressTests {
    @Test(
        "parses",
        arguments: [
            ("mqtt://127.0.0.1:1883", "127.0.0.1", Int32(1883)),
            ("mqtt://broker.example.com:8883", "broker.example.com", 8883),
            ("mqtt://broker", "broker", 1883),
            ("mqtt://broker/", "broker", 1883),
            ("mqtt://broker:1884/", "broker", 1884),
            ("broker", "broker", 1883),
            ("broker:1", "broker", 1),
            ("localhost:65535", "localhost", 65535),
            ("10.0.0.7:18830", "10.0.0.7", 18830),
        ]
    )
    func parses(text: String, host: String, port: Int32) throws {
        let address = try #require(BrokerAddress(text))
        #expect(address == BrokerAddress(host: host, port: port))
    }

    @Test(
        "rejects",
        arguments: [
            "", "mqtt://", "mqtt:///", ":1883", "mqtt://:1883", "broker:", "broker:0", "broker:65536", "broker:-1",
            "broker:99999999999", "broker:http", "broker:18 83", "a:b:c", "broker:1883:1", "http://broker",
            "mqtts://broker:8883", "broker/path", "mqtt://broker:1883/x", "mqtt://broker:x/",
        ]
    )
    func rejects(text: String) {
        #expect(BrokerAddress(text) == nil)
    }

    @Test(
        "a path after the host is refused, as it is without a scheme",
        arguments: ["mqtt://broker/path", "mqtt://broker//", "mqtt://a/b:1883"]
    )
    func rejectsPathsAfterTheScheme(text: String) {
        #expect(BrokerAddress(text) == nil)
    }

    @Test func description() {
        #expect(BrokerAddress(host: "127.0.0.1", port: 1883).description == "mqtt://127.0.0.1:1883")
        #expect(BrokerAddress("broker")?.description == "mqtt://broker:1883")
    }

    @Test(
        "the description parses back",
        arguments: ["mqtt://a:1", "b", "c:2", "mqtt://d/"]
    )
    func descriptionRoundTrips(text: String) throws {
        let address = try #require(BrokerAddress(text))
        #expect(BrokerAddress(address.description) == address)
    }
}
