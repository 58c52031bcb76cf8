// `cwmp-proxy run` as a real process against the project's ACS test peer: started with flags only, stopped
// gracefully by SIGTERM, and killed with SIGKILL mid-retry to prove that no pending event is lost or repeated.
// Foundation is fine here: tests only (for Process).
import CWMPTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The built `cwmp-proxy` beside the test bundle (`swift build --build-tests` builds both into one folder).
enum DaemonBinary {
    static let path: String = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("cwmp-proxy").path
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: path) && ACSPeer.python3 != nil }
}

/// One daemon process; its output goes to a log file that the tests read (and check for secrets).
final class Daemon: @unchecked Sendable {
    let process = Process()
    let logPath: String

    init(arguments: [String], directory: String) throws {
        logPath = directory + "/daemon-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: DaemonBinary.path)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) { signalChild(process, signal) }

    /// Waits (bounded) for the process to exit; its status, or nil if it is still running.
    func waitForExit(seconds: Double = 20) async -> Int32? {
        _ = await eventually(seconds) { !process.isRunning }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit {
        killChild(process)
    }
}

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "cwmp-proxy-daemon-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite(.serialized, .enabled(if: DaemonBinary.isAvailable, "needs the built cwmp-proxy binary and python3 (ACS test peer)"))
struct DaemonTests {
    @Test func startsWithFlagsOnlyInformsAndStopsGracefullyOnSIGTERM() async throws {
        let peer = try ACSPeer()
        defer { peer.stop() }
        let directory = try temporaryDirectory()
        let daemon = try Daemon(arguments: [
            "run", "--acs-url", peer.acsURL, "--cr-address", "127.0.0.1", "--cr-port", "0",
            "--state-dir", directory + "/state", "--periodic-inform-interval", "3600",
        ], directory: directory)

        let informed = await eventually(30) { firstDevice(of: peer)?["informs"] as? Int ?? 0 >= 1 }
        #expect(informed, "no Inform reached the ACS; daemon log:\n\(daemon.log)")
        let events = peer.eventCodes(firstDevice(of: peer)?["last_inform"] as? [String: Any])
        #expect(events == ["0 BOOTSTRAP", "1 BOOT"], "first Inform carried \(events)")
        // One session, no follow-up: the ConnectionRequestURL was in place for the first Inform.
        try await Task.sleep(for: .seconds(3))
        #expect(firstDevice(of: peer)?["informs"] as? Int == 1, "informs after start: \(String(describing: firstDevice(of: peer)))")

        daemon.signal(SIGTERM)
        let status = await daemon.waitForExit()
        #expect(status == 0, "SIGTERM must stop the daemon gracefully; log:\n\(daemon.log)")
        #expect(daemon.log.contains("agents stopped"))
    }

    @Test func eventsPendingAtKill9AreDeliveredAfterRestartExactlyOnce() async throws {
        let peer = try ACSPeer()
        defer { peer.stop() }
        let directory = try temporaryDirectory()
        let serial = "KILL9TEST"
        let arguments = try writeConfiguration(peer: peer, directory: directory, serialNumber: serial)

        // First life: the BOOTSTRAP session carries a ScheduleInform (queued by serial before the daemon starts, so
        // it cannot land in any other session); the scheduled Inform five seconds later is refused, so its events
        // are pending and the agent is in its retry wait when it is killed. Queued from the test after the first
        // Inform instead, the RPC raced the BOOTSTRAP session's empty POST: in 1 run of 4 it went into that
        // session, the test's Connection Request session became the refused one and the kill came before the
        // scheduled Inform existed (the failure read as "events lost").
        try peer.control("POST", "/devices/\(serial)/rpcs", ["method": "ScheduleInform", "delay_seconds": 5, "command_key": "kill-9"])
        let first = try Daemon(arguments: arguments, directory: directory)
        #expect(await eventually(30) { peer.informCount(serial) >= 1 }, "no first Inform; log:\n\(first.log)")
        #expect(await eventually(30) { answered(peer, serial, "ScheduleInform") }, "ScheduleInform not answered")
        #expect(await eventually(30) { !inSession(peer, serial) }, "the BOOTSTRAP session did not end")
        try peer.control("POST", "/inject", ["inform_500": 1_000])
        #expect(await eventually(30) { injectedCount(peer) >= 1 }, "the scheduled Inform never came")
        first.signal(SIGKILL)
        _ = await first.waitForExit()
        try peer.control("POST", "/inject", ["inform_500": 0])
        // The refused Inform was the scheduled one (the session's debug line names its events), and it was the
        // only session after the BOOTSTRAP one.
        #expect(first.log.contains(#""3 SCHEDULED""#),
                "the refused Inform was not the scheduled one; log:\n\(first.log)")
        let informsInFirstLife = peer.informCount(serial)
        #expect(informsInFirstLife == 1)

        // Second life: 1 BOOT plus the undelivered events, once. Waited for by the Inform count: the first life's
        // BOOTSTRAP Inform also carried "1 BOOT", so "the last Inform has 1 BOOT" was true before the restart.
        let second = try Daemon(arguments: arguments, directory: directory)
        let redelivered = await eventually(30) { peer.informCount(serial) > informsInFirstLife }
        #expect(redelivered, "no Inform after restart; log:\n\(second.log)")
        let inform = peer.lastInform(serial)
        let events = peer.eventCodes(inform)
        #expect(events.contains("1 BOOT"), "after restart the Inform carried \(events)")
        #expect(!events.contains("0 BOOTSTRAP"), "after restart the Inform carried \(events)")
        #expect(events.contains("3 SCHEDULED"), "after restart the Inform carried \(events)")
        #expect(events.contains("M ScheduleInform"), "after restart the Inform carried \(events)")
        let commandKeys = (inform?["events"] as? [[String: Any]] ?? [])
            .filter { $0["code"] as? String == "M ScheduleInform" }.compactMap { $0["command_key"] as? String }
        #expect(commandKeys == ["kill-9"])
        #expect(await eventually(30) { !inSession(peer, serial) }, "the first session after restart did not end")

        // Acknowledged once, never again: the next session carries only its own event.
        let before = peer.informCount(serial)
        _ = try peer.control("POST", "/devices/\(serial)/connection-request",
                             ["username": "acs", "password": "cr-secret-pw", "timeout": 5])
        #expect(await eventually(30) { peer.informCount(serial) > before })
        #expect(peer.eventCodes(peer.lastInform(serial)) == ["6 CONNECTION REQUEST"])

        second.signal(SIGTERM)
        _ = await second.waitForExit()
        for log in [first.log, second.log] {
            #expect(!log.contains("acs-secret-pw") && !log.contains("cr-secret-pw"), "a password reached the log")
        }
    }

    @Test func managementServerValuesTheACSSetSurviveARestart() async throws {
        let peer = try ACSPeer()
        defer { peer.stop() }
        let directory = try temporaryDirectory()
        let serial = "PERSISTTEST"
        let arguments = try writeConfiguration(peer: peer, directory: directory, serialNumber: serial)

        // First life: the ACS sets the periodic interval and new Connection Request credentials.
        let first = try Daemon(arguments: arguments, directory: directory)
        #expect(await eventually(30) { peer.informCount(serial) >= 1 }, "no first Inform; log:\n\(first.log)")
        let values: [[String: Any]] = [
            ["name": "Device.ManagementServer.PeriodicInformInterval", "value": 7200, "type": "unsignedInt"],
            ["name": "Device.ManagementServer.ConnectionRequestUsername", "value": "acs2"],
            ["name": "Device.ManagementServer.ConnectionRequestPassword", "value": "cr-new-secret"],
        ]
        try peer.control("POST", "/devices/\(serial)/rpcs",
                         ["method": "SetParameterValues", "parameter_key": "persist", "values": values] as [String: Any])
        _ = try peer.control("POST", "/devices/\(serial)/connection-request",
                             ["username": "acs", "password": "cr-secret-pw", "timeout": 5])
        #expect(await eventually(30) { answered(peer, serial, "SetParameterValues") }, "SetParameterValues not answered")
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0, "log:\n\(first.log)")

        // Second life: the ACS's values, not the configuration's.
        let before = peer.informCount(serial)
        let second = try Daemon(arguments: arguments, directory: directory)
        #expect(await eventually(30) { peer.informCount(serial) > before }, "no Inform after restart; log:\n\(second.log)")
        let old = try peer.control("POST", "/devices/\(serial)/connection-request",
                                   ["username": "acs", "password": "cr-secret-pw", "timeout": 5]) as? [String: Any]
        #expect(old?["ok"] as? Bool != true, "the configured credentials must no longer open a session")
        try peer.control("POST", "/devices/\(serial)/rpcs",
                         ["method": "GetParameterValues", "names": ["Device.ManagementServer.PeriodicInformInterval"]])
        let new = try peer.control("POST", "/devices/\(serial)/connection-request",
                                   ["username": "acs2", "password": "cr-new-secret", "timeout": 5]) as? [String: Any]
        #expect(new?["ok"] as? Bool == true, "the ACS's credentials were not restored: \(String(describing: new))")
        #expect(await eventually(30) { answered(peer, serial, "GetParameterValues") }, "GetParameterValues not answered")
        let responses = (try? peer.control("GET", "/devices/\(serial)/responses")) as? [[String: Any]] ?? []
        let got = responses.last { $0["method"] as? String == "GetParameterValues" }?["values"] as? [String: Any]
        #expect(got?["Device.ManagementServer.PeriodicInformInterval"] as? String == "7200", "\(String(describing: got))")

        second.signal(SIGTERM)
        _ = await second.waitForExit()
        for log in [first.log, second.log] {
            #expect(!log.contains("cr-new-secret") && !log.contains("cr-secret-pw"), "a password reached the log")
        }
    }
}

/// A configuration file (with password files "acs-secret-pw" and "cr-secret-pw") for a gateway with this serial
/// number talking to `peer`; the daemon arguments that use it.
private func writeConfiguration(peer: ACSPeer, directory: String, serialNumber: String) throws -> [String] {
    try "acs-secret-pw\n".write(toFile: directory + "/acs.pw", atomically: true, encoding: .utf8)
    try "cr-secret-pw\n".write(toFile: directory + "/cr.pw", atomically: true, encoding: .utf8)
    let configuration = """
        {"acs": {"url": "\(peer.acsURL)", "username": "gw", "passwordFile": "\(directory)/acs.pw",
                 "periodicInformInterval": 3600},
         "connectionRequest": {"address": "127.0.0.1", "port": 0, "username": "acs", "passwordFile": "\(directory)/cr.pw"},
         "gateway": {"manufacturer": "Test", "manufacturerOUI": "00A0C9", "productClass": "GW", "serialNumber": "\(serialNumber)"},
         "stateDirectory": "\(directory)/state", "logLevel": "debug"}
        """
    try configuration.write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
    return ["run", "--config", directory + "/config.json"]
}

private func firstDevice(of peer: ACSPeer) -> [String: Any]? {
    ((try? peer.control("GET", "/devices")) as? [[String: Any]])?.first
}

private func answered(_ peer: ACSPeer, _ device: String, _ method: String) -> Bool {
    let responses = (try? peer.control("GET", "/devices/\(device)/responses")) as? [[String: Any]] ?? []
    return responses.contains { $0["method"] as? String == method && !($0["fault"] is [String: Any]) }
}

/// Whether the peer has a session of this device open.
private func inSession(_ peer: ACSPeer, _ device: String) -> Bool {
    let json = (try? peer.control("GET", "/devices/\(device)")) as? [String: Any]
    return json?["in_session"] as? Bool ?? true
}

private func injectedCount(_ peer: ACSPeer) -> Int {
    let stats = (try? peer.control("GET", "/stats")) as? [String: Any]
    return (stats?["injected"] as? [String: Any])?["inform_500"] as? Int ?? 0
}
