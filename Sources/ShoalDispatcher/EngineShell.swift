import BrokerLauncher
import Foundation
import Logging
import Mosquitto
import ShoalCore
import ShoalEngine

/// The I/O around the `DispatchEngine`: it feeds the engine the broker's messages and the
/// clock's ticks, commits what the engine changed (one write path: `flush`), publishes
/// what it wants published, announces what a commit made true, answers the API from the
/// store, and does the store's housekeeping (folding, checkpoints, retention).
///
/// Not thread-safe by design: owned by `Dispatcher.run()`'s loop, which hands it one batch
/// of inputs at a time and then calls `flush()`.
final class EngineShell {
    let engine: DispatchEngine
    let store: DispatcherStore
    let client: MQTTClient
    let events: EventPublisher
    let topics: TopicTree
    let retention: RetentionPolicy
    let logger: Logger
    /// Something was committed since the write-ahead log was last checkpointed.
    var uncheckpointed = false
    /// Jobs whose finish is committed, with their final executions, still to be folded
    /// from the log into the execution table (`tick`).
    var unfolded: [(job: String, executions: [ExecutionRecord])] = []
    /// When finished jobs are next checked against `retention` (at start, then every 10 minutes).
    var retentionDue: Double = 0
    /// Which log lines are kept, and when they are next pruned (`EngineShell+Logs`).
    var logRetention = LogRetention()
    var logPruneDue: Double = 0
    /// nil: this dispatcher does not enroll nodes (no secure profile).
    let enrollment: EnrollmentSettings?
    /// Signs rule jobs (`DispatcherConfiguration.ruleSigningKey`).
    let ruleSigningKey: OperatorPrivateKey?
    /// Secrets of first enrollment requests waiting to be hashed (`takeHashRequests`), and
    /// the nodes whose hash is being made (a repeated request is not hashed twice).
    var hashRequests: [CredentialHashing] = []
    var hashing: Set<String> = []
    /// Metric values stored per second, for `--metrics-listen`.
    var ingestRate = IngestRate()

    init(store: DispatcherStore, client: MQTTClient, events: EventPublisher, topics: TopicTree,
         missedHeartbeats: Double, retention: RetentionPolicy = RetentionPolicy(), rules: [MitigationRule] = [],
         enrollment: EnrollmentSettings? = nil, ruleSigningKey: OperatorPrivateKey? = nil,
         logger: Logger,
         clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        self.store = store
        self.client = client
        self.events = events
        self.topics = topics
        self.retention = retention
        self.logger = logger
        self.enrollment = enrollment
        self.ruleSigningKey = ruleSigningKey
        // Jobs that finished just before a stop may not have been folded yet.
        try store.foldFinishedJobs()
        let recovered = DispatchEngine.Recovered(
            nodes: try store.allNodes(),
            unfinished: try store.unfinishedJobs().map { job, executions in (job, executions, try store.output(of: job.id)) },
            enrollments: try store.allEnrollments(),
            cancellations: try store.openCancellations(),
            rollouts: try store.openRollouts())
        let policy = EnrollmentPolicy(autoApprove: enrollment?.autoApprove, reservedIDs: SecureBrokerProfile.roleUsers)
        for rule in rules {
            try rule.validate()
            try store.saveRule(rule)
        }
        let ruleBook = RuleBook(rules: try store.allRules(), history: try store.lastFirings())
        engine = DispatchEngine(topics: topics, missedHeartbeats: missedHeartbeats, recovered: recovered,
                                ruleBook: ruleBook, enrollmentPolicy: policy, logger: logger, clock: clock)
        engine.rememberRuleJobs(try store.ruleHistory(rule: nil, limit: 10_000))
    }

    var pendingRows: Int { engine.pending.rowCount }
    var hasPending: Bool { !engine.pending.isEmpty }
    var finishesJobs: Bool { !engine.pending.finishedJobs.isEmpty }

    func handle(_ message: MQTTMessage) {
        guard let route = topics.route(message.topic) else {
            logger.debug("Ignored a message on an unexpected topic", metadata: ["topic": "\(message.topic)"])
            return
        }
        switch route {
        case .api(let operation): answer(operation, message)
        case .unknownAPI(let name): answerUnknown(name, message)
        case .enrollmentRequest(let node): receiveEnrollment(node: node, payload: message.payload)
        default: engine.ingest(route, payload: message.payload)
        }
        applyCredentialChanges()
        publishOutbox()
        submitFirings()
    }

    /// At start: ask the nodes about every unfinished job (see `DispatchEngine.resendUnfinished`).
    func resendUnfinished() {
        engine.resendUnfinished()
        publishOutbox()
    }

    func tick() {
        engine.tick()
        publishOutbox()
        submitFirings()
        if !unfolded.isEmpty { fold() }
        if let cutoffs = engine.metricsHousekeeping() { pruneMetrics(cutoffs) }
        let time = engine.clock()
        ingestRate.mark(time: time, count: engine.metrics.ingestedValues)
        // Between jobs: a large delete would hold up the reports of a running one.
        if time >= retentionDue && engine.isIdle { prune(at: time) }
        if time >= logPruneDue { pruneLogs(at: time) }
        if engine.isIdle && uncheckpointed { checkpoint() }
    }

    /// Runs what the rules decided: each firing's job through the API's own path (recorded,
    /// then published), then the firings themselves, for the history and the cooldowns.
    func submitFirings() {
        guard !engine.firings.isEmpty else { return }
        let firings = engine.takeFirings()
        for firing in firings {
            guard var request = engine.ruleBook.request(for: firing) else { continue }
            if let key = ruleSigningKey, let content = request.signingContent {
                var generator = SystemRandomNumberGenerator()
                request.signature = key.sign(content, expiresAt: Date().timeIntervalSince1970 + request.deadlineIn + 60, using: &generator)
            }
            do {
                _ = try submit(request)
                logger.notice("Rule fired", metadata: ["rule": "\(firing.rule)", "node": "\(firing.node)", "job.id": "\(request.id ?? "")"])
            } catch {
                logger.warning("A rule's job was refused", metadata: ["rule": "\(firing.rule)", "error": "\(error)"])
            }
        }
        do {
            try store.recordFirings(firings)
        } catch {
            logger.warning("Cannot record rule firings", metadata: ["firings": "\(firings.count)", "error": "\(error)"])
        }
    }

    /// What the engine wants sent, in order. A failed publish is logged; the resync rule
    /// asks again for anything that mattered.
    func publishOutbox() {
        guard !engine.outbox.isEmpty else { return }
        for publication in engine.takeOutbox() {
            do {
                try client.publish(publication.topic, publication.payload, qos: publication.qos)
            } catch {
                logger.warning("Cannot publish", metadata: ["topic": "\(publication.topic)", "error": "\(error)"])
            }
        }
    }

    /// Commits the batch in one transaction, then announces what it made true: nothing is
    /// announced that a crash could still take back.
    func flush() {
        guard let batch = engine.takePending() else { return }
        do {
            try store.commit(batch)
        } catch {
            // Kept for the next flush; nothing was announced. Logged loudly: it means disk trouble.
            engine.restore(batch)
            logger.error("Cannot commit a batch; will retry", metadata: [
                "batch.executions": "\(batch.executions.count)", "error": "\(error)"])
            return
        }
        uncheckpointed = true
        let (announcements, finished) = engine.committed(batch)
        unfolded += finished
        events.announce(announcements)
        // Rollout batches whose release this commit made durable.
        publishOutbox()
    }

    /// Moves finished jobs' executions from the log into their table, off the path of
    /// the reports (a tick after the commit that finished them).
    private func fold() {
        do {
            try store.fold(unfolded)
            unfolded = []
            uncheckpointed = true
        } catch {
            logger.warning("Cannot fold finished jobs into the execution table; will retry",
                           metadata: ["jobs": "\(unfolded.count)", "error": "\(error)"])
        }
    }

    /// Deletes finished jobs that `retention` no longer keeps.
    func prune(at time: Double) {
        retentionDue = time + 600
        do {
            let expired = retention.expired(try store.finishedJobSizes(), now: time)
            try store.deleteJobs(expired)
            if !expired.isEmpty {
                uncheckpointed = true
                logger.info("Pruned finished jobs", metadata: ["jobs": "\(expired.count)"])
            }
        } catch {
            logger.warning("Cannot prune finished jobs; will retry", metadata: ["error": "\(error)"])
        }
    }

    /// Deletes expired metrics. Not kept for idle times like job pruning: metrics never
    /// stop, and each call deletes a few minutes' worth at most.
    func pruneMetrics(_ cutoffs: (raw: Double, rollup: Double)) {
        do {
            if try store.pruneMetrics(rawBefore: cutoffs.raw, rollupBefore: cutoffs.rollup) > 0 { uncheckpointed = true }
        } catch {
            logger.warning("Cannot delete expired metrics; will retry", metadata: ["error": "\(error)"])
        }
    }

    /// Copies the write-ahead log back into the database while no job runs. Left to
    /// SQLite, the checkpoint (two fsyncs and every page the log holds) ran inside whichever
    /// commit crossed the threshold, often in the middle of a fan-in, holding up the loop.
    private func checkpoint() {
        do {
            try store.checkpoint()
            uncheckpointed = false
        } catch {
            logger.warning("Cannot checkpoint the write-ahead log; will retry", metadata: ["error": "\(error)"])
        }
    }
}
