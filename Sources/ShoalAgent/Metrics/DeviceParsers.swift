/// Pure parsers of the kernel's text about file systems, disks, network devices and
/// sensors. See `SystemParsers.swift`.

/// A line of `/proc/mounts` kept as a file system worth reporting.
struct Mount: Equatable {
    var device: String
    var path: String
    var type: String

    /// File systems that hold no one's data (kernel views, RAM-backed scratch, containers'
    /// plumbing) are left out, as `df -x` would be told to.
    static let pseudoTypes: Set<String> = [
        "proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "cgroup", "cgroup2", "securityfs", "pstore", "debugfs", "tracefs",
        "configfs", "fusectl", "mqueue", "hugetlbfs", "bpf", "autofs", "binfmt_misc", "rpc_pipefs", "nsfs", "efivarfs",
        "squashfs", "ramfs", "selinuxfs", "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal", "nfsd", "overlay"
    ]

    /// Real file systems, each mount point once (the last mount over a path is the visible
    /// one), and a device mounted at several places once, at its first (shortest) path.
    /// The root is kept whatever its type (an overlay root in a container is what `df /` shows).
    static func parse(procMounts text: Substring) -> [Mount] {
        var byPath: [String: Mount] = [:]
        var order: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let mount = Mount(device: unescape(fields[0]), path: unescape(fields[1]), type: String(fields[2]))
            guard mount.path == "/" || !pseudoTypes.contains(mount.type) else { continue }
            if byPath[mount.path] == nil { order.append(mount.path) }
            byPath[mount.path] = mount
        }
        var devices: Set<String> = []
        var result: [Mount] = []
        for path in order.sorted(by: { $0.utf8.count < $1.utf8.count }) {
            guard let mount = byPath[path] else { continue }
            // Bind mounts repeat a device; only paths under /dev name one (overlay, nfs do not).
            if mount.device.hasPrefix("/dev/") {
                guard devices.insert(mount.device).inserted else { continue }
            }
            result.append(mount)
        }
        return result.sorted { $0.path < $1.path }
    }

    /// The kernel writes space, tab, newline and backslash in paths as octal escapes (`\040`).
    static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 4 <= utf8.count,
               let value = UInt8(String(decoding: utf8[(index + 1)..<(index + 4)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// One file system's space as `statvfs` gives it, counted as `df` counts it.
struct DiskSpace: Equatable {
    var blocks: UInt64
    var free: UInt64
    /// Free blocks an unprivileged user may use (the root reserve excluded).
    var available: UInt64
    var fragmentSize: UInt64

    var totalBytes: UInt64 { blocks.multipliedReportingOverflow(by: fragmentSize).partialValue }
    var usedBytes: UInt64 { (blocks > free ? blocks - free : 0).multipliedReportingOverflow(by: fragmentSize).partialValue }

    /// `df`'s Use%: used over what users could have (used + available), so a disk whose
    /// reserve is all that is left shows 100%. Unrounded (df rounds up).
    var usedPercent: Double {
        let used = blocks > free ? blocks - free : 0
        return percent(used, of: used + available)
    }
}

/// `/proc/diskstats` summed over whole disks: bytes read and written since boot.
struct DiskIO: Equatable {
    var readBytes: UInt64
    var writtenBytes: UInt64

    /// `disks` names the whole disks (`/sys/block` minus loop and RAM devices); partitions
    /// would count the same I/O twice.
    static func parse(diskstats text: Substring, disks: Set<String>) -> DiskIO {
        var result = DiskIO(readBytes: 0, writtenBytes: 0)
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 10, disks.contains(String(fields[2])),
                  let read = UInt64(fields[5]), let written = UInt64(fields[9]) else { continue }
            // Sectors of 512 bytes, whatever the device's own sector size.
            result.readBytes &+= read &* 512
            result.writtenBytes &+= written &* 512
        }
        return result
    }

    static func isCountedDisk(_ name: String) -> Bool {
        !name.hasPrefix("loop") && !name.hasPrefix("ram") && !name.hasPrefix("zram")
    }
}

/// `/proc/net/dev` summed over interfaces other than loopback: bytes since boot.
struct NetworkIO: Equatable {
    var receivedBytes: UInt64
    var sentBytes: UInt64

    static func parse(netDev text: Substring) -> NetworkIO {
        var result = NetworkIO(receivedBytes: 0, sentBytes: 0)
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].drop(while: { $0 == " " })
            guard name != "lo" else { continue }
            let fields = line[line.index(after: colon)...].split(separator: " ")
            guard fields.count >= 9, let received = UInt64(fields[0]), let sent = UInt64(fields[8]) else { continue }
            result.receivedBytes &+= received
            result.sentBytes &+= sent
        }
        return result
    }
}

/// Per-second rate of a counter between two readings; nil when the counter went back
/// (a device removed, a wrap) or no time passed.
func rate(from earlier: UInt64, to later: UInt64, seconds: Double) -> Double? {
    guard later >= earlier, seconds > 0 else { return nil }
    return Double(later - earlier) / seconds
}

/// `/sys/class/thermal/thermal_zone*/temp`: millidegrees Celsius.
enum Thermal {
    static func parse(milliCelsius text: Substring) -> Double? {
        guard let value = Int64(text.trimmingNewline()), (-100_000...300_000).contains(value) else { return nil }
        return Double(value) / 1000
    }
}

extension Substring {
    func trimmingNewline() -> Substring {
        var text = self
        while let last = text.last, last == "\n" || last == " " { text = text.dropLast() }
        return text
    }
}
