// Child processes (the Python ACS peer and loadgen) through posix_spawn, and small readers of /proc and of the
// peer's JSON control API. Loopback only.
#if canImport(Glibc)
import Glibc
#endif

enum BenchmarkError: Error, CustomStringConvertible {
    case spawn(String)
    case peer(String)
    var description: String {
        switch self {
        case .spawn(let text): "spawn: \(text)"
        case .peer(let text): "peer: \(text)"
        }
    }
}

/// A child with its stdout on a pipe.
final class Child {
    let pid: pid_t
    private let stdoutFD: Int32

    init(_ arguments: [String]) throws {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw BenchmarkError.spawn("pipe") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
        posix_spawn_file_actions_addclose(&actions, pipeFDs[1])
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, arguments[0], &actions, nil, &argv, environ)
        close(pipeFDs[1])
        guard result == 0 else {
            close(pipeFDs[0])
            throw BenchmarkError.spawn("\(arguments[0]): error \(result)")
        }
        pid = child
        stdoutFD = pipeFDs[0]
    }

    /// Reads stdout until `done` says the text so far is enough, or EOF. Bounded by `maximumBytes`.
    func read(until done: (String) -> Bool = { _ in false }, maximumBytes: Int = 1 << 20) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count < maximumBytes {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(stdoutFD, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            bytes += buffer[0..<count]
            if done(String(decoding: bytes, as: UTF8.self)) { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @discardableResult
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        close(stdoutFD)
        return status
    }

    func terminate() {
        kill(pid, SIGTERM)
        for _ in 0..<100 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                close(stdoutFD)
                return
            }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        wait()
    }

    /// User + system CPU seconds of the child so far (/proc/<pid>/stat fields 14 and 15).
    var cpuSeconds: Double {
        guard let text = readSmallFile("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the ")" the first field is the state (field 3), so utime (14) is at index 11.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while bytes.count < 1 << 20 {
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        bytes += buffer[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// VmRSS of this process, in bytes.
func residentBytes() -> Int {
    guard let text = readSmallFile("/proc/self/status") else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let number = line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) } ?? 0
        return number * 1024
    }
    return 0
}

/// User + system CPU seconds of this process (getrusage).
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// User + system CPU seconds of the children this process has waited for, and their waited-for descendants.
func childrenCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000
}

/// The number after `"key": ` in a flat JSON text (the peer's /stats, loadgen's report).
func jsonNumber(_ key: String, in text: String) -> Double? {
    guard let range = text.firstRange(of: "\"\(key)\":") else { return nil }
    let rest = text[range.upperBound...].drop { $0 == " " }
    return Double(rest.prefix { "0123456789.-eE".contains($0) })
}

/// One HTTP/1.1 exchange with the peer's control API on loopback; the response body.
func controlRequest(port: Int, method: String, path: String) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchmarkError.peer("socket") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw BenchmarkError.peer("connect to control port \(port)") }
    let request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16_384)
    while response.count < 1 << 20 {
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count <= 0 { break }
        response += buffer[0..<count]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard let split = text.firstRange(of: "\r\n\r\n") else { return "" }
    return String(text[split.upperBound...])
}

/// Scheduler statistics of one group of threads (`/proc/PID/task/TID/schedstat`): nanoseconds on a CPU,
/// nanoseconds runnable but waiting for a CPU (run-queue delay), and the number of times they were scheduled
/// in (each a wake-up or a preemption: on a mostly idle thread, its wake-ups).
struct SchedStats {
    var running = 0.0
    var waiting = 0.0
    var slices = 0.0

    static func - (lhs: SchedStats, rhs: SchedStats) -> SchedStats {
        SchedStats(running: lhs.running - rhs.running, waiting: lhs.waiting - rhs.waiting, slices: lhs.slices - rhs.slices)
    }
}

/// The scheduler statistics of every thread of `pid` ("self" for this process), summed by thread name with the
/// digits dropped ("NIO-SGLTN-0-#1" and "NIO-SGLTN-0-#0" are one group). Threads that ended are not counted.
func threadSchedStats(pid: String = "self") -> [String: SchedStats] {
    var groups: [String: SchedStats] = [:]
    guard let directory = opendir("/proc/\(pid)/task") else { return groups }
    defer { closedir(directory) }
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard name.first?.isNumber == true,
              let stat = readSmallFile("/proc/\(pid)/task/\(name)/schedstat")?.split(separator: " "), stat.count >= 3,
              let running = Double(stat[0]), let waiting = Double(stat[1]),
              let slices = Double(stat[2].prefix { $0.isNumber }) else { continue }
        let comm = (readSmallFile("/proc/\(pid)/task/\(name)/comm") ?? "?").filter { !$0.isNumber && $0 != "\n" }
        groups[comm, default: SchedStats()].running += running / 1e9
        groups[comm, default: SchedStats()].waiting += waiting / 1e9
        groups[comm, default: SchedStats()].slices += slices
    }
    return groups
}

/// Threads of this process; with `--malloc-stats`, glibc's `malloc_stats()` (per arena: bytes the arena holds from
/// the system and bytes in use; glibc makes an arena per thread that allocates concurrently, up to 8 per core) on
/// stderr. Looked up with dlsym: the Glibc module does not export malloc.h.
func memoryBreakdown(mallocStats: Bool) -> String {
    let threads = readSmallFile("/proc/self/status")?.split(separator: "\n")
        .first { $0.hasPrefix("Threads:") }.map { String($0.dropFirst(8).filter { !$0.isWhitespace }) } ?? "?"
    if mallocStats, let symbol = dlsym(nil, "malloc_stats") {
        fflush(nil)  // all streams: the figures above come first
        unsafeBitCast(symbol, to: (@convention(c) () -> Void).self)()
    }
    return "threads \(threads)"
}
