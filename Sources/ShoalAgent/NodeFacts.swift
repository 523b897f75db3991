// Not Foundation: the agent links this module and must stay small (bench/README.md, agent-rss).
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// Reads the automatic labels of this machine: name, os, arch, cpus, mem_mb, gpus, kernel, agent.
public enum NodeFacts {
    public static func collect(nodeID: String) -> [String: String] {
        var system = utsname()
        uname(&system)
        let machine = withUnsafeBytes(of: &system.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let release = withUnsafeBytes(of: &system.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return [
            "name": nodeID,
            "os": "linux",
            "arch": normalisedArch(machine),
            "cpus": String(ProcessInfo.processInfo.activeProcessorCount),
            "mem_mb": String(ProcessInfo.processInfo.physicalMemory / (1024 * 1024)),
            "gpus": String(gpuCount()),
            "kernel": release,
            "agent": shoalVersion,
        ]
    }

    /// Debian's names, so that `arch=amd64` and `arch=arm64` work whatever uname says.
    static func normalisedArch(_ machine: String) -> String {
        switch machine {
        case "x86_64": "amd64"
        case "aarch64": "arm64"
        case "armv7l": "armhf"
        default: machine
        }
    }

    /// NVIDIA GPUs as the driver lists them; 0 on machines without one.
    static func gpuCount() -> Int {
        let listed = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/driver/nvidia/gpus"))?.count
        if let listed { return listed }
        let devices = (try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? []
        return devices.filter { $0.hasPrefix("nvidia") && $0.dropFirst(6).allSatisfy(\.isNumber) && $0.count > 6 }.count
    }

    /// 1-minute load average, for heartbeats.
    static func loadAverage() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }
}
