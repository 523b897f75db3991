import Foundation
import Glibc
import ShoalClient
import ShoalCore
import ShoalTestSupport
import Testing

/// The dispatcher commits (and announces) changes in groups: a report that does not end
/// its job waits for the commit window, a job's last result is committed at once.
@Suite struct GroupCommitTests {
    @Test func aJobsEndIsAnnouncedAtOnceWhileOtherChangesWaitForTheWindow() async throws {
        try await withTemporaryDirectory("shoal-fifo") { fifos in
            let fifo = "\(fifos)/go"
            mkfifo(fifo, 0o666)
            try await withFleet(agents: ["g1": ["role": "g"]], dispatcherArguments: ["--commit-window", "1s"]) { fleet in
                let job = "group-\(UUID().uuidString.prefix(8))"
                try await fleet.client { client in
                    try await client.follow(job: job)
                    let submitted = ContinuousClock.now
                    _ = try await client.request(.submitJob, SubmitJobRequest(
                        id: job, selector: "role=g", task: .shell("cat \(fifo) > /dev/null; echo released"),
                        timeout: 60, deadlineIn: 600), as: JobDetail.self)
                    // `running` ends nothing: it waits for the 1 s window.
                    _ = try await withTimeout(.seconds(20), "running") {
                        try await awaitJob(client, job: job) { $0["g1"]?.state == .running }
                    }
                    let running = ContinuousClock.now - submitted
                    #expect(running >= .milliseconds(900), "announced after \(running), inside the 1 s window")

                    // The last result ends the job: committed and announced without waiting.
                    let released = ContinuousClock.now
                    let fd = open(fifo, O_WRONLY)
                    _ = write(fd, "go\n", 3)
                    close(fd)
                    let views = try await withTimeout(.seconds(20), "succeeded") {
                        try await awaitJob(client, job: job) { $0["g1"]?.state.isTerminal == true }
                    }
                    let finished = ContinuousClock.now - released
                    #expect(views["g1"]?.state == .succeeded)
                    #expect(views["g1"]?.stdout == "released\n")
                    #expect(finished < .milliseconds(800), "the job's end was announced after \(finished)")
                }
            }
        }
    }
}
