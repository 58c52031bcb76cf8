// `cwmp-proxy discover --snmp` as a real process against a real snmpd (SNMPDaemonPeer on loopback), v2c and v3;
// values compared with net-snmp's own snmpget; passwords must appear in no output.
// Foundation is fine here: tests only (for Process and JSONDecoder).
import CWMPTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// One finished run of the binary: exit status, standard output and standard error.
private func runDiscover(_ arguments: [String], timeout: Double = 60) async throws -> (status: Int32, out: String, err: String) {
    let directory = FileManager.default.temporaryDirectory.path + "/snmp-discover-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let outPath = directory + "/out", errPath = directory + "/err"
    _ = FileManager.default.createFile(atPath: outPath, contents: nil)
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: DaemonBinary.path)
    process.arguments = arguments
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
    if process.isRunning {
        signalChild(process, SIGKILL)
        Issue.record("cwmp-proxy \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
    }
    process.waitUntilExit()
    return (process.terminationStatus, (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
}

private struct SNMPDiscoverJSON: Decodable {
    struct Report: Decodable {
        struct Parameter: Decodable { var name: String; var value: String; var instanceKeys: [String]? }
        struct Identity: Decodable { var manufacturerOUI: String; var productClass: String; var serialNumber: String }
        var agent: String
        var sysName: String?
        var profiles: [String]
        var identity: Identity?
        var parameters: [Parameter]
        var error: String?
    }
    var snmp: [Report]
}

/// The value text of `snmpget -Oqv` (quotes removed).
private func snmpget(_ peer: SNMPDaemonPeer, _ oid: String) throws -> String {
    let result = try peer.tool("snmpget", ["-v2c", "-c", "public", "-Oqv"], [oid])
    var text = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
    return text
}

@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: DaemonBinary.path)
                && FileManager.default.isExecutableFile(atPath: SNMPDaemonPeer.snmpdPath), "needs the built cwmp-proxy and snmpd"))
struct SNMPDiscoverCommandTests {
    @Test func v2cJSONAgreesWithSnmpget() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let run = try await runDiscover(["discover", "--snmp", "127.0.0.1:\(peer.port)", "--community", "public", "--json"])
        #expect(run.status == 0, "\(run.err)")
        let decoded = try JSONDecoder().decode(SNMPDiscoverJSON.self, from: Data(run.out.utf8))
        let report = try #require(decoded.snmp.first)
        #expect(report.error == nil)
        #expect(report.profiles.contains("snmpv2-system"))
        #expect(report.identity != nil)
        let values = Dictionary(report.parameters.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(values["Device.DeviceInfo.HostName"] == (try snmpget(peer, "1.3.6.1.2.1.1.5.0")))
        #expect(values["Device.DeviceInfo.Description"] == (try snmpget(peer, "1.3.6.1.2.1.1.1.0")))
        #expect(report.sysName == values["Device.DeviceInfo.HostName"])
        // lo is an IP.Interface (not Ethernet): its Name is ifName of some row.
        let ipNames = report.parameters.filter { $0.name.hasPrefix("Device.IP.Interface.") && $0.name.hasSuffix(".Name") }.map(\.value)
        #expect(ipNames.contains("lo"))
    }

    @Test func v3TextOutputShowsNoPassword() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let user = SNMPDaemonPeer.user("sha-aes-user")
        let directory = FileManager.default.temporaryDirectory.path + "/snmp-discover-pw-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try (user.authPassword! + "\n").write(toFile: directory + "/auth", atomically: true, encoding: .utf8)
        try (user.privPassword! + "\n").write(toFile: directory + "/priv", atomically: true, encoding: .utf8)
        let run = try await runDiscover(["discover", "--snmp", "127.0.0.1:\(peer.port)", "--snmp-v3-user", user.name,
                                         "--auth-protocol", "SHA", "--auth-password-file", directory + "/auth",
                                         "--priv-protocol", "AES", "--priv-password-file", directory + "/priv"])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("Device.DeviceInfo.HostName = \(try snmpget(peer, "1.3.6.1.2.1.1.5.0"))"))
        #expect(run.out.contains("profiles: "))
        for secret in [user.authPassword!, user.privPassword!] {
            #expect(!run.out.contains(secret) && !run.err.contains(secret))
        }
        // A wrong privacy password: the agent is reported unreadable (exit 2), still without the password.
        try "wrong-priv-password\n".write(toFile: directory + "/priv", atomically: true, encoding: .utf8)
        let wrong = try await runDiscover(["discover", "--snmp", "127.0.0.1:\(peer.port)", "--snmp-v3-user", user.name,
                                           "--auth-protocol", "SHA", "--auth-password-file", directory + "/auth",
                                           "--priv-protocol", "AES", "--priv-password-file", directory + "/priv",
                                           "--snmp-timeout", "1"])
        #expect(wrong.status == 2)
        #expect(wrong.out.contains("error: "))
        #expect(!wrong.out.contains("wrong-priv-password") && !wrong.err.contains("wrong-priv-password"))
    }

    @Test func missingHostsIsAUsageError() async throws {
        let run = try await runDiscover(["discover"])
        #expect(run.status != 0)
        #expect(run.err.contains("--snmp"))
    }
}

/// `discover --snmp [::1]:PORT`: the recorded switch served by snmpsim on IPv6 loopback, read by the real binary.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: DaemonBinary.path) && SNMPSimPeer.unavailableReason == nil
                && SNMPSimPeer.ipv6LoopbackAvailable, "needs the built cwmp-proxy, snmpsim (Tests/Peers/.venv) and ::1"))
struct SNMPDiscoverIPv6Tests {
    @Test func discoversARecordedSwitchOnIPv6Loopback() async throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("SNMPBridgeTests/Fixtures/switch.snmprec")
        let peer = try SNMPSimPeer(devices: ["switch": try String(contentsOf: fixture, encoding: .utf8)], ipv6: true)
        defer { peer.stop() }
        let port = try #require(peer.ipv6Port)
        let run = try await runDiscover(["discover", "--snmp", "[::1]:\(port)", "--community", "switch", "--json"])
        #expect(run.status == 0, "\(run.err)")
        let report = try #require(try JSONDecoder().decode(SNMPDiscoverJSON.self, from: Data(run.out.utf8)).snmp.first)
        #expect(report.agent == "[::1]:\(port)")
        #expect(report.error == nil)
        #expect(report.sysName == "access-sw-01")
        #expect(report.identity?.serialNumber == "AX100-000123")
        let values = Dictionary(report.parameters.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(values["Device.DeviceInfo.Manufacturer"] == "Acme Networks")
        // A malformed address is refused by the argument parser, naming the problem.
        let bad = try await runDiscover(["discover", "--snmp", "[::1", "--community", "switch"])
        #expect(bad.status != 0)
        #expect(bad.err.contains("without closing"))
    }
}

