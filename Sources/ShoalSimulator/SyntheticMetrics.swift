import ShoalCore

/// The metric batch a simulated agent sends: one sample of `values` values with a real
/// agent's names (`cpu_pct`, `mem_used_pct`, `disk_used_pct@/`, …, then `sim_NN` to make
/// up the count), varying with `seq`. Written by hand, not with `JSONEncoder`: ten
/// thousand agents on one loop thread send thousands a second.
enum SyntheticMetrics {
    static let names = [
        "cpu_pct", "load1", "load5", "load15", "threads", "processes", "mem_total_bytes", "mem_used_bytes", "mem_used_pct",
        "swap_total_bytes", "swap_used_bytes", "swap_used_pct", "disk_used_pct", "disk_used_pct@/", "disk_used_bytes@/",
        "disk_total_bytes@/", "disk_read_bytes_per_s", "disk_write_bytes_per_s", "net_rx_bytes_per_s", "net_tx_bytes_per_s",
        "uptime_s", "temp_celsius", "temp_celsius@x86_pkg_temp",
    ]

    static func name(_ index: Int) -> String {
        index < names.count ? names[index] : "sim_\(index)"
    }

    static func payload(node: String, at time: Double, seq: Int, values count: Int) -> [UInt8] {
        var text = #"{"v":1,"node":""# + node + #"","samples":[{"at":"# + "\(time)" + #","values":{"#
        for index in 0..<max(1, count) {
            if index > 0 { text += "," }
            // Percentages and temperatures within their ranges; everything else a count.
            let value = (seq * 7 + index * 13) % 100
            text += "\"" + name(index) + "\":" + String(value)
        }
        text += "}}]}"
        return Array(text.utf8)
    }
}
