// A network namespace per test, joined to the root namespace by a veth pair, for LAN-side peers (UPnP DM devices,
// Rygel, SNMP agents) that must multicast without ever reaching eth0. Foundation is fine here: tests only.
//
//   root namespace                                 namespace `cwmpt-<pid>-<n>`
//   cwh<n>  10.77.x.y+1/30  <──── veth ────>  cwn<n>  10.77.x.y+2/30, lo up, route 239.0.0.0/8 dev cwn<n>
//           fd77:<n hex>::1/64                          fd77:<n hex>::2/64   (IPv6, no DAD)
//
// The multicast route exists inside the namespace only, so unpinned sockets there reach the veth. In the root
// namespace nothing is added: Swift code pins its sockets to `hostAddress` (IP_MULTICAST_IF + membership on that
// address), which is what keeps SSDP off eth0 (upnp-testbed.md §1).
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a namespace (or a peer inside it) could not be made; tests turn it into a skip with this message.
public struct NetworkNamespaceUnavailable: Error, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// One command that failed; its arguments and what it wrote to stderr.
public struct NetworkNamespaceCommandFailed: Error, CustomStringConvertible {
    public let arguments: [String]
    public let status: Int32
    public let output: String
    public var description: String { "\(arguments.joined(separator: " ")) exited \(status): \(output)" }
}

/// A peer that has exited when a test wrote to it or waited for its answer: what was asked, how it ended and the tail
/// of its stderr (why it died), instead of a SIGPIPE or a bare EPIPE.
public struct NamespaceProcessEnded: Error, CustomStringConvertible {
    public let request: String
    public let termination: String
    public let standardErrorTail: String
    public var description: String { "\(request): the peer process has ended (\(termination)); its stderr: \(standardErrorTail)" }
}

public final class NetworkNamespace: @unchecked Sendable {
    /// The `ip` binary of iproute2, if installed.
    public static let ipTool: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Nil when namespaces can be made here; otherwise the reason (for `.enabled(if:)` and skip messages).
    public static let unavailableReason: String? = {
        if geteuid() != 0 { return "network namespace tests need root and iproute2: not running as root" }
        if ipTool == nil { return "network namespace tests need root and iproute2: `ip` not found" }
        // Root without CAP_SYS_ADMIN/CAP_NET_ADMIN (some containers) cannot make one: find out once, up front, so
        // suites skip instead of failing.
        let probe = "cwmpt-probe-\(getpid())"
        do {
            try ip(["netns", "add", probe])
            _ = try? ip(["netns", "del", probe])
        } catch {
            return "network namespace tests need root and iproute2: `ip netns add` failed here (\(error))"
        }
        return nil
    }()

    public static var isAvailable: Bool { unavailableReason == nil }

    /// Whether the kernel has IPv6 (then both veth ends get their `fd77:` ULA).
    public static let hasIPv6: Bool = FileManager.default.fileExists(atPath: "/proc/sys/net/ipv6")

    /// The namespace's name (`ip netns exec NAME …`).
    public let name: String
    /// The veth end in the root namespace, and its address: pin the Swift side's sockets to it.
    public let hostInterface: String
    public let hostAddress: String
    /// The veth end inside the namespace, and its address: pin the peers to it.
    public let namespaceInterface: String
    public let namespaceAddress: String
    public let prefixLength = 30
    /// IPv6 ULAs of the two ends (`fd77:<n>::1` and `::2`, /64, no DAD): for SSDP on FF02::C, pin to
    /// `hostInterfaceIndex` (IPV6_MULTICAST_IF) and bind to `hostAddress6`.
    public let hostAddress6: String
    public let namespaceAddress6: String
    /// The root-namespace veth end's interface index (IPV6_MULTICAST_IF, sin6_scope_id).
    public var hostInterfaceIndex: UInt32 { if_nametoindex(hostInterface) }

    private let lock = NSLock()
    private var processes: [NamespaceProcess] = []
    private var isShutDown = false

    /// Indices (the /30 number inside 10.77.0.0/16) taken by this test process.
    private static let allocation = NSLock()
    nonisolated(unsafe) private static var taken: Set<Int> = []
    nonisolated(unsafe) private static var counter = 0

    /// Creates the namespace and the veth pair, or throws `NetworkNamespaceUnavailable` (not root, no `ip`, no
    /// free /30) so the test can skip with the reason.
    public init() throws {
        if let reason = Self.unavailableReason { throw NetworkNamespaceUnavailable(reason) }
        Self.removeStaleOnce()
        let pid = getpid()
        var lastError: (any Error)?
        // Other test processes may be doing the same: a clash on a name or an address just means another index.
        for _ in 0..<20 {
            let (index, serial) = Self.allocate()
            let base = index * 4  // 10.77.0.0/16 holds 16,384 /30 networks
            let prefix = "10.77.\(base / 256)."
            let candidate = (name: "cwmpt-\(pid)-\(serial)", host: "cwh\(index)", ns: "cwn\(index)",
                             hostAddress: "\(prefix)\(base % 256 + 1)", nsAddress: "\(prefix)\(base % 256 + 2)",
                             hostAddress6: "fd77:\(String(index, radix: 16))::1",
                             nsAddress6: "fd77:\(String(index, radix: 16))::2")
            if (try? Self.addressInUse("\(prefix)\(base % 256)")) ?? true {
                Self.release(index)
                continue
            }
            do {
                try Self.create(name: candidate.name, host: candidate.host, ns: candidate.ns,
                                hostAddress: candidate.hostAddress, nsAddress: candidate.nsAddress,
                                hostAddress6: candidate.hostAddress6, nsAddress6: candidate.nsAddress6)
                name = candidate.name
                hostInterface = candidate.host
                namespaceInterface = candidate.ns
                hostAddress = candidate.hostAddress
                namespaceAddress = candidate.nsAddress
                hostAddress6 = candidate.hostAddress6
                namespaceAddress6 = candidate.nsAddress6
                self.index = index
                return
            } catch {
                lastError = error
                Self.release(index)
            }
        }
        throw NetworkNamespaceUnavailable("could not create a network namespace: \(lastError.map { "\($0)" } ?? "no free /30 in 10.77.0.0/16")")
    }

    private let index: Int

    deinit { shutdown() }

    /// Starts `arguments` inside the namespace (`ip netns exec NAME …`), with pipes for stdin and stdout; stderr
    /// goes to a temporary file (`NamespaceProcess.standardErrorText`). The process is stopped by `shutdown()`.
    public func run(_ arguments: [String], environment: [String: String]? = nil) throws -> NamespaceProcess {
        guard let ip = Self.ipTool else { throw NetworkNamespaceUnavailable("`ip` not found") }
        let process = try NamespaceProcess(executable: ip, arguments: ["netns", "exec", name] + arguments,
                                           environment: environment)
        lock.lock()
        processes.append(process)
        lock.unlock()
        return process
    }

    /// Runs a short command inside the namespace to completion and returns its stdout (e.g. `ip addr`).
    @discardableResult
    public func execute(_ arguments: [String]) throws -> String {
        try Self.ip(["netns", "exec", name] + arguments)
    }

    /// Stops every process started with `run`, then deletes the veth pair and the namespace. Idempotent.
    public func shutdown() {
        lock.lock()
        if isShutDown { lock.unlock(); return }
        isShutDown = true
        let running = processes
        processes = []
        lock.unlock()
        for process in running { process.stop() }
        // Deleting one end removes both; a namespace with no process left disappears with `netns del`.
        _ = try? Self.ip(["link", "del", hostInterface])
        _ = try? Self.ip(["netns", "del", name])
        Self.release(index)
    }

    // MARK: - iproute2

    private static func create(name: String, host: String, ns: String, hostAddress: String, nsAddress: String,
                               hostAddress6: String, nsAddress6: String) throws {
        try ip(["netns", "add", name])
        do {
            try ip(["link", "add", host, "type", "veth", "peer", "name", ns, "netns", name])
            try ip(["addr", "add", "\(hostAddress)/30", "dev", host])
            try ip(["link", "set", host, "up"])
            try ip(["-n", name, "link", "set", "lo", "up"])
            try ip(["-n", name, "addr", "add", "\(nsAddress)/30", "dev", ns])
            try ip(["-n", name, "link", "set", ns, "up"])
            try ip(["-n", name, "route", "add", "239.0.0.0/8", "dev", ns])
            // IPv6 where the kernel has it (FF02::C needs no route: it is link-scoped and pinned by interface).
            if hasIPv6 {
                try ip(["-6", "addr", "add", "\(hostAddress6)/64", "dev", host, "nodad"])
                try ip(["-n", name, "-6", "addr", "add", "\(nsAddress6)/64", "dev", ns, "nodad"])
            }
        } catch {
            _ = try? ip(["link", "del", host])
            _ = try? ip(["netns", "del", name])
            throw error
        }
    }

    private static func addressInUse(_ network: String) throws -> Bool {
        let prefix = network.split(separator: ".").prefix(3).joined(separator: ".") + "."
        let last = Int(network.split(separator: ".").last ?? "0") ?? 0
        let output = try ip(["-o", "-4", "addr", "show"])
        for word in output.split(whereSeparator: { $0 == " " || $0 == "\n" }) where word.hasPrefix(prefix) {
            let host = word.dropFirst(prefix.count).split(separator: "/").first.flatMap { Int($0) } ?? -1
            if host >= last && host < last + 4 { return true }
        }
        return false
    }

    nonisolated(unsafe) private static var staleRemoved = false

    /// Deletes the namespaces of test processes that died without `shutdown()` (`cwmpt-<pid>-<n>` whose pid is
    /// gone); the veth pair goes with them. Once per test process.
    private static func removeStaleOnce() {
        allocation.lock()
        let first = !staleRemoved
        staleRemoved = true
        allocation.unlock()
        guard first, let list = try? ip(["netns", "list"]) else { return }
        for line in list.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            let parts = name.split(separator: "-")
            guard parts.count == 3, parts[0] == "cwmpt",
                  let pid = Int32(parts[1] == "probe" ? parts[2] : parts[1]), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { _ = try? ip(["netns", "del", name]) }
        }
    }

    private static func allocate() -> (index: Int, serial: Int) {
        allocation.lock()
        defer { allocation.unlock() }
        counter += 1
        var index = Int.random(in: 1..<16_384)
        while taken.contains(index) { index = Int.random(in: 1..<16_384) }
        taken.insert(index)
        return (index, counter)
    }

    private static func release(_ index: Int) {
        allocation.lock()
        taken.remove(index)
        allocation.unlock()
    }

    /// Runs `ip ARGUMENTS` and returns stdout; throws `NetworkNamespaceCommandFailed` with stderr otherwise.
    @discardableResult
    public static func ip(_ arguments: [String]) throws -> String {
        guard let tool = ipTool else { throw NetworkNamespaceUnavailable("`ip` not found") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        let errData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NetworkNamespaceCommandFailed(arguments: ["ip"] + arguments, status: process.terminationStatus,
                                                output: String(decoding: errData, as: UTF8.self))
        }
        return String(decoding: outData, as: UTF8.self)
    }
}

/// A process started inside a namespace: line-oriented stdout (collected by a reader thread), commands on stdin.
public final class NamespaceProcess: @unchecked Sendable {
    public let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errorFile: URL
    private let condition = NSCondition()
    private var lines: [String] = []
    private var ended = false

    init(executable: String, arguments: [String], environment: [String: String]?) throws {
        // A write to the stdin of a peer that has died must be an error, not a SIGPIPE that kills the test runner.
        signal(SIGPIPE, SIG_IGN)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        errorFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("cwmpt-peer-\(getpid())-\(UUID().uuidString).stderr")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.standardInput = input
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        let handle = output.fileHandleForReading
        let thread = Thread { [weak self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    guard let self else { return }
                    self.condition.lock()
                    self.lines.append(line)
                    self.condition.broadcast()
                    self.condition.unlock()
                }
            }
            guard let self else { return }
            self.condition.lock()
            self.ended = true
            self.condition.broadcast()
            self.condition.unlock()
        }
        thread.start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: errorFile)
    }

    public var processIdentifier: Int32 { process.processIdentifier }

    /// Every stdout line so far.
    public var outputLines: [String] {
        condition.lock()
        defer { condition.unlock() }
        return lines
    }

    /// What the process wrote to stderr so far (for failure messages).
    public var standardErrorText: String {
        (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
    }

    /// Waits (at most `timeout` seconds) for a stdout line at index ≥ `from` that satisfies `predicate`; returns
    /// its index and text, or nil on timeout or when the process ended without one.
    public func waitForLine(from: Int = 0, timeout: Double,
                            _ predicate: (String) -> Bool) -> (index: Int, line: String)? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        var next = from
        while true {
            while next < lines.count {
                if predicate(lines[next]) { return (next, lines[next]) }
                next += 1
            }
            if ended || Date() >= deadline { return nil }
            _ = condition.wait(until: deadline)
        }
    }

    /// Writes one line to the process's stdin; throws `NamespaceProcessEnded` when the process has exited (SIGPIPE is
    /// ignored in the test process, see `init`, so the write fails with EPIPE instead of killing the runner).
    public func send(_ line: String) throws {
        if !process.isRunning { throw endedError(request: "`\(line)`") }
        do {
            try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
        } catch {
            _ = waitForExit(5)  // EPIPE: the read end is closed, so the process is exiting or gone
            throw endedError(request: "`\(line)` (\(error))")
        }
    }

    /// Whether the process has exited.
    public var hasEnded: Bool { !process.isRunning }

    /// The error for a request to this process after it ended: its exit status or signal and its stderr tail.
    public func endedError(request: String) -> NamespaceProcessEnded {
        let termination = process.isRunning ? "still running"
            : process.terminationReason == .uncaughtSignal ? "killed by signal \(process.terminationStatus)"
            : "exit status \(process.terminationStatus)"
        return NamespaceProcessEnded(request: request, termination: termination,
                                     standardErrorTail: String(standardErrorText.suffix(2000)))
    }

    /// Closes stdin (the peers stop on EOF, sending their byebyes), then SIGTERM, then SIGKILL; waits for the exit.
    /// The peers unblock SIGTERM themselves: a child of the test runner may inherit it blocked (see ACSPeer.swift).
    public func stop(grace: Double = 3) {
        guard process.isRunning else { return }
        try? input.fileHandleForWriting.close()
        if waitForExit(grace) { return }
        signalChild(process, SIGTERM)
        if waitForExit(2) { return }
        signalChild(process, SIGKILL)
        process.waitUntilExit()
    }

    private func waitForExit(_ seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return !process.isRunning
    }
}
