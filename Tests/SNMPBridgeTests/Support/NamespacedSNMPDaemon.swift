// A real snmpd started by a test in a network namespace of its own (`ip netns add`), listening on that namespace's
// loopback. The namespace gives each test its own interfaces (veth pairs it creates, renames, deletes, so that
// ifIndex really renumbers) and its own port 161, so tests run in parallel without port clashes and nothing
// reaches eth0. net-snmp's own tools (snmpwalk/snmpget/snmpset) run inside the namespace too.
//
// (The snmp-core branch brings `SNMPDaemonPeer` and the Swift client; this helper only needs the CLI tools.)
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import SNMPBridge

final class NamespacedSNMPDaemon: @unchecked Sendable {
    struct CommandError: Error, CustomStringConvertible {
        var command: [String]
        var status: Int32
        var output: String
        var description: String { "\(command.joined(separator: " ")) exited \(status): \(output)" }
    }

    /// Why the test cannot run here, or nil.
    static var unavailableReason: String? {
        guard getuid() == 0 else { return "needs root to create a network namespace" }
        for tool in ["/usr/sbin/snmpd", "/usr/bin/snmpwalk", "/usr/bin/snmpget", "/usr/bin/snmpset"] {
            guard FileManager.default.isExecutableFile(atPath: tool) else { return "\(tool) is not installed (scripts/install-deps --tests)" }
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/usr/bin/ip") ||
              FileManager.default.isExecutableFile(atPath: "/sbin/ip") else { return "iproute2's ip is not installed" }
        return nil
    }

    let namespace: String
    let directory: URL
    private var daemonPID: pid_t?
    private let configLines: [String]

    /// `configLines` are added to snmpd.conf (`override …` rows, `sysName …`).
    private init(configLines: [String]) throws {
        namespace = "cwmp-snmp-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(namespace)
        self.configLines = configLines
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Runs `body` with a started daemon and removes the namespace afterwards, whatever happens.
    static func with<T>(configLines: [String] = [], setUp: (NamespacedSNMPDaemon) async throws -> Void = { _ in },
                        _ body: (NamespacedSNMPDaemon) async throws -> T) async throws -> T {
        let daemon = try NamespacedSNMPDaemon(configLines: configLines)
        do {
            try await Self.run(["ip", "netns", "add", daemon.namespace])
            try await daemon.inNamespace(["ip", "link", "set", "lo", "up"])
            try await setUp(daemon)
            try await daemon.start()
            let result = try await body(daemon)
            await daemon.shutdown()
            return result
        } catch {
            await daemon.shutdown()
            throw error
        }
    }

    func start() async throws {
        let config = directory.appendingPathComponent("snmpd.conf")
        let lines = [
            "agentAddress udp:127.0.0.1:161",
            "rocommunity public 127.0.0.1",
            "rwcommunity private 127.0.0.1",
        ] + configLines
        try (lines.joined(separator: "\n") + "\n").write(to: config, atomically: true, encoding: .utf8)
        daemonPID = try Self.spawn(["ip", "netns", "exec", namespace, "snmpd", "-f", "-Lf", directory.appendingPathComponent("snmpd.log").path,
                                    "-C", "-c", config.path, "-p", directory.appendingPathComponent("snmpd.pid").path], output: "/dev/null")
        // Bounded wait until the agent answers (snmpget has its own 1 s timeout and no retries here).
        for _ in 0..<40 {
            if (try? await get(["1.3.6.1.2.1.1.3.0"], retries: 0)) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CommandError(command: ["snmpd"], status: -1, output: "did not answer within 4 s")
    }

    /// Stops snmpd with SIGKILL (the test runner's children may inherit a signal mask that blocks SIGTERM, and
    /// nothing of the agent's state needs saving).
    func stop() {
        guard let pid = daemonPID else { return }
        daemonPID = nil
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    func shutdown() async {
        stop()
        _ = try? await Self.run(["ip", "netns", "del", namespace])
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    func inNamespace(_ arguments: [String]) async throws -> String {
        try await Self.run(["ip", "netns", "exec", namespace] + arguments)
    }

    /// The kernel's ifindex of an interface in the namespace (net-snmp's ifIndex on Linux).
    func interfaceIndex(_ name: String) async throws -> UInt32? {
        let line = try await inNamespace(["ip", "-o", "link", "show", "dev", name])
        return line.split(separator: ":").first.flatMap { UInt32($0) }
    }

    /// snmpd's process id (from its pid file).
    func pid() throws -> Int32? {
        let text = try String(contentsOf: directory.appendingPathComponent("snmpd.pid"), encoding: .utf8)
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static let tool = ["-v2c", "-On", "-M", "/nonexistent", "-m", ""]

    /// `snmpwalk -On -Ox -Oe` of `root`, parsed.
    func walk(_ root: String) async throws -> [SNMPVarBind] {
        try NetSNMPOutput.parse(await inNamespace(["snmpwalk"] + Self.tool + ["-c", "public", "-Ox", "-Oe", "127.0.0.1", root]))
    }

    /// Walks of several subtrees, concatenated: a recording to serve through snmpsim (`ReplayedAgent`).
    func record(_ roots: [String]) async throws -> [SNMPVarBind] {
        var result: [SNMPVarBind] = []
        for root in roots { result += try await walk(root) }
        return result
    }

    /// `snmpget -On` with net-snmp's default rendering (`STRING: "eth0"`, `Timeticks: (12) …`), one line per OID.
    func get(_ oids: [String], retries: Int = 1) async throws -> [String: String] {
        let output = try await inNamespace(["snmpget"] + Self.tool + ["-c", "public", "-r", String(retries), "-t", "1", "127.0.0.1"] + oids)
        var result: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let separator = line.firstRange(of: " = ") else { continue }
            result[String(line[line.index(after: line.startIndex)..<separator.lowerBound])] = String(line[separator.upperBound...])
        }
        return result
    }

    /// `snmpset` through the read-write community; returns the tool's output.
    @discardableResult
    func set(_ oid: String, type: String, value: String) async throws -> String {
        try await inNamespace(["snmpset"] + Self.tool + ["-c", "private", "127.0.0.1", oid, type, value])
    }

    /// Starts a command with stdout and stderr to `output` (a file, never a pipe: a pipe's write end inherited by
    /// a concurrently spawned long-lived child would keep readers from seeing end-of-file).
    static func spawn(_ arguments: [String], output: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables = ["MIBDIRS=/nonexistent", "MIBS=", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
        let environment: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
        defer { environment.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environment)
        guard result == 0 else { throw CommandError(command: arguments, status: result, output: "posix_spawnp failed") }
        return pid
    }

    /// Runs a command to completion on a thread of its own, so that waiting for it blocks no thread of Swift's
    /// cooperative pool (every command used exits on its own: the snmp tools have -t/-r bounds).
    @discardableResult
    static func run(_ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try runBlocking(arguments) }) }.start()
        }
    }

    private static func runBlocking(_ arguments: [String]) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cwmp-snmp-out-" + String(UInt64.random(in: 0...UInt64.max), radix: 36))
        defer { try? FileManager.default.removeItem(at: file) }
        let pid = try spawn(arguments, output: file.path)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = String(decoding: (try? Data(contentsOf: file)) ?? Data(), as: UTF8.self)
        // Exited normally with status 0 (WIFEXITED && WEXITSTATUS == 0).
        let exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        guard exitStatus == 0 else { throw CommandError(command: arguments, status: exitStatus, output: output) }
        return output
    }
}
