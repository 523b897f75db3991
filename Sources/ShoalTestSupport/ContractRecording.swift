import Foundation
import Mosquitto
import Testing

/// Holds the end-to-end tests to the MQTT contract (docs/asyncapi.yaml): when
/// `SHOAL_CONTRACT_RECORDING` names a directory, every message on `shoal/v1/#` of each
/// broker a test starts is appended there, one JSON line per message, to a file of that
/// test; `scripts/contract/validate.py` then checks each against its schema
/// (docs/integrations.md, "How the contract is tested").
public enum ContractRecording {
    public static let environmentVariable = "SHOAL_CONTRACT_RECORDING"

    /// Marks a message that a test publishes against the contract on purpose (garbage,
    /// out-of-range values, forgeries, its own barriers): the recording keeps its topic, size
    /// and first 200 bytes, and the validator does not hold it to a schema. Only the
    /// publishing test can say this, message by message; nothing Shoal itself sends carries it.
    public static let offContract = MQTTUserProperty(name: "shoal-test", value: "off-contract")

    /// The largest message recorded; the broker does not send the recorder larger ones.
    /// Shoal's own messages stay far below (a reply is bounded by the output limits, a few
    /// MiB at most); what is larger is a test's garbage (HostilePayloadTests: 10 MiB on
    /// every topic), and copying it for nothing took 8 s of that test.
    static let largestRecorded: UInt32 = 8 << 20

    /// The directory to record into, or nil when recording is off.
    public static var directory: String? {
        guard let directory = ProcessInfo.processInfo.environment[environmentVariable], !directory.isEmpty else { return nil }
        return directory
    }

    /// `Test.current` as a file name (parameterised cases of one test share it; each broker
    /// gets a file of its own).
    static func fileName(test: Test?, broker: BrokerAddress) -> String {
        // `Module.Suite/function()/File.swift:line:column`: the source location adds nothing.
        let name = test.map { "\($0.id)".split(separator: "/").filter { !$0.contains(".swift:") }.joined(separator: ".") }
            ?? "outside-a-test"
        let safe = String(name.unicodeScalars.map { scalar in
            CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII || "._-".unicodeScalars.contains(scalar)
                ? Character(scalar) : "_"
        }.prefix(160))
        return "\(safe).port-\(broker.port).\(UUID().uuidString.prefix(8)).jsonl"
    }
}

/// Runs `body` with a recorder subscribed to `shoal/v1/#` on `broker` (when recording is on):
/// subscribed before `body` starts anything, and stopped only after every message published
/// before `body` returned has been written (a barrier message of its own). Credentials are
/// those of a user allowed to read the whole tree (the dispatcher's, on a secure broker).
public func withContractRecording<Result>(
    broker: BrokerAddress, username: String? = nil, password: String? = nil, tls: MQTTTLS? = nil,
    _ body: () async throws -> Result
) async throws -> Result {
    guard let directory = ContractRecording.directory else { return try await body() }
    let path = directory + "/" + ContractRecording.fileName(test: Test.current, broker: broker)
    let recorder = try await ContractRecorder.start(broker: broker, username: username, password: password, tls: tls, path: path)
    do {
        let result = try await body()
        await recorder.finish()
        return result
    } catch {
        await recorder.finish()
        throw error
    }
}

/// One recorder connection and the task that writes what it receives.
final class ContractRecorder: Sendable {
    private let client: MQTTClient
    private let barrierTopic: String
    private let barrierArrived: Signal
    private let writer: Task<Void, Never>
    private let connectionWatch: Task<Void, Never>

    private init(client: MQTTClient, barrierTopic: String, barrierArrived: Signal, writer: Task<Void, Never>,
                 connectionWatch: Task<Void, Never>) {
        self.client = client
        self.barrierTopic = barrierTopic
        self.barrierArrived = barrierArrived
        self.writer = writer
        self.connectionWatch = connectionWatch
    }

    static func start(
        broker: BrokerAddress, username: String?, password: String?, tls: MQTTTLS?, path: String
    ) async throws -> ContractRecorder {
        // Private: an enrollment request carries the password a test agent chose.
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let file = FileHandle(forWritingAtPath: path) else {
            throw ContractRecordingError(description: "cannot create the contract recording \(path)")
        }
        let id = UUID().uuidString.prefix(8).lowercased()
        let client = try MQTTClient(configuration: .init(
            host: broker.host, port: broker.port, clientID: "contract-recorder-\(id)", username: username, password: password,
            connectTimeout: .seconds(10), tls: tls, maximumPacketSize: ContractRecording.largestRecorded),
            logger: testLogger("contract-recorder"))
        // Inside the tree, so that the dispatcher's ACL rights (readwrite on it) cover it.
        let barrierTopic = "shoal/v1/test/contract-recorder/\(id)"
        let barrierArrived = Signal()
        let writer = Task { [messages = client.messages] in
            for await message in messages {
                if message.topic == barrierTopic {
                    barrierArrived.fire()
                } else {
                    try? file.write(contentsOf: RecordedMessage(message).jsonLine)
                }
            }
            // The client stopped: nothing more will come, the barrier included.
            barrierArrived.fire()
            try? file.close()
        }
        // A broker restart (BrokerRestartTests) loses what was published until the recorder
        // is back: said in the recording, so that a reply whose request fell in the gap is
        // not taken for drift. One `write` per line: lines never interleave.
        let connectionWatch = Task { [events = client.connectionEvents] in
            for await event in events where !Task.isCancelled {
                if case .disconnected = event { try? file.write(contentsOf: Data(#"{"connectionLost":true}"#.utf8) + Data("\n".utf8)) }
            }
        }
        do {
            try await client.start()
            try await client.subscribe(["shoal/v1/#"])
        } catch {
            connectionWatch.cancel()
            client.stop()
            await writer.value
            throw error
        }
        return ContractRecorder(client: client, barrierTopic: barrierTopic, barrierArrived: barrierArrived, writer: writer,
                                connectionWatch: connectionWatch)
    }

    /// Waits for its own barrier, then disconnects and closes the file. Bounded: a broker
    /// that the test has stopped (or restarted and stopped) acknowledges and delivers
    /// nothing more, and stopping the client ends both waits.
    func finish() async {
        let bound = Task { [client] in
            guard (try? await Task.sleep(for: .seconds(10))) != nil else { return }
            client.stop()
        }
        let barrier = MQTTMessage(topic: barrierTopic, payload: [], qos: 1, userProperties: [ContractRecording.offContract])
        if client.isConnected, (try? await client.publishConfirmed(barrier)) != nil {
            await barrierArrived.wait()
        }
        bound.cancel()
        // Two `stop()`s at once would both join libmosquitto's thread; one after the other is fine.
        await bound.value
        // Its own disconnection is no gap.
        connectionWatch.cancel()
        await connectionWatch.value
        client.stop()
        await writer.value
    }
}

struct ContractRecordingError: Error, CustomStringConvertible {
    let description: String
}

/// One line of a recording, in the shape scripts/contract/validate.py reads.
struct RecordedMessage {
    let message: MQTTMessage

    init(_ message: MQTTMessage) { self.message = message }

    var offContract: Bool { message.userProperties.contains(ContractRecording.offContract) }

    var jsonLine: Data {
        let text = String(validating: message.payload, as: UTF8.self)
        var record: [String: Any] = [
            "topic": message.topic,
            "bytes": message.payload.count,
            "responseTopic": message.responseTopic ?? NSNull(),
            "correlation": message.correlationData.map { $0.map { String(format: "%02x", $0) }.joined() } ?? NSNull(),
        ]
        if offContract {
            // Kept short: some are 10 MiB of garbage, and no schema looks at them.
            record["offContract"] = true
            record["payload"] = String(decoding: message.payload.prefix(200), as: UTF8.self)
        } else {
            record["payload"] = text ?? String(decoding: message.payload, as: UTF8.self)
            if text == nil { record["notUTF8"] = true }
        }
        let line = (try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return line + Data("\n".utf8)
    }
}
