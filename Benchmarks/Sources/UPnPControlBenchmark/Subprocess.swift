// Child processes (the Python UPnP DM device and async-upnp-client's bench client) through posix_spawn, with
// stdout on a pipe, and this process's own CPU time. Loopback only.
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

/// A child with its stdout on a pipe and, when `keepStdinOpen`, its stdin on a pipe this object holds open:
/// dm_device.py stops at EOF on stdin, so it must not inherit ours (which may be /dev/null).
final class Child {
    let pid: pid_t
    private let stdoutFD: Int32
    private var stdinFD: Int32

    init(_ arguments: [String], keepStdinOpen: Bool = false) throws {
        var outFDs: [Int32] = [0, 0]
        var inFDs: [Int32] = [-1, -1]
        guard pipe(&outFDs) == 0 else { throw BenchmarkError.spawn("pipe") }
        if keepStdinOpen {
            guard pipe(&inFDs) == 0 else { throw BenchmarkError.spawn("pipe") }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, outFDs[1], 1)
        posix_spawn_file_actions_addclose(&actions, outFDs[0])
        posix_spawn_file_actions_addclose(&actions, outFDs[1])
        if keepStdinOpen {
            posix_spawn_file_actions_adddup2(&actions, inFDs[0], 0)
            posix_spawn_file_actions_addclose(&actions, inFDs[0])
            posix_spawn_file_actions_addclose(&actions, inFDs[1])
        }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, arguments[0], &actions, nil, &argv, environ)
        close(outFDs[1])
        if keepStdinOpen { close(inFDs[0]) }
        guard result == 0 else {
            close(outFDs[0])
            if keepStdinOpen { close(inFDs[1]) }
            throw BenchmarkError.spawn("\(arguments[0]): error \(result)")
        }
        pid = child
        stdoutFD = outFDs[0]
        stdinFD = inFDs[1]
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
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
        return status
    }

    /// Closes stdin (the device's own clean stop), then SIGTERM after 2 s, then SIGKILL after 4 s.
    func terminate() {
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
        for step in 0..<200 {
            if step == 100 { kill(pid, SIGTERM) }
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
}

/// User and system CPU seconds of this process, all threads (getrusage RUSAGE_SELF; children are not counted).
func processCPUTimes() -> (user: Double, system: Double) {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
    return (seconds(usage.ru_utime), seconds(usage.ru_stime))
}

func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000
}

/// The number after `"key": ` in a flat JSON line (bench_client.py's report).
func jsonNumber(_ key: String, in text: String) -> Double? {
    guard let range = text.firstRange(of: "\"\(key)\":") else { return nil }
    let rest = text[range.upperBound...].drop { $0 == " " }
    return Double(rest.prefix { "0123456789.-eE".contains($0) })
}

/// The string after `"key": "` in a flat JSON line (dm_device.py's ready line; no escapes in a URL).
func jsonString(_ key: String, in text: String) -> String? {
    guard let range = text.firstRange(of: "\"\(key)\": \"") else { return nil }
    return String(text[range.upperBound...].prefix { $0 != "\"" })
}
