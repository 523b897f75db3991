/// Pure parsers of the kernel's text files about CPU, load, memory and uptime: text in,
/// values out, so each is tested on fixture text (`Tests/ShoalAgentTests/MetricParserTests`).
/// `MetricsCollector` reads the files and keeps the previous counters.

/// The aggregate `cpu` line of `/proc/stat`, in clock ticks since boot.
struct CPUTimes: Equatable {
    var busy: UInt64
    var total: UInt64

    /// Idle and I/O wait are not busy; steal is (the CPU was not ours to use). Guest time is
    /// already counted inside user and nice, so it is not added again.
    static func parse(procStat text: Substring) -> CPUTimes? {
        guard let line = text.split(separator: "\n", maxSplits: 1).first, line.hasPrefix("cpu ") else { return nil }
        let fields = line.split(separator: " ").dropFirst().prefix(8).compactMap { UInt64($0) }
        guard fields.count >= 4 else { return nil }
        let total = fields.reduce(0, &+)
        let idle = fields[3] &+ (fields.count > 4 ? fields[4] : 0)
        return CPUTimes(busy: total &- idle, total: total)
    }

    /// Busy share of the time between two readings, 0...100; nil when no time passed or
    /// the counters went back (they never should).
    static func percent(from earlier: CPUTimes, to later: CPUTimes) -> Double? {
        guard later.total > earlier.total, later.busy >= earlier.busy else { return nil }
        return min(100, Double(later.busy - earlier.busy) / Double(later.total - earlier.total) * 100)
    }
}

/// `/proc/loadavg`: "0.52 0.58 0.59 2/1234 5678".
struct LoadAverage: Equatable {
    var load1: Double
    var load5: Double
    var load15: Double
    /// Scheduling entities (threads) that exist, the fourth field's denominator.
    var threads: Int

    static func parse(_ text: Substring) -> LoadAverage? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 4, let load1 = Double(fields[0]), let load5 = Double(fields[1]), let load15 = Double(fields[2]),
              let slash = fields[3].firstIndex(of: "/"), let threads = Int(fields[3][fields[3].index(after: slash)...]) else { return nil }
        return LoadAverage(load1: load1, load5: load5, load15: load15, threads: threads)
    }
}

/// `/proc/meminfo`, in bytes. Used memory is what `free` calls used: total minus available.
struct MemoryInfo: Equatable {
    var total: UInt64
    var available: UInt64
    var swapTotal: UInt64
    var swapFree: UInt64

    var used: UInt64 { total > available ? total - available : 0 }
    var swapUsed: UInt64 { swapTotal > swapFree ? swapTotal - swapFree : 0 }

    static func parse(_ text: Substring) -> MemoryInfo? {
        var values: [Substring: UInt64] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon]
            guard key == "MemTotal" || key == "MemAvailable" || key == "SwapTotal" || key == "SwapFree" else { continue }
            let rest = line[line.index(after: colon)...].split(separator: " ")
            guard let number = rest.first.flatMap({ UInt64($0) }) else { continue }
            // Every field is in kB (KiB) when it says so; the kernel always does.
            let (bytes, overflow) = number.multipliedReportingOverflow(by: rest.count > 1 && rest[1] == "kB" ? 1024 : 1)
            guard !overflow else { return nil }
            values[key] = bytes
        }
        guard let total = values["MemTotal"], let available = values["MemAvailable"] else { return nil }
        return MemoryInfo(total: total, available: available, swapTotal: values["SwapTotal"] ?? 0, swapFree: values["SwapFree"] ?? 0)
    }
}

/// `/proc/uptime`: seconds since boot, then idle seconds.
enum Uptime {
    static func parse(_ text: Substring) -> Double? {
        text.split(separator: " ").first.flatMap { Double($0) }.flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
    }
}

/// Processes are the numeric entries of `/proc` (threads live under each one's `task/`).
enum ProcessCount {
    static func count<S: Sequence>(procEntries names: S) -> Int where S.Element == String {
        names.reduce(0) { count, name in
            !name.isEmpty && name.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } ? count + 1 : count
        }
    }
}

/// Percent of `part` in `whole`, 0 when `whole` is 0.
func percent(_ part: UInt64, of whole: UInt64) -> Double {
    whole == 0 ? 0 : min(100, Double(part) / Double(whole) * 100)
}
