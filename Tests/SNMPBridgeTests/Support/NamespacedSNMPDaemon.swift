// A real snmpd started by a test in a network namespace of its own (`ip netns add`), listening on that namespace's
// loopback. The namespace gives each test its own interfaces (veth pairs it creates, renames, deletes, so that
// ifIndex really renumbers) and its own port 161, so tests run in parallel without port clashes and nothing
// reaches eth0. net-snmp's own tools (snmpwalk/snmpget/snmpset) run inside the namespace too.
//
// (The snmp-core branch brings `SNMPDaemonPeer` and the Swift client; this helper only needs the CLI tools.)
import Foundation
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
    private var process: Process?
    private let configLines: [String]

    /// `configLines` are added to snmpd.conf (`override …` rows, `sysName …`).
    init(configLines: [String] = []) throws {
        namespace = "cwmp-snmp-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(namespace)
        self.configLines = configLines
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        _ = try Self.run(["ip", "netns", "add", namespace])
        _ = try inNamespace(["ip", "link", "set", "lo", "up"])
    }

    /// Runs `body` with a started daemon and removes the namespace afterwards, whatever happens.
    static func with<T>(configLines: [String] = [], setUp: (NamespacedSNMPDaemon) throws -> Void = { _ in },
                        _ body: (NamespacedSNMPDaemon) async throws -> T) async throws -> T {
        let daemon = try NamespacedSNMPDaemon(configLines: configLines)
        do {
            try setUp(daemon)
            try daemon.start()
            let result = try await body(daemon)
            daemon.shutdown()
            return result
        } catch {
            daemon.shutdown()
            throw error
        }
    }

    func start() throws {
        let config = directory.appendingPathComponent("snmpd.conf")
        let lines = [
            "agentAddress udp:127.0.0.1:161",
            "rocommunity public 127.0.0.1",
            "rwcommunity private 127.0.0.1",
        ] + configLines
        try (lines.joined(separator: "\n") + "\n").write(to: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip", "netns", "exec", namespace, "snmpd", "-f", "-Lf", directory.appendingPathComponent("snmpd.log").path,
                             "-C", "-c", config.path, "-p", directory.appendingPathComponent("snmpd.pid").path]
        // No MIB files are needed (and Debian ships few): keep net-snmp from loading any.
        process.environment = ["MIBDIRS": "/nonexistent", "MIBS": "", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // Bounded wait until the agent answers (snmpget has its own 1 s timeout and no retries here).
        for _ in 0..<40 {
            if (try? get(["1.3.6.1.2.1.1.3.0"], retries: 0)) != nil { return }
            usleep(100_000)
        }
        throw CommandError(command: ["snmpd"], status: -1, output: "did not answer within 4 s")
    }

    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }

    func shutdown() {
        stop()
        _ = try? Self.run(["ip", "netns", "del", namespace])
        try? FileManager.default.removeItem(at: directory)
    }

    @discardableResult
    func inNamespace(_ arguments: [String]) throws -> String {
        try Self.run(["ip", "netns", "exec", namespace] + arguments)
    }

    /// The kernel's ifindex of an interface in the namespace (net-snmp's ifIndex on Linux).
    func interfaceIndex(_ name: String) throws -> UInt32? {
        let line = try inNamespace(["ip", "-o", "link", "show", "dev", name])
        return line.split(separator: ":").first.flatMap { UInt32($0) }
    }

    /// snmpd's process id (from its pid file).
    func pid() throws -> Int32? {
        let text = try String(contentsOf: directory.appendingPathComponent("snmpd.pid"), encoding: .utf8)
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static let tool = ["-v2c", "-On", "-M", "/nonexistent", "-m", ""]

    /// `snmpwalk -On -Ox -Oe` of `root`, parsed.
    func walk(_ root: String) throws -> [SNMPVarBind] {
        try NetSNMPOutput.parse(inNamespace(["snmpwalk"] + Self.tool + ["-c", "public", "-Ox", "-Oe", "127.0.0.1", root]))
    }

    /// Walks of several subtrees, concatenated: a recording to replay through `RecordedAgent`.
    func record(_ roots: [String]) throws -> [SNMPVarBind] {
        try roots.flatMap { try walk($0) }
    }

    /// `snmpget -On` with net-snmp's default rendering (`STRING: "eth0"`, `Timeticks: (12) …`), one line per OID.
    func get(_ oids: [String], retries: Int = 1) throws -> [String: String] {
        let output = try inNamespace(["snmpget"] + Self.tool + ["-c", "public", "-r", String(retries), "-t", "1", "127.0.0.1"] + oids)
        var result: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let separator = line.firstRange(of: " = ") else { continue }
            result[String(line[line.index(after: line.startIndex)..<separator.lowerBound])] = String(line[separator.upperBound...])
        }
        return result
    }

    /// `snmpset` through the read-write community; returns the tool's output.
    @discardableResult
    func set(_ oid: String, type: String, value: String) throws -> String {
        try inNamespace(["snmpset"] + Self.tool + ["-c", "private", "127.0.0.1", oid, type, value])
    }

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = ["MIBDIRS": "/nonexistent", "MIBS": "", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        // Output goes to a file, not a pipe: tests spawn in parallel, and a pipe's write end inherited by a
        // concurrently spawned long-lived child (snmpd) would keep the read from ever seeing end-of-file.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cwmp-snmp-out-" + String(UInt64.random(in: 0...UInt64.max), radix: 36))
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else { throw CommandError(command: arguments, status: -1, output: "cannot create \(file.path)") }
        defer { try? FileManager.default.removeItem(at: file) }
        let handle = try FileHandle(forWritingTo: file)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        try handle.close()
        let output = String(decoding: try Data(contentsOf: file), as: UTF8.self)
        guard process.terminationStatus == 0 else { throw CommandError(command: arguments, status: process.terminationStatus, output: output) }
        return output
    }
}
