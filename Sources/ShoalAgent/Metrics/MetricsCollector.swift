import Glibc
import ShoalCore

/// Reads this machine's metrics from /proc and /sys (never a child process) and turns
/// counters into rates between readings. The parsing is in the pure parsers; this type only
/// reads files and keeps the previous counters.
///
/// GPU utilisation and memory are not read: the NVIDIA driver exposes them only through
/// NVML (libnvidia-ml, which nvidia-smi wraps), not in /proc or /sys; only the number of
/// GPUs (`gpus`) is reported, from /proc/driver/nvidia/gpus. See docs/telemetry.md.
///
/// Not thread-safe: one owner (the agent's metrics task) calls `sample` in turn.
final class MetricsCollector {
    private let root: String
    private var previous: (at: Double, cpu: CPUTimes?, disk: DiskIO, network: NetworkIO)?

    /// `root` prefixes every path (tests point it at a fixture tree); "" is this machine.
    init(root: String = "") {
        self.root = root
    }

    /// Reads everything once. Rates and CPU % need two readings, so the first sample has
    /// none of them (the agent takes one at start and discards it).
    func sample(at time: Double) -> MetricSample {
        var values: [String: Double] = [:]
        let cpu = SystemFile.read(root + "/proc/stat").flatMap { CPUTimes.parse(procStat: $0[...]) }
        if let load = SystemFile.read(root + "/proc/loadavg").flatMap({ LoadAverage.parse($0[...]) }) {
            values["load1"] = load.load1
            values["load5"] = load.load5
            values["load15"] = load.load15
            values["threads"] = Double(load.threads)
        }
        if let memory = SystemFile.read(root + "/proc/meminfo").flatMap({ MemoryInfo.parse($0[...]) }) {
            values["mem_total_bytes"] = Double(memory.total)
            values["mem_used_bytes"] = Double(memory.used)
            values["mem_used_pct"] = percent(memory.used, of: memory.total)
            values["swap_total_bytes"] = Double(memory.swapTotal)
            values["swap_used_bytes"] = Double(memory.swapUsed)
            values["swap_used_pct"] = percent(memory.swapUsed, of: memory.swapTotal)
        }
        if let uptime = SystemFile.read(root + "/proc/uptime").flatMap({ Uptime.parse($0[...]) }) {
            values["uptime_s"] = uptime
        }
        values["processes"] = Double(ProcessCount.count(procEntries: SystemFile.list(root + "/proc")))
        diskSpace(into: &values)
        temperatures(into: &values)
        let gpus = SystemFile.list(root + "/proc/driver/nvidia/gpus").count
        if gpus > 0 { values["gpus"] = Double(gpus) }

        let disks = Set(SystemFile.list(root + "/sys/block").filter(DiskIO.isCountedDisk))
        let disk = SystemFile.read(root + "/proc/diskstats").map { DiskIO.parse(diskstats: $0[...], disks: disks) }
            ?? DiskIO(readBytes: 0, writtenBytes: 0)
        let network = SystemFile.read(root + "/proc/net/dev").map { NetworkIO.parse(netDev: $0[...]) }
            ?? NetworkIO(receivedBytes: 0, sentBytes: 0)
        if let previous {
            let seconds = time - previous.at
            if let cpu, let earlier = previous.cpu, let busy = CPUTimes.percent(from: earlier, to: cpu) { values["cpu_pct"] = busy }
            values["disk_read_bytes_per_s"] = rate(from: previous.disk.readBytes, to: disk.readBytes, seconds: seconds)
            values["disk_write_bytes_per_s"] = rate(from: previous.disk.writtenBytes, to: disk.writtenBytes, seconds: seconds)
            values["net_rx_bytes_per_s"] = rate(from: previous.network.receivedBytes, to: network.receivedBytes, seconds: seconds)
            values["net_tx_bytes_per_s"] = rate(from: previous.network.sentBytes, to: network.sentBytes, seconds: seconds)
        }
        previous = (time, cpu, disk, network)
        return MetricSample(at: time, values: values.filter { MetricName.range(of: MetricName.split($0.key).base).contains($0.value) })
    }

    /// Per mount `disk_used_pct@PATH`, `disk_used_bytes@PATH`, `disk_total_bytes@PATH`, and
    /// `disk_used_pct` for the fullest one (what a selector like `disk_used_pct>90` asks).
    private func diskSpace(into values: inout [String: Double]) {
        guard let text = SystemFile.read(root + "/proc/mounts") else { return }
        var fullest: Double?
        for mount in Mount.parse(procMounts: text[...]) where mount.path.utf8.count <= MetricName.qualifierBytes {
            guard let space = SystemFile.space(root + mount.path), space.blocks > 0 else { continue }
            let used = space.usedPercent
            values["disk_used_pct@" + mount.path] = used
            values["disk_used_bytes@" + mount.path] = Double(space.usedBytes)
            values["disk_total_bytes@" + mount.path] = Double(space.totalBytes)
            fullest = max(fullest ?? used, used)
        }
        if let fullest { values["disk_used_pct"] = fullest }
    }

    /// `temp_celsius@TYPE` per thermal zone, and `temp_celsius` for the hottest.
    private func temperatures(into values: inout [String: Double]) {
        let base = root + "/sys/class/thermal"
        var hottest: Double?
        for zone in SystemFile.list(base) where zone.hasPrefix("thermal_zone") {
            guard let celsius = SystemFile.read("\(base)/\(zone)/temp").flatMap({ Thermal.parse(milliCelsius: $0[...]) }) else { continue }
            let type = SystemFile.read("\(base)/\(zone)/type").map { String($0[...].trimmingNewline()) } ?? zone
            values["temp_celsius@" + (type.isEmpty ? zone : type)] = celsius
            hottest = max(hottest ?? celsius, celsius)
        }
        if let hottest { values["temp_celsius"] = hottest }
    }
}

/// Small reads of kernel files through the C library: /proc files report a size of 0, and
/// this runs every few seconds for the life of the agent, so it reads into one buffer
/// without Foundation.
enum SystemFile {
    static func read(_ path: String, limit: Int = 1 << 20) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func list(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func space(_ path: String) -> DiskSpace? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        return DiskSpace(blocks: UInt64(stats.f_blocks), free: UInt64(stats.f_bfree), available: UInt64(stats.f_bavail),
                         fragmentSize: UInt64(stats.f_frsize))
    }
}
