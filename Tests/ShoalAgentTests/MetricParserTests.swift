import Foundation
import ShoalCore
import ShoalTestSupport
import Testing

@testable import ShoalAgent

/// The kernel's text files as they look on real machines, parsed without reading any file.
@Suite struct MetricParserTests {
    static let procStat = """
        cpu  10132153 290696 3084719 46828483 16683 0 25195 0 175628 0
        cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0
        intr 1462898 0 9 0
        ctxt 32
        """

    @Test func cpuPercentIsBusyOverTotalBetweenTwoReadings() throws {
        let first = try #require(CPUTimes.parse(procStat: Self.procStat[...]))
        // idle 46828483 + iowait 16683 are not busy; steal 0; guest fields are not added.
        #expect(first.total == 10132153 + 290696 + 3084719 + 46828483 + 16683 + 0 + 25195 + 0)
        #expect(first.busy == first.total - 46828483 - 16683)
        let later = CPUTimes(busy: first.busy + 25, total: first.total + 100)
        #expect(CPUTimes.percent(from: first, to: later) == 25)
        #expect(CPUTimes.percent(from: later, to: first) == nil)
        #expect(CPUTimes.percent(from: first, to: first) == nil)
        #expect(CPUTimes.parse(procStat: "intr 1 2 3"[...]) == nil)
        #expect(CPUTimes.parse(procStat: "cpu  x y"[...]) == nil)
    }

    @Test func loadAverage() {
        #expect(LoadAverage.parse("0.52 0.58 1.59 2/1234 5678\n"[...]) == LoadAverage(load1: 0.52, load5: 0.58, load15: 1.59, threads: 1234))
        #expect(LoadAverage.parse("garbage"[...]) == nil)
        #expect(LoadAverage.parse("1 2 3 4"[...]) == nil)
    }

    @Test func memoryIsTotalMinusAvailable() throws {
        let text = """
            MemTotal:       16318420 kB
            MemFree:          391564 kB
            MemAvailable:    8437944 kB
            Buffers:          520248 kB
            SwapTotal:       2097148 kB
            SwapFree:        1048574 kB
            """
        let memory = try #require(MemoryInfo.parse(text[...]))
        #expect(memory.total == 16318420 * 1024)
        #expect(memory.used == (16318420 - 8437944) * 1024)
        #expect(memory.swapUsed == (2097148 - 1048574) * 1024)
        #expect(MemoryInfo.parse("MemTotal: 5 kB\n"[...]) == nil)
        #expect(MemoryInfo.parse("MemTotal: 18446744073709551615 kB\nMemAvailable: 1 kB"[...]) == nil)
    }

    @Test func uptimeAndProcesses() {
        #expect(Uptime.parse("350735.47 234388.90\n"[...]) == 350735.47)
        #expect(Uptime.parse("-1 2"[...]) == nil)
        #expect(ProcessCount.count(procEntries: ["1", "42", "self", "net", "1234", "", "12a"]) == 3)
    }

    @Test func mountsKeepRealFileSystemsOnceEach() {
        let text = """
            overlay / overlay rw,relatime,lowerdir=/a 0 0
            proc /proc proc rw,nosuid 0 0
            tmpfs /dev tmpfs rw,nosuid 0 0
            /dev/sda1 /data ext4 rw,relatime 0 0
            /dev/sda1 /srv/bind ext4 rw,relatime 0 0
            /dev/sdb1 /mnt/my\\040disk xfs rw 0 0
            cgroup2 /sys/fs/cgroup cgroup2 rw 0 0
            /dev/sdc1 /data ext4 rw 0 0
            """
        let mounts = Mount.parse(procMounts: text[...])
        // The later mount over /data hides the earlier one; sda1 is then visible at /srv/bind only.
        #expect(mounts.map(\.path) == ["/", "/data", "/mnt/my disk", "/srv/bind"])
        #expect(mounts.first { $0.path == "/data" }?.device == "/dev/sdc1")
    }

    @Test func diskSpaceCountsAsDfDoes() {
        // df: Use% = used / (used + available); the root reserve (free - available) is not available.
        let space = DiskSpace(blocks: 1000, free: 150, available: 100, fragmentSize: 4096)
        #expect(space.usedBytes == 850 * 4096)
        #expect(space.totalBytes == 1000 * 4096)
        #expect(abs(space.usedPercent - 850.0 / 950.0 * 100) < 1e-9)
        #expect(DiskSpace(blocks: 0, free: 0, available: 0, fragmentSize: 4096).usedPercent == 0)
    }

    @Test func diskIOSumsWholeDisksOnly() {
        let text = """
               8       0 sda 100 0 2000 0 50 0 4000 0 0 0 0
               8       1 sda1 100 0 2000 0 50 0 4000 0 0 0 0
               7       0 loop0 9 0 9999 0 9 0 9999 0 0 0 0
             259       0 nvme0n1 1 0 10 0 1 0 20 0 0 0 0
            """
        let io = DiskIO.parse(diskstats: text[...], disks: ["sda", "nvme0n1"])
        #expect(io == DiskIO(readBytes: (2000 + 10) * 512, writtenBytes: (4000 + 20) * 512))
        #expect(!DiskIO.isCountedDisk("loop3") && DiskIO.isCountedDisk("sda"))
    }

    @Test func networkSumsInterfacesButLoopback() {
        let text = """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo: 1000000    100    0    0    0     0          0         0  1000000     100    0    0    0     0       0          0
              eth0: 5000    10    0    0    0     0          0         0  7000     12    0    0    0     0       0          0
              wg0:300 1 0 0 0 0 0 0 400 1 0 0 0 0 0 0
            """
        #expect(NetworkIO.parse(netDev: text[...]) == NetworkIO(receivedBytes: 5300, sentBytes: 7400))
        #expect(rate(from: 100, to: 300, seconds: 2) == 100)
        #expect(rate(from: 300, to: 100, seconds: 2) == nil)
    }

    @Test func thermal() {
        #expect(Thermal.parse(milliCelsius: "45000\n"[...]) == 45)
        #expect(Thermal.parse(milliCelsius: "-5500"[...]) == -5.5)
        #expect(Thermal.parse(milliCelsius: "999999999"[...]) == nil)
        #expect(Thermal.parse(milliCelsius: "hot"[...]) == nil)
    }

    /// The reader on this machine: every value within its stated range, and cheap enough to
    /// run every few seconds (the figure is printed; docs/telemetry.md quotes it).
    @Test func theCollectorReadsThisMachineCheaply() async throws {
        let collector = MetricsCollector()
        _ = collector.sample(at: 1_764_460_000)
        let clock = ContinuousClock()
        var sample = MetricSample(at: 0, values: [:])
        let rounds = 200
        let elapsed = clock.measure {
            for round in 1...rounds { sample = collector.sample(at: 1_764_460_000 + Double(round)) }
        }
        // CPU % needs the kernel's tick counters to move between two readings (100 Hz):
        // a wait for time to pass, not for an event.
        try await Task.sleep(for: .milliseconds(100))
        sample = collector.sample(at: 1_764_460_000 + Double(rounds) + 1)
        try MetricsMessage(node: "n1", samples: [sample]).validate()
        for name in ["cpu_pct", "load1", "mem_used_pct", "mem_total_bytes", "disk_used_pct", "processes", "uptime_s", "net_rx_bytes_per_s"] {
            #expect(sample.values[name] != nil, "missing \(name)")
        }
        #expect(sample.values["disk_used_pct@/"] != nil)
        let perSample = elapsed / rounds
        print("metrics collector: \(perSample) per sample")
        #expect(perSample < .milliseconds(20))
    }
}
