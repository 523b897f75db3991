// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Spawn

/// The action that isolates a quarantined node (and the one that releases it): a shell
/// script run by the agent, as the agent's user, with `SHOAL_BROKER_HOST`,
/// `SHOAL_BROKER_PORT` and `SHOAL_NODE_ID` in its environment. The built-in ones use
/// nftables: every packet in or out is dropped except loopback and the broker's TCP
/// connection, so the node keeps reporting and taking incident jobs and reaches nothing
/// else. `--isolate-command` / `--release-command` replace them (another firewall, a
/// switch port, a cloud security group).
public struct IsolationAction: Sendable, Equatable {
    public var script: String

    public init(script: String) {
        self.script = script
    }

    /// One nftables table of our own, replaced as a whole (so running it twice is the same
    /// as once) and deleted on release; other rules of the machine are left alone.
    public static let defaultIsolate = IsolationAction(script: """
        set -e
        command -v nft >/dev/null 2>&1 || { echo "nft not found: install nftables, or give the agent --isolate-command" >&2; exit 127; }
        case "$SHOAL_BROKER_HOST" in *:*) family=ip6 ;; *) family=ip ;; esac
        nft -f - <<EOF
        table inet shoal_quarantine
        delete table inet shoal_quarantine
        table inet shoal_quarantine {
          chain output {
            type filter hook output priority 0; policy drop;
            oif lo accept
            $family daddr $SHOAL_BROKER_HOST tcp dport $SHOAL_BROKER_PORT accept
          }
          chain input {
            type filter hook input priority 0; policy drop;
            iif lo accept
            $family saddr $SHOAL_BROKER_HOST tcp sport $SHOAL_BROKER_PORT accept
          }
        }
        EOF
        """)

    public static let defaultRelease = IsolationAction(script: """
        command -v nft >/dev/null 2>&1 || { echo "nft not found" >&2; exit 127; }
        nft list table inet shoal_quarantine >/dev/null 2>&1 || exit 0
        nft delete table inet shoal_quarantine
        """)

    /// Runs the script to its end (bounded: a stuck action is killed after `limit`) and
    /// returns nil on success, else what went wrong (its exit status and stderr's end).
    func run(broker: (host: String, port: Int32), node: String, limit: Duration = .seconds(60)) async -> String? {
        var stderr: [UInt8] = []
        let (output, sink) = AsyncStream.makeStream(of: [UInt8].self)
        let process: ChildProcess
        do {
            process = try ChildProcess.spawn(
                .init(arguments: ["/bin/sh", "-c", script],
                      environment: ["SHOAL_BROKER_HOST": broker.host, "SHOAL_BROKER_PORT": String(broker.port),
                                    "SHOAL_NODE_ID": node]),
                onOutput: { stream, bytes in if stream == .stderr { sink.yield(bytes) } },
                onExit: { _ in sink.finish() })
        } catch {
            return "cannot start /bin/sh: \(error)"
        }
        let killed = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                guard (try? await Task.sleep(for: limit)) != nil else { return false }
                return process.killIfRunning(cgroup: nil)
            }
            for await bytes in output where stderr.count < 4096 { stderr += bytes }
            group.cancelAll()
            return await group.next() ?? false
        }
        let termination = await process.wait()
        guard termination != .exited(0) else { return nil }
        let message = String(String(decoding: stderr, as: UTF8.self).reversed().drop { $0.isWhitespace }.reversed())
        return (killed ? "killed after \(limit)" : "exit status \(termination.exitCode)") + (message.isEmpty ? "" : ": " + message)
    }
}
