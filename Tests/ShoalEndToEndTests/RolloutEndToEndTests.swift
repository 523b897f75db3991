import Foundation
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance (issue 12, lines 1-3): rollouts with real mosquitto, a real dispatcher and
/// real agents. Each node appends its id to a file when it runs the command, so "ran" and
/// "ran once" are read from what the nodes did, not from what the dispatcher says.
@Suite struct RolloutEndToEndTests {
    static func fleet(_ count: Int) -> [String: [String: String]] {
        Dictionary(uniqueKeysWithValues: (1...count).map { ("n" + ($0 < 10 ? "0" : "") + String($0), ["role": "r"]) })
    }

    /// The nodes that ran the command, one line each time one did.
    static func runs(_ marks: String) -> [String] {
        ((try? String(contentsOfFile: marks + "/runs", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Line 1: `--batch 3 --max-failures 1`, the command failing on the second batch's nodes
    /// (n04-n06: batches take nodes in id order): the second failure aborts; n07-n10 never
    /// run and end `skipped`; the job is aborted and `jobs show` says why.
    @Test func theRolloutAbortsAtTheThresholdAndSkipsTheRest() async throws {
        try await withTemporaryDirectory("shoal-rollout-marks") { marks in
            try await withFleet(agents: Self.fleet(10)) { fleet in
                let job = "abort-\(UUID().uuidString.prefix(8))"
                let script = #"echo "$SHOAL_NODE_ID" >> \#(marks)/runs; case "$SHOAL_NODE_ID" in n04|n05|n06) echo broken >&2; exit 3;; esac; echo ok"#
                let run = try await fleet.shoal("run", "-s", "role=r", "--id", job, "--batch", "3", "--max-failures", "1",
                                                "--shell", script)
                #expect(run.exitCode == 1, "\(run.stdout)\n\(run.stderr)")
                let reason = "rollout aborted: 2 node(s) failed, more than the 1 allowed"
                let why = "2 node(s) failed, more than the 1 allowed"
                #expect(run.stdout.contains("job aborted: " + why), "\(run.stdout)")

                let shown = try await fleet.shoal("jobs", "show", job)
                #expect(shown.stdout.contains("aborted (" + why + "): 3 succeeded, 3 failed, 4 skipped"), "\(shown.stdout)")
                #expect(shown.stdout.contains("rollout: 2 of 4 batches released before it aborted"), "\(shown.stdout)")
                let detail = try decodeJSON(JobDetail.self, try await fleet.shoal("jobs", "show", job, "-o", "json").stdout)
                let states = Dictionary(uniqueKeysWithValues: detail.executions.map { ($0.node, $0.state) })
                for node in ["n01", "n02", "n03"] { #expect(states[node] == .succeeded, "\(node)") }
                for node in ["n04", "n05", "n06"] { #expect(states[node] == .failed, "\(node): running ones finish") }
                for node in ["n07", "n08", "n09", "n10"] { #expect(states[node] == .skipped, "\(node)") }
                #expect(detail.job.isFinished && detail.job.abortReason == reason)
                #expect(detail.job.rollout?.batchSizes == [3, 3, 3, 1] && detail.job.rollout?.released == 2)
                #expect(Self.runs(marks).sorted() == ["n01", "n02", "n03", "n04", "n05", "n06"])
            }
        }
    }

    /// Line 2: `--canary 1 --wait 2s --batch 50%`: the dry run prints the plan and runs
    /// nothing; the real run's recorded start times show the canary, the wait, the batches.
    @Test func canaryWaitAndBatchesShowInTheStartTimesAndTheDryRunPrintedThemFirst() async throws {
        try await withTemporaryDirectory("shoal-rollout-marks") { marks in
            try await withFleet(agents: Self.fleet(5)) { fleet in
                let script = #"echo "$SHOAL_NODE_ID" >> \#(marks)/runs; sleep 0.3"#
                // Flags: each extreme is a usage error (64) naming its flag, before anything is sent.
                let extremes: [(String, String)] = [
                    ("--batch", "1e300"), ("--batch", "-1"), ("--batch", "9223372036854775808"), ("--batch", ""),
                    ("--batch", "0%"), ("--batch", "101%"), ("--batch", "0"), ("--canary", "-1"), ("--canary", "1e300"),
                    ("--canary", "9223372036854775808"), ("--canary", ""), ("--wait", "1e300s"), ("--wait", "-1"),
                    ("--wait", ""), ("--max-failures", "101%"), ("--max-failures", "-1"), ("--max-failures", "1e300"),
                    ("--max-failures", "9223372036854775808"), ("--max-failures", ""), ("--health", ""),
                ]
                for (flag, value) in extremes {
                    let refused = try await fleet.shoal("run", "-s", "role=r", flag, value, "--dry-run", "--", "true")
                    #expect(refused.exitCode == 64 && refused.stderr.contains(flag), "\(flag) '\(value)': \(refused.exitCode) \(refused.stderr)")
                }
                let options = ["-s", "role=r", "--canary", "1", "--wait", "2s", "--batch", "50%", "--shell", script]
                let dry = try await fleet.shoal(["run", "--dry-run", "-o", "json"] + options)
                #expect(dry.exitCode == 0, "\(dry.stderr)")
                let plan = try decodeJSON(JobPlanView.self, dry.stdout)
                #expect(plan.batches == [["n01"], ["n02", "n03", "n04"], ["n05"]])
                let table = try await fleet.shoal(["run", "--dry-run"] + options)
                #expect(table.stdout.contains("canary (1): n01") && table.stdout.contains("batch 1 (3): n02,n03,n04")
                        && table.stdout.contains("batch 2 (1): n05") && table.stdout.contains("nothing was run or stored"), "\(table.stdout)")
                let listed = try decodeJSON([JobView].self, try await fleet.shoal("jobs", "list", "-o", "json").stdout)
                #expect(listed.isEmpty, "a dry run stored a job")
                #expect(Self.runs(marks).isEmpty, "a dry run ran something")

                let job = "waves-\(UUID().uuidString.prefix(8))"
                let run = try await fleet.shoal(["run", "--id", job] + options)
                #expect(run.exitCode == 0, "\(run.stdout)\n\(run.stderr)")
                let detail = try decodeJSON(JobDetail.self, try await fleet.shoal("jobs", "show", job, "-o", "json").stdout)
                let byNode = Dictionary(uniqueKeysWithValues: detail.executions.map { ($0.node, $0) })
                func started(_ nodes: [String]) throws -> [Double] { try nodes.map { try #require(byNode[$0]?.startedAt) } }
                func finished(_ nodes: [String]) throws -> [Double] { try nodes.map { try #require(byNode[$0]?.finishedAt) } }
                // Each batch starts once the previous one has ended and 2 s have passed (one
                // host, one clock); and not long after, or the batches were not what ran them.
                for (previous, next) in zip(plan.batches, plan.batches.dropFirst()) {
                    let ended = try finished(previous).max()!
                    let starts = try started(next)
                    #expect(starts.min()! >= ended + 2, "\(next) started \(starts.min()! - ended) s after \(previous) ended")
                    #expect(starts.max()! < ended + 2 + 5, "\(next) started \(starts.max()! - ended) s after \(previous) ended")
                }
                #expect(Self.runs(marks).sorted() == ["n01", "n02", "n03", "n04", "n05"])
            }
        }
    }

    /// `--health`: run on each node after the command; the node fails when it fails, and
    /// the check's output is kept with the command's.
    @Test func aFailingHealthCheckFailsItsNodeAndItsOutputIsKept() async throws {
        try await withFleet(agents: Self.fleet(2)) { fleet in
            let job = "health-\(UUID().uuidString.prefix(8))"
            let run = try await fleet.shoal("run", "-s", "role=r", "--id", job, "--batch", "1", "--max-failures", "1",
                                            "--health", #"echo "checked $SHOAL_NODE_ID"; test "$SHOAL_NODE_ID" != n02"#,
                                            "--", "echo", "changed")
            #expect(run.exitCode == 1, "\(run.stdout)\n\(run.stderr)")
            let detail = try decodeJSON(JobDetail.self, try await fleet.shoal("jobs", "show", job, "-o", "json").stdout)
            let byNode = Dictionary(uniqueKeysWithValues: detail.executions.map { ($0.node, $0) })
            #expect(byNode["n01"]?.state == .succeeded && byNode["n01"]?.stdout == "changed\nchecked n01\n")
            #expect(byNode["n02"]?.state == .failed && byNode["n02"]?.exitCode == 1)
            #expect(byNode["n02"]?.stdout == "changed\nchecked n02\n")
            #expect(byNode["n02"]?.stderr == "shoal: health check failed (exit 1)\n")
            #expect(detail.job.abortReason == nil, "one failure is allowed")
        }
    }

    /// `shoal jobs pause|resume`: audited with the actor; a cancel ends the nodes the
    /// rollout has not reached, which never run it.
    @Test func pauseAndResumeFromTheCommandLineAreAuditedAndACancelEndsTheRest() async throws {
        try await withTemporaryDirectory("shoal-rollout-marks") { marks in
            try await withFleet(agents: Self.fleet(3)) { fleet in
                let job = "pause-\(UUID().uuidString.prefix(8))"
                let script = #"echo "$SHOAL_NODE_ID" >> \#(marks)/runs"#
                _ = try await Self.submit(job, task: .shell(script), rollout: RolloutPlan(batch: .count(1), wait: 3600),
                                          awaiting: ["n01"], fleet)
                let paused = try await fleet.shoal("jobs", "pause", job)
                #expect(paused.exitCode == 0 && paused.stdout.contains("1 of 3 batches released") && paused.stdout.contains("paused"),
                        "\(paused.stdout)\(paused.stderr)")
                let resumed = try decodeJSON(JobView.self, try await fleet.shoal("jobs", "resume", job, "-o", "json").stdout)
                #expect(resumed.rollout?.paused == false && resumed.rollout?.released == 1, "the hour's wait still runs")
                let notRollout = try await fleet.shoal("jobs", "pause", "no-such-job")
                #expect(notRollout.exitCode != 0 && notRollout.stderr.contains("no job with id 'no-such-job'"), "\(notRollout.stderr)")

                let audit = try decodeJSON([AuditEntry].self, try await fleet.shoal("audit", "-o", "json").stdout)
                let actions = audit.filter { $0.target == job }.map(\.action)
                #expect(actions == ["submit", "pause", "resume"])
                #expect(audit.filter { $0.target == job && $0.action != "submit" }.allSatisfy { $0.actor?.isEmpty == false })

                let canceled = try await fleet.shoal("jobs", "cancel", job, "-o", "json")
                #expect(canceled.exitCode == 0, "\(canceled.stderr)")
                let detail = try await Self.finished(job, expecting: -1, fleet)
                #expect(detail.job.isFinished)
                #expect(detail.executions.map(\.state) == [.succeeded, .canceled, .canceled])
                #expect(Self.runs(marks) == ["n01"], "a node the rollout had not reached ran it")
            }
        }
    }

    /// A signed rollout with a health check on agents that run only signed jobs: every
    /// batch's per-node publication carries the signature the CLI made over the task with
    /// its check, so every node runs it; the API refuses `health` beside a signature.
    @Test func aSignedRolloutWithAHealthCheckRunsOnNodesThatRunOnlySignedJobs() async throws {
        try await withFleet(agents: [:]) { fleet in
            let created = try await fleet.shoal("keys", "create")
            #expect(created.exitCode == 0, "\(created.stderr)")
            let nodes = ["s1", "s2", "s3"]
            for node in nodes {
                try fleet.startAgent(node, labels: ["role": "signed"], arguments: ["--trusted-keys", fleet.home + "/keys/default.pub"])
            }
            try await fleet.waitOnline(Set(nodes))
            let job = "signed-\(UUID().uuidString.prefix(8))"
            let run = try await fleet.shoal("run", "-s", "role=signed", "--id", job, "--batch", "1", "--health",
                                            #"echo "healthy $SHOAL_NODE_ID""#, "--", "echo", "changed")
            #expect(run.exitCode == 0, "\(run.stdout)\n\(run.stderr)")
            let detail = try decodeJSON(JobDetail.self, try await fleet.shoal("jobs", "show", job, "-o", "json").stdout)
            #expect(detail.job.signer != nil && detail.job.rollout?.released == 3)
            for execution in detail.executions {
                #expect(execution.state == .succeeded && execution.stdout == "changed\nhealthy \(execution.node)\n",
                        "\(execution.node): \(execution.state) \(execution.reason ?? "")")
            }

            let key = try OperatorPrivateKey(fileContents: try String(contentsOfFile: fleet.home + "/keys/default.key", encoding: .utf8))
            var request = SubmitJobRequest(id: job + "-2", selector: "role=signed", task: .exec(["true"]), health: "true")
            var generator = SystemRandomNumberGenerator()
            request.signature = key.sign(try #require(request.signingContent), expiresAt: Date().timeIntervalSince1970 + 600,
                                         using: &generator)
            let signed = request
            let refusal = try await fleet.client { client in
                do {
                    _ = try await client.request(.submitJob, signed, as: JobDetail.self)
                    return "accepted"
                } catch {
                    return "\(error)"
                }
            }
            #expect(refusal.contains("health: a signed job's health check must be part of the task it signs"), "\(refusal)")
        }
    }

    /// Submits a rollout on the role=r nodes and waits until `nodes` have succeeded.
    static func submit(_ job: String, task: JobTask, rollout: RolloutPlan, awaiting nodes: [String],
                       _ fleet: Fleet) async throws -> JobDetail {
        try await fleet.client { client in
            try await client.follow(job: job)
            let submitted = try await client.request(.submitJob, SubmitJobRequest(
                id: job, selector: "role=r", task: task, rollout: rollout), as: JobDetail.self)
            _ = try await withTimeout(.seconds(20), "the first batch") {
                try await awaitJob(client, job: job) { views in nodes.allSatisfy { views[$0]?.state == .succeeded } }
            }
            return submitted
        }
    }

    /// The job once finished: as stored, or after `remaining` more executions end (-1: as it is now).
    static func finished(_ job: String, expecting remaining: Int, _ fleet: Fleet) async throws -> JobDetail {
        try await fleet.client { client in
            try await client.follow(job: job)
            let detail = try await client.request(.getJob, GetJobRequest(id: job), as: JobDetail.self)
            if detail.job.isFinished || remaining < 0 { return detail }
            _ = try await withTimeout(.seconds(30), "the rollout to finish") {
                try await awaitJob(client, job: job) { $0.count == remaining && $0.values.allSatisfy(\.state.isTerminal) }
            }
            return try await client.request(.getJob, GetJobRequest(id: job), as: JobDetail.self)
        }
    }

    /// Line 3: the dispatcher killed with SIGKILL during the wait between batches, then
    /// restarted: the rollout goes on with the next batch, and no node runs twice.
    @Test func aDispatcherKilledBetweenBatchesGoesOnWhereItWas() async throws {
        try await withTemporaryDirectory("shoal-rollout-marks") { marks in
            try await withFleet(agents: Self.fleet(4)) { fleet in
                let job = "kill-\(UUID().uuidString.prefix(8))"
                let first = ["n01", "n02"]
                let submitted = try await Self.submit(job, task: .shell(#"echo "$SHOAL_NODE_ID" >> \#(marks)/runs"#),
                                                      rollout: RolloutPlan(batch: .count(2), wait: 6), awaiting: first, fleet)
                #expect(submitted.job.rollout?.released == 1)
                let between = try await Self.finished(job, expecting: -1, fleet)
                #expect(between.job.rollout?.released == 1, "the second batch went out before the wait")
                await fleet.dispatcher.crash()
                try fleet.restartDispatcher()
                try await fleet.waitForDispatcher()
                let detail = try await Self.finished(job, expecting: 2, fleet)
                #expect(detail.executions.allSatisfy { $0.state == .succeeded }, "\(detail.executions.map { ($0.node, $0.state) })")
                #expect(detail.job.rollout?.released == 2)
                let firstEnded = detail.executions.filter { first.contains($0.node) }.compactMap(\.finishedAt).max() ?? 0
                let secondStarted = detail.executions.filter { !first.contains($0.node) }.compactMap(\.startedAt).min() ?? 0
                #expect(secondStarted >= firstEnded + 6, "the wait was cut short across the restart")
                #expect(Self.runs(marks).sorted() == ["n01", "n02", "n03", "n04"], "a node ran twice, or never")
            }
        }
    }
}
