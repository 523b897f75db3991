// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Logging
import ShoalCore
import Spawn
import Synchronization

/// Runs claimed jobs: one child process each, killed as a whole process group on timeout
/// or cancel, with output reported in numbered chunks.
///
/// Thread-safe. `execute` runs inside the agent's task group; the running processes are
/// tracked only so that a cancel request can reach them.
final class JobExecutor: Sendable {
    private let configuration: AgentConfiguration
    private let ledger: ExecutionLedger
    private let reporter: Reporter
    private let logger: Logger
    private let operatorState: OperatorState
    private let signatures: SignatureGate
    private let running = Mutex(Running())

    private struct Running {
        var jobs: [String: RunningJob] = [:]
        /// Claimed jobs a cancel reached before their process started: they never start
        /// (or, started in the same instant, are killed at once).
        var canceledBeforeStart: Set<String> = []
    }

    private struct RunningJob {
        var process: ChildProcess
        var cgroup: ProcessCgroup?
        var canceled = false
    }

    init(configuration: AgentConfiguration, ledger: ExecutionLedger, reporter: Reporter, operatorState: OperatorState,
         signatures: SignatureGate,
         logger: Logger) {
        self.configuration = configuration
        self.signatures = signatures
        self.ledger = ledger
        self.reporter = reporter
        self.operatorState = operatorState
        self.logger = logger
    }

    var runningCount: Int { running.withLock { $0.jobs.count } }

    private var node: String { configuration.nodeID }
    private var topics: TopicTree { configuration.topics }

    private func now() -> Double { Date().timeIntervalSince1970 }

    /// Decides what to do with a delivered job and does it. Never throws: every outcome is
    /// reported (or, for a job not meant for this node, deliberately ignored).
    func handle(_ job: JobMessage, labels: [String: String]) async {
        let admission: JobAdmission
        do {
            // Claiming is the ledger's test-and-set: "already claimed" and "claimed now"
            // are one atomic step, so concurrent deliveries cannot both run. Where signatures
            // are checked, a job claimed before is a redelivery answered from the ledger, and
            // any other is authorized before it is claimed (JobAdmission).
            admission = try JobAdmission.decide(
                job, listed: job.nodes.contains(node), labels: labels, now: now(),
                skewAllowance: configuration.clockSkewAllowance, quarantined: operatorState.quarantined,
                claimedBefore: { signatures.isEnforcing && ledger.entry(job.id) != nil },
                authorize: { signatures.refusal(job.signature, of: job.signingContent, now: now(), repeatAllowed: true) },
                claim: { try ledger.claim(job.id, at: now()) })
        } catch {
            logger.error("Ledger write failed; refusing the job", metadata: ["job.id": "\(job.id)", "error": "\(error)"])
            await reporter.status(.init(job: job.id, node: node, seq: 1, state: .rejected,
                                        reason: "agent cannot write its ledger", at: now()), topics: topics)
            return
        }
        switch admission {
        case .notForThisNode:
            return
        case .duplicate:
            // Delivered again: a redelivery, or the dispatcher asking after a report it
            // never stored (ResyncRule). Repeat what the ledger recorded; never run it again.
            logger.debug("Job delivered again; already claimed", metadata: ["job.id": "\(job.id)"])
            await repeatRecordedOutcome(of: job.id)
        case .reject(let reason):
            await finish(job.id, seq: 1, state: .rejected, reason: reason)
        case .refuse(let reason):
            // Not recorded in the ledger: the id stays free for the genuine job.
            logger.warning("Refused a job", metadata: ["job.id": "\(job.id)", "reason": "\(reason)"])
            await reporter.status(.init(job: job.id, node: node, seq: 1, state: .rejected, reason: reason, at: now()),
                                  topics: topics)
        case .run:
            // No separate `accepted` report: the first report (`running`, or the terminal
            // state of a quick job) acknowledges the job (see ExecutionReporting).
            await run(job)
        }
    }

    private func run(_ job: JobMessage) async {
        let (chunks, chunkSink) = AsyncStream.makeStream(of: (OutputChannel, [UInt8]).self)
        // Two streams that end when the process does: one consumer each.
        let (exit, exitSink) = AsyncStream.makeStream(of: Void.self)
        let (exited, exitedSink) = AsyncStream.makeStream(of: Void.self)
        if running.withLock({ $0.canceledBeforeStart.remove(job.id) != nil }) {
            await finish(job.id, seq: ExecutionReporting.terminalSeq, state: .canceled, reason: Self.canceledBeforeStart)
            return
        }
        let process: ChildProcess
        let startedAt = now()
        // The whole tree in one cgroup, so a `setsid` child cannot outlive the job.
        let cgroup = Self.cgroupsWanted ? ProcessCgroup.create(name: "shoal-\(getpid())-\(job.id)") : nil
        do {
            process = try ChildProcess.spawn(
                .init(arguments: job.task.argv, environment: ["SHOAL_JOB_ID": job.id, "SHOAL_NODE_ID": node],
                      cgroup: cgroup),
                onOutput: { stream, bytes in chunkSink.yield((stream == .stdout ? .stdout : .stderr, bytes)) },
                onExit: { _ in
                    chunkSink.finish()
                    exitSink.finish()
                    exitedSink.finish()
                })
        } catch {
            await Self.remove(cgroup)
            await finish(job.id, seq: ExecutionReporting.terminalSeq, state: .failed, reason: "\(error)", exitCode: 127)
            return
        }
        let canceledMeanwhile = running.withLock { running in
            let canceled = running.canceledBeforeStart.remove(job.id) != nil
            running.jobs[job.id] = RunningJob(process: process, cgroup: cgroup, canceled: canceled)
            return canceled
        }
        if canceledMeanwhile { _ = process.killIfRunning(cgroup: cgroup) }
        try? ledger.update(.init(job: job.id, state: .running, processGroup: process.pid,
                                 processStart: ProcessStartTime.of(process.pid), claimedAt: startedAt))

        // The time limit races the process itself, never the reporting of its output: a
        // process that ended in time is reported with its own exit status however long the
        // broker takes to take its output (a stalled or partitioned node).
        let timeout = Duration.milliseconds(Int64((job.timeout * 1000).rounded(.up)))
        async let limit: Bool = withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in exited {}
                return false
            }
            group.addTask {
                guard (try? await Task.sleep(for: timeout)) != nil else { return false }
                return process.killIfRunning(cgroup: cgroup)
            }
            let killed = await group.next() ?? false
            group.cancelAll()
            return killed
        }

        var chunkCount: UInt32 = 0
        var inline: (stdout: String, stderr: String)?
        if await Self.ends(exit, within: ExecutionReporting.quickWindow) {
            // Quick: the output is complete (the stream ends after the last byte).
            var stdout: [UInt8] = [], stderr: [UInt8] = []
            var collected: [(OutputChannel, [UInt8])] = []
            for await (stream, bytes) in chunks {
                if stream == .stdout { stdout += bytes } else { stderr += bytes }
                collected.append((stream, bytes))
            }
            if ExecutionReporting.fitsInline(stdout: stdout.count, stderr: stderr.count) {
                inline = (String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
            } else {
                await reportRunning(job.id, startedAt: startedAt)
                chunkCount = await forward(AsyncStream { sink in
                    collected.forEach { sink.yield($0) }
                    sink.finish()
                }, of: job.id)
            }
        } else {
            await reportRunning(job.id, startedAt: startedAt)
            chunkCount = await forward(chunks, of: job.id)
        }
        let timedOut = await limit
        let termination = await process.wait()
        let canceled = running.withLock { $0.jobs.removeValue(forKey: job.id)?.canceled ?? false }
        let signal: Int32? = if case .signaled(let signal) = termination { signal } else { nil }
        var (state, reason) = ExecutionReporting.outcome(
            exitCode: termination.exitCode, signal: signal, timedOut: timedOut, canceled: canceled, timeout: job.timeout)
        if cgroup == nil && (timedOut || canceled) {
            reason = (reason ?? "") + "; no cgroup could be made here, so processes that left the job's process group (setsid) were not killed"
        }
        await finish(job.id, seq: ExecutionReporting.terminalSeq, state: state, reason: reason,
                     exitCode: termination.exitCode, startedAt: startedAt, chunks: chunkCount, inline: inline)
        // After the report: what the job left is already killed (the reaper did it at exit).
        await Self.remove(cgroup)
    }

    /// `SHOAL_JOB_CGROUPS=off` in the agent's environment: jobs run in their process group
    /// only (`setsid` children then outlive it). For machines where the agent may not make
    /// cgroups, and to measure what they cost (bench/README.md).
    private static let cgroupsWanted = ProcessInfo.processInfo.environment["SHOAL_JOB_CGROUPS"] != "off"

    /// Removes a job's cgroup once its killed members are gone (they linger a moment).
    private static func remove(_ cgroup: ProcessCgroup?) async {
        guard let cgroup else { return }
        for _ in 0..<100 {
            if cgroup.remove() { return }
            cgroup.killAll()
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    private func reportRunning(_ job: String, startedAt: Double) async {
        await reporter.status(ExecutionReporting.running(job: job, node: node, startedAt: startedAt, at: now()), topics: topics)
    }

    /// Whether `exit` (a stream finished when the process exits) ends within `window`.
    private static func ends(_ exit: AsyncStream<Void>, within window: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in exit {}
                // A cancelled wait also leaves the loop: only a real end counts.
                return !Task.isCancelled
            }
            group.addTask {
                try? await Task.sleep(for: window)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Publishes output chunks in order, up to the configured limit.
    private func forward(_ chunks: AsyncStream<(OutputChannel, [UInt8])>, of job: String) async -> UInt32 {
        var sequence: UInt32 = 0
        var total = 0
        var truncated = false
        for await (stream, bytes) in chunks {
            guard total < configuration.outputLimit else {
                if !truncated {
                    truncated = true
                    sequence += 1
                    let note = OutputChunkMessage(job: job, node: node, seq: sequence, stream: .stderr,
                                                  data: "\n[shoal: output truncated at \(configuration.outputLimit) bytes]\n")
                    await reporter.send(topics.execOutput(node: node, job: job), Wire.encode(note))
                }
                continue
            }
            total += bytes.count
            sequence += 1
            let chunk = OutputChunkMessage(job: job, node: node, seq: sequence, stream: stream,
                                           data: String(decoding: bytes, as: UTF8.self))
            await reporter.send(topics.execOutput(node: node, job: job), Wire.encode(chunk))
        }
        return sequence
    }

    /// Re-sends a claimed job's terminal report from the ledger (its output, if it was
    /// lost too, is not kept here); a job still running reports nothing new.
    private func repeatRecordedOutcome(of job: String) async {
        guard let entry = ledger.entry(job), entry.state.isTerminal else { return }
        await reporter.status(.init(job: job, node: node, seq: ExecutionReporting.terminalSeq, state: entry.state,
                                    exitCode: entry.exitCode, reason: entry.reason, at: entry.finishedAt ?? now(),
                                    startedAt: entry.startedAt), topics: topics)
    }

    /// Records a terminal state in the ledger, then reports it.
    func finish(_ job: String, seq: UInt32, state: ExecutionState, reason: String?, exitCode: Int32? = nil,
                startedAt: Double? = nil, chunks: UInt32? = nil, inline: (stdout: String, stderr: String)? = nil) async {
        let claimedAt = ledger.entry(job)?.claimedAt ?? now()
        var entry = ExecutionLedger.Entry(job: job, state: state, exitCode: exitCode, claimedAt: claimedAt)
        entry.reason = reason
        entry.startedAt = startedAt
        entry.finishedAt = now()
        try? ledger.update(entry)
        await reporter.status(.init(job: job, node: node, seq: seq, state: state, exitCode: exitCode, reason: reason,
                                    at: now(), startedAt: startedAt, chunks: chunks,
                                    stdout: inline?.stdout, stderr: inline?.stderr), topics: topics)
    }

    /// An operator's cancel (`ctl`): a running job's whole cgroup is killed and it reports
    /// `canceled`; a job not yet delivered is claimed as `canceled`, so that it is never
    /// run when it arrives (from the broker's queue, or kept from a previous stop); a job
    /// that already ended repeats its outcome (the dispatcher asks until it hears one).
    ///
    /// The agent calls `stopOrHold` first, in delivery order, then this: a job delivered
    /// just before its cancel (both waiting in the node's session while it was offline)
    /// finds the hold before its process starts.
    func cancel(_ job: String) async {
        if running.withLock({ $0.jobs[job] != nil }) { return }
        do {
            if try ledger.claim(job, at: now()) {
                running.withLock { _ = $0.canceledBeforeStart.remove(job) }
                logger.info("Job canceled before it arrived; it will not run", metadata: ["job.id": "\(job)"])
                await finish(job, seq: ExecutionReporting.terminalSeq, state: .canceled, reason: Self.canceledBeforeStart)
                return
            }
        } catch {
            logger.error("Cannot record a cancel in the ledger", metadata: ["job.id": "\(job)", "error": "\(error)"])
        }
        if ledger.entry(job)?.state.isTerminal == true {
            running.withLock { _ = $0.canceledBeforeStart.remove(job) }
            await repeatRecordedOutcome(of: job)
        }
        // Otherwise claimed and not started yet: `run` finds the hold before (or as) it spawns.
    }

    /// The synchronous half of a cancel: kills the job's cgroup if it runs, else holds the
    /// job id so that `run` never starts it.
    func stopOrHold(_ job: String) {
        let target = running.withLock { running -> RunningJob? in
            guard running.jobs[job] != nil else {
                running.canceledBeforeStart.insert(job)
                return nil
            }
            running.jobs[job]?.canceled = true
            return running.jobs[job]
        }
        _ = target?.process.killIfRunning(cgroup: target?.cgroup)
    }

    static let canceledBeforeStart = "canceled by an operator before it started; not run"

    /// Jobs a previous run of this agent claimed but never finished (it was killed). Called
    /// before the agent subscribes, so a job delivered now can never be mistaken for one of
    /// them. Their leftover process groups are killed here (after checking the start time,
    /// so a recycled pid is left alone); they are not run again.
    func takeInterruptedJobs() -> [ExecutionLedger.Entry] {
        // Whole trees of jobs whose agent was killed: their cgroups name that agent's pid.
        ProcessCgroup.removeOrphans(prefix: "shoal-")
        let interrupted = ledger.unfinished()
        for entry in interrupted {
            if let group = entry.processGroup, let start = entry.processStart, ProcessStartTime.of(group) == start {
                _ = Glibc.kill(-group, SIGKILL)
            }
        }
        return interrupted
    }

    /// Reports the jobs `takeInterruptedJobs` found as `failed`.
    func reportInterrupted(_ entries: [ExecutionLedger.Entry]) async {
        for entry in entries {
            logger.info("Job interrupted by an agent restart; not run again", metadata: ["job.id": "\(entry.job)"])
            await finish(entry.job, seq: ExecutionReporting.terminalSeq, state: .failed,
                         reason: "agent restarted while the job was \(entry.state.rawValue); not run again")
        }
    }
}

/// A process's start time in clock ticks since boot (field 22 of /proc/PID/stat).
enum ProcessStartTime {
    static func of(_ pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // Fields after the command name start at field 3, so field 22 is index 19.
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}
