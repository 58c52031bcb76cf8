// Reading the Linux host the gateway runs on: /proc and /sys. Everything here is defensive on purpose: these
// files change under us (processes exit between listing and reading, interfaces come and go), and a container or
// an odd kernel may give content we do not expect. Nothing here throws or traps on bad content; a parse failure
// yields `nil` (or an empty list), and the providers turn that into the parameter's zero value, so one odd file
// never fails a GetParameterValues of the whole tree.
//
// Files are read with Glibc `open`/`read` in a loop: /proc files report a size of 0, so readers that trust the
// size see nothing, and Foundation is not available here (no ICU on the gateway).
#if canImport(Glibc)
import Glibc
#endif

/// Where the host's kernel interfaces are mounted; tests point these at a directory of fabricated files.
public struct HostPaths: Hashable, Sendable {
    /// `/proc`.
    public var proc: String
    /// `/sys`.
    public var sys: String
    /// Where systemd-timesyncd leaves its "synchronized" flag file (`/run/systemd/timesync/synchronized`).
    public var timeSynchronizedFlag: String

    public init(proc: String = "/proc", sys: String = "/sys",
                timeSynchronizedFlag: String = "/run/systemd/timesync/synchronized") {
        self.proc = proc
        self.sys = sys
        self.timeSynchronizedFlag = timeSynchronizedFlag
    }
}

/// Small file-system helpers over Glibc.
enum HostFiles {
    /// The whole file as UTF-8 (invalid bytes replaced), at most `limit` bytes; `nil` when it cannot be opened or read.
    static func read(_ path: String, limit: Int = 1 << 20) -> String? {
        readBytes(path, limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The raw bytes of a file (for NUL-separated `/proc/[pid]/cmdline`).
    static func readBytes(_ path: String, limit: Int = 64 << 10) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<min(count, limit - bytes.count)])
        }
        return bytes
    }

    /// The names in a directory, without `.` and `..`; empty when it cannot be read.
    static func list(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// A file holding one trimmed line (most of /sys).
    static func line(_ path: String) -> String? {
        read(path, limit: 4096).map { String($0.trimmingASCIIWhitespace()) }
    }
}

extension StringProtocol {
    func trimmingASCIIWhitespace() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" || $0 == "\0" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}

/// Pure parsers of the kernel's text formats, separated from the reading so tests can feed them odd content.
enum ProcParsers {
    /// `/proc/uptime`: "2125.42 1297.93" → whole seconds since the host booted (CLOCK_BOOTTIME, so suspend counts).
    static func uptimeSeconds(_ text: String) -> UInt64? {
        guard let field = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first else { return nil }
        let whole = field.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first ?? field
        return UInt64(whole)
    }

    /// `/proc/meminfo`: "MemTotal:       24684092 kB" lines → values in KiB by key. Lines that do not parse are skipped.
    static func meminfo(_ text: String) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            let fields = line[line.index(after: colon)...].split(separator: " ")
            guard let number = fields.first.flatMap({ UInt64($0) }) else { continue }
            // Every size in meminfo is in kB (KiB); counts such as HugePages_Total have no unit and stay as they are.
            result[key] = number
        }
        return result
    }

    /// The aggregate `cpu` line of `/proc/stat` as (busy, total) jiffies.
    static func cpuTimes(_ text: String) -> CPUTimes? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let numbers = line.split(separator: " ").dropFirst().map { UInt64($0) }
        // user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already in user/nice.
        guard numbers.count >= 4, numbers.allSatisfy({ $0 != nil }) else { return nil }
        let values = numbers.prefix(8).map { $0! }
        let (total, overflow) = values.reduce((UInt64(0), false)) { partial, value in
            let (sum, overflowed) = partial.0.addingReportingOverflow(value)
            return (sum, partial.1 || overflowed)
        }
        guard !overflow else { return nil }
        let idle = values[3] + (values.count > 4 ? values[4] : 0)
        return CPUTimes(busy: total - min(idle, total), total: total)
    }

    /// `/proc/[pid]/stat`. The command name is in parentheses and may itself contain spaces and parentheses, so the
    /// fields are counted from the last `)`.
    static func processStat(_ text: String) -> ProcessStat? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close else { return nil }
        guard let pid = UInt32(text[..<open].trimmingASCIIWhitespace()) else { return nil }
        let name = String(text[text.index(after: open)..<close])
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state) of proc(5); utime is 14, stime 15, priority 18, rss 24.
        guard fields.count >= 22, let state = fields[0].first else { return nil }
        func number(_ field: Int) -> Int64? { Int64(fields[field - 3].trimmingASCIIWhitespace()) }
        guard let utime = number(14), let stime = number(15), let priority = number(18), let rss = number(24) else { return nil }
        return ProcessStat(pid: pid, name: name, state: state, cpuTicks: UInt64(max(0, utime)) + UInt64(max(0, stime)),
                           priority: priority, residentPages: UInt64(max(0, rss)))
    }

    /// `/proc/net/route`: the interfaces that carry an IPv4 default route (destination 00000000, mask 00000000).
    static func defaultRouteInterfaces(_ text: String) -> Set<String> {
        var result: Set<String> = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, fields[1] == "00000000", fields[7] == "00000000" else { continue }
            result.insert(String(fields[0]))
        }
        return result
    }

    /// `/proc/net/arp`: complete entries (flag ATF_COM 0x2) as (IP address, MAC address, device).
    static func arpEntries(_ text: String) -> [ARPEntry] {
        var result: [ARPEntry] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 6, let flags = UInt32(fields[2].dropFirst(2), radix: 16), flags & 0x2 != 0 else { continue }
            let mac = String(fields[3]).lowercased()
            guard isMACAddress(mac), mac != "00:00:00:00:00:00" else { continue }
            result.append(ARPEntry(ipAddress: String(fields[0]), macAddress: mac, device: String(fields[5])))
        }
        return result
    }

    /// TR-181 MACAddress: six colon-separated pairs of hex digits.
    static func isMACAddress(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 6 && parts.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isHexDigit) }
    }
}

/// Busy and total CPU time since boot, in clock ticks.
struct CPUTimes: Hashable, Sendable {
    var busy: UInt64
    var total: UInt64

    /// CPU usage in percent between an earlier sample and this one; `nil` when no time passed (same tick) or the
    /// counters went backwards (a container's view changed, a fabricated file).
    func usage(since earlier: CPUTimes) -> UInt32? {
        guard total > earlier.total, busy >= earlier.busy else { return nil }
        let busyDelta = busy - earlier.busy
        let totalDelta = total - earlier.total
        return UInt32(min(100, (busyDelta * 100 + totalDelta / 2) / totalDelta))
    }
}

/// The parts of `/proc/[pid]/stat` TR-181 needs.
struct ProcessStat: Hashable, Sendable {
    var pid: UInt32
    /// `comm`: at most 15 characters, the executable's name.
    var name: String
    var state: Character
    var cpuTicks: UInt64
    /// proc(5) field 18: 0…39 (20 + nice) for normal processes, −2…−100 for real-time ones.
    var priority: Int64
    var residentPages: UInt64
}

struct ARPEntry: Hashable, Sendable {
    var ipAddress: String
    var macAddress: String
    var device: String
}

/// System constants the conversions need, read once.
enum HostConstants {
    static let clockTicksPerSecond: UInt64 = {
        let value = sysconf(Int32(_SC_CLK_TCK))
        return value > 0 ? UInt64(value) : 100
    }()

    static let pageSize: UInt64 = {
        let value = sysconf(Int32(_SC_PAGESIZE))
        return value > 0 ? UInt64(value) : 4096
    }()

    /// Seconds since 1970 from the real-time clock.
    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec)
    }
}

extension UInt64 {
    /// The value as a TR-106 unsignedInt: counters that exceed 32 bits are clamped, not wrapped, for quantities
    /// (memory, times) where a wrapped value would look plausible but be wrong.
    var clampedToUInt32: UInt32 { UInt32(clamping: self) }
}
