import Logging
import ShoalCore
import Synchronization
import Testing

@testable import ShoalEngine

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let time: Mutex<Double>
    init(_ start: Double = 1_800_000_000) { time = Mutex(start) }
    var now: Double { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
}

/// An engine on a manual clock, and the wire messages agents would send it.
struct EngineFixture {
    let clock = ManualClock()
    let topics = TopicTree()
    let engine: DispatchEngine

    init(recovered: DispatchEngine.Recovered = DispatchEngine.Recovered(), missedHeartbeats: Double = 3,
         enrollmentPolicy: EnrollmentPolicy = EnrollmentPolicy()) {
        let clock = self.clock
        engine = DispatchEngine(topics: topics, missedHeartbeats: missedHeartbeats, recovered: recovered,
                                enrollmentPolicy: enrollmentPolicy, logger: Logger(label: "engine-test") { _ in SwiftLogNoOpLogHandler() },
                                clock: { clock.now })
    }

    var now: Double { clock.now }

    func birth(_ node: String, labels: [String: String] = [:], bdSeq: UInt64 = 1, heartbeat: Double = 5, isolated: Bool? = nil,
               signedOnly: Bool? = nil) {
        engine.ingest(.birth(node: node), payload: Wire.encode(BirthMessage(
            node: node, labels: labels.merging(["name": node]) { first, _ in first }, version: "test", bdSeq: bdSeq,
            heartbeatInterval: heartbeat, sentAt: now, isolated: isolated, signedOnly: signedOnly)))
    }

    func death(_ node: String, bdSeq: UInt64) {
        engine.ingest(.death(node: node), payload: Wire.encode(DeathMessage(node: node, bdSeq: bdSeq)))
    }

    func heartbeat(_ node: String, seq: UInt64 = 1) {
        engine.ingest(.heartbeat(node: node), payload: Wire.encode(HeartbeatMessage(
            node: node, seq: seq, uptime: 1, load1: nil, running: 0, sentAt: now)))
    }

    func report(_ node: String, job: String, _ state: ExecutionState, exitCode: Int32? = nil, seq: UInt32 = 3,
                stdout: String? = nil) {
        engine.ingest(.execStatus(node: node, job: job), payload: Wire.encode(ExecutionStatusMessage(
            job: job, node: node, seq: seq, state: state, exitCode: exitCode, at: now, startedAt: now, stdout: stdout)))
    }

    /// Plans and accepts a job as the shell does (recording it is the shell's part).
    @discardableResult
    func submit(_ id: String, selector: String = "", all: Bool = true, timeout: Double = 60,
                deadlineIn: Double = 600, incident: Bool = false, actor: String? = nil) throws -> DispatchEngine.Submission {
        let submission = try engine.plan(SubmitJobRequest(id: id, selector: selector, all: all, task: .exec(["true"]),
                                                          timeout: timeout, deadlineIn: deadlineIn, incident: incident,
                                                          actor: actor), id: id)
        _ = engine.accept(submission)
        return submission
    }

    /// The state of one execution as the engine holds it (nil once its job has finished).
    func state(_ job: String, _ node: String) -> ExecutionState? {
        engine.active[job]?.executions[node]?.state
    }

    /// Commits the pending batch as a successful commit would, returning its announcements.
    @discardableResult
    func commit() -> [Announcement] {
        guard let batch = engine.takePending() else { return [] }
        return engine.committed(batch).announcements
    }

    /// Job ids the outbox sends to `node`'s own job topic, in order; the outbox is emptied.
    func resentJobs(to node: String) -> [String] {
        engine.takeOutbox().filter { $0.topic == topics.nodeJob(node) }.compactMap {
            try? Wire.decode(JobMessage.self, from: $0.payload).id
        }
    }
}

extension EngineFixture {
    /// Control messages the outbox sends, as (node, message), in order; the outbox is emptied.
    func controls() -> [(node: String, message: ControlMessage)] {
        engine.takeOutbox().compactMap { publication in
            guard case .nodeControl(let node)? = topics.route(publication.topic),
                  let message = try? Wire.decode(ControlMessage.self, from: publication.payload) else { return nil }
            return (node, message)
        }
    }

    /// An output chunk as an agent streams it.
    func output(_ node: String, job: String, seq: UInt32, _ data: String, stream: OutputChannel = .stdout) {
        engine.ingest(.execOutput(node: node, job: job), payload: Wire.encode(OutputChunkMessage(
            job: job, node: node, seq: seq, stream: stream, data: data)))
    }
}
