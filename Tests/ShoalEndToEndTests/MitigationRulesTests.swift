import Foundation
import Mosquitto
import ShoalCore
import ShoalTestSupport
import Testing

/// Acceptance (issue 11, automated mitigation): a rule on job failure and a rule on node
/// offline fire once per cooldown for the node where they hold and on no other node, their
/// jobs run where they should, and every firing is in `shoal rules history`.
@Suite struct MitigationRulesTests {
    private static func history(_ fleet: Fleet, rule: String) async throws -> [RuleFiring] {
        let result = try await fleet.shoal("rules", "history", "--rule", rule, "-o", "json")
        #expect(result.exitCode == 0, "\(result.stderr)")
        return try decodeJSON([RuleFiring].self, result.stdout)
    }

    /// Polls the history (an API read) until it holds `count` firings.
    private static func awaitHistory(_ fleet: Fleet, rule: String, count: Int) async throws -> [RuleFiring] {
        try await withTimeout(.seconds(30), "\(count) firings of \(rule)") {
            while true {
                let firings = try await history(fleet, rule: rule)
                if firings.count >= count { return firings }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    private static func job(_ fleet: Fleet, _ id: String) async throws -> JobDetail {
        try await withTimeout(.seconds(30), "job \(id) to finish") {
            while true {
                let shown = try await fleet.shoal("jobs", "show", id, "-o", "json")
                if shown.exitCode == 0, let detail = try? decodeJSON(JobDetail.self, shown.stdout),
                   detail.job.finishedAt != nil { return detail }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Nodes that run only signed jobs run a rule's job when the dispatcher signs it with
    /// its `--rule-signing-key` (which they trust); unsigned, they would refuse it.
    @Test func aSigningDispatcherRunsRuleJobsOnNodesThatRunOnlySignedJobs() async throws {
        try await withTemporaryDirectory("shoal-rule-key") { keys in
            let key = OperatorPrivateKey()
            try key.fileContents.write(toFile: keys + "/rules.key", atomically: true, encoding: .utf8)
            try (key.publicKey.line + "\n").write(toFile: keys + "/rules.pub", atomically: true, encoding: .utf8)
            try await withFleet(agents: [:], dispatcherArguments: ["--rule-signing-key", keys + "/rules.key"]) { fleet in
                _ = try fleet.startAgent("signed-1", labels: ["role": "signed"], arguments: ["--trusted-keys", keys + "/rules.pub"])
                try await fleet.waitOnline(["signed-1"])
                let added = try await fleet.shoal("rules", "add", "heal", "--on", "job-failed", "-s", "role=signed",
                                                  "--shell", "echo healed $SHOAL_NODE_ID")
                #expect(added.exitCode == 0, "\(added.stderr)")
                var request = SubmitJobRequest(id: "signed-fails", selector: "role=signed", task: .exec(["false"]))
                var generator = SystemRandomNumberGenerator()
                request.signature = key.sign(try #require(request.signingContent), expiresAt: Date().timeIntervalSince1970 + 600,
                                             using: &generator)
                let signed = request
                try await fleet.client { client in _ = try await client.request(.submitJob, signed, as: JobDetail.self) }
                let firing = try #require(try await Self.awaitHistory(fleet, rule: "heal", count: 1).first)
                let job = try #require(firing.job)
                try await fleet.client { client in
                    try await client.follow(job: job)
                    let detail = try await client.request(.getJob, GetJobRequest(id: job), as: JobDetail.self)
                    #expect(detail.job.signer == key.id)
                    if detail.executions.first?.state.isTerminal != true {
                        _ = try await withTimeout(.seconds(20), "rule job ends") {
                            try await awaitJob(client, job: job) { $0["signed-1"]?.state.isTerminal == true }
                        }
                    }
                }
                let detail = try await Self.job(fleet, job)
                #expect(detail.executions.first?.state == .succeeded, "\(detail.executions)")
                #expect(detail.executions.first?.stdout == "healed signed-1\n")
            }
        }
    }

    @Test func rulesFireOncePerCooldownWhereTheyHold() async throws {
        let agents = ["web-1": ["role": "web"], "web-2": ["role": "web"], "db-1": ["role": "db"]]
        try await withFleet(agents: agents) { fleet in
            let added = try await fleet.shoal("rules", "add", "heal", "--on", "job-failed", "-s", "role=web",
                                              "--cooldown", "1h", "--max-concurrent", "5",
                                              "--shell", "echo healed $SHOAL_NODE_ID")
            #expect(added.exitCode == 0, "\(added.stderr)")

            let failing = try await fleet.shoal("run", "--all", "--", "false")
            #expect(failing.exitCode == 1)
            let firings = try await Self.awaitHistory(fleet, rule: "heal", count: 2)
            #expect(Set(firings.map(\.node)) == ["web-1", "web-2"])
            #expect(firings.allSatisfy { $0.outcome == .submitted && $0.cause.contains("ended failed") })
            for firing in firings {
                let detail = try await Self.job(fleet, try #require(firing.job))
                #expect(detail.executions.map(\.node) == [firing.node])
                #expect(detail.executions.first?.state == .succeeded)
                #expect(detail.executions.first?.stdout == "healed \(firing.node)\n")
            }

            // Within the cooldown: the same failure fires nothing (decided with the report,
            // before `run` could see the job end).
            _ = try await fleet.shoal("run", "--all", "--", "false")
            #expect(try await Self.history(fleet, rule: "heal").count == 2)

            // A node going offline runs a job on the others.
            let offline = try await fleet.shoal("rules", "add", "gone", "--on", "node-offline", "-s", "role=db",
                                                "--target", "role=web", "--", "sh", "-c", "echo $SHOAL_NODE_ID saw it")
            #expect(offline.exitCode == 0, "\(offline.stderr)")
            await fleet.agents["db-1"]?.stop()
            try await fleet.waitOffline(["db-1"])
            let gone = try #require(try await Self.awaitHistory(fleet, rule: "gone", count: 1).first)
            #expect(gone.node == "db-1" && gone.cause == "db-1 went offline (its death message)")
            let detail = try await Self.job(fleet, try #require(gone.job))
            #expect(Set(detail.executions.map(\.node)) == ["web-1", "web-2"])
            #expect(detail.executions.allSatisfy { $0.state == .succeeded && $0.stdout == "\($0.node) saw it\n" })

            let listed = try await fleet.shoal("rules", "list", "-o", "json")
            #expect(try decodeJSON([MitigationRule].self, listed.stdout).map(\.name) == ["gone", "heal"])
            let removed = try await fleet.shoal("rules", "remove", "heal")
            #expect(removed.exitCode == 0 && removed.stdout == "removed rule heal\n")
            #expect(try await Self.history(fleet, rule: "heal").count == 2)

            // Rule changes are operators' actions: each is in the audit record, with who.
            let audit = try decodeJSON([AuditEntry].self, try await fleet.shoal("audit", "-o", "json").stdout)
            let changes = audit.filter { $0.action.hasPrefix("rule-") }.map { "\($0.action) \($0.target)" }
            #expect(changes == ["rule-add heal", "rule-add gone", "rule-remove heal"])
            #expect(audit.filter { $0.action.hasPrefix("rule-") }.allSatisfy { $0.actor?.isEmpty == false })
        }
    }

    @Test func aRuleFileIsCheckedWhereItEntersNamingTheRuleAndField() async throws {
        try await withTemporaryDirectory("shoal-rules") { directory in
            let nowhere = BrokerAddress(host: "127.0.0.1", port: 1)
            let bad = directory + "/rules.yaml"
            try """
                rules:
                  - name: fine
                    on: node-offline
                    run: echo ok
                  - name: eager
                    on: job-failed
                    run: echo again
                    cooldown: 1e300s
                """.write(toFile: bad, atomically: true, encoding: .utf8)
            let refused = try await ShoalBinary.run(["rules", "add", "--file", bad], broker: nowhere, home: directory)
            #expect(refused.exitCode == 65)
            #expect(refused.stderr.contains("rule 2 ('eager'): cooldown: '1e300s' is not a duration"), "\(refused.stderr)")
            for hostile in ["--cooldown=-1s", "--cooldown=31d", "--timeout=1e300s", "--max-concurrent=0", "--max-concurrent=9223372036854775808"] {
                let result = try await ShoalBinary.run(["rules", "add", "x", "--on", "job-failed", hostile, "--", "true"],
                                                       broker: nowhere, home: directory)
                #expect(result.exitCode == 64, "\(hostile): \(result.stderr)")
            }
        }
    }
}
