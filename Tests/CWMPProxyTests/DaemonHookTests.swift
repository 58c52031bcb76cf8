// `cwmp-proxy run` with `gateway.rebootCommand` and `gateway.factoryResetCommand` configured, against the ACS test
// peer: a FactoryReset brings back the configured ManagementServer values (what the ACS set is gone, next session
// `0 BOOTSTRAP`) and runs the configured command; a Reboot runs its command with the CommandKey. The commands only
// write marker files: nothing here reboots anything. Foundation is fine here: tests only.
import CWMPTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: DaemonBinary.isAvailable, "needs the built cwmp-proxy binary and python3 (ACS test peer)"))
struct DaemonHookTests {
    @Test func factoryResetRestoresTheConfigurationAndRunsTheHooks() async throws {
        let peer = try ACSPeer()
        defer { peer.stop() }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let serial = "HOOKTEST"
        try "cr-hook-pw\n".write(toFile: directory + "/cr.pw", atomically: true, encoding: .utf8)
        let hook = #"printf '%s %s' "$CWMP_HOOK" "$CWMP_COMMAND_KEY" > "$1""#
        let configuration = """
            {"acs": {"url": "\(peer.acsURL)", "periodicInformInterval": 3600},
             "connectionRequest": {"address": "127.0.0.1", "port": 0, "username": "acs", "passwordFile": "\(directory)/cr.pw"},
             "gateway": {"manufacturer": "Test", "manufacturerOUI": "00A0C9", "productClass": "GW", "serialNumber": "\(serial)",
                         "rebootCommand": ["/bin/sh", "-c", \(jsonString(hook)), "sh", "\(directory)/reboot.hook"],
                         "factoryResetCommand": ["/bin/sh", "-c", \(jsonString(hook)), "sh", "\(directory)/reset.hook"],
                         "hookTimeoutSeconds": 10},
             "stateDirectory": "\(directory)/state", "logLevel": "debug"}
            """
        try configuration.write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
        let daemon = try Daemon(arguments: ["run", "--config", directory + "/config.json"], directory: directory)
        #expect(await eventually(30) { peer.informCount(serial) >= 1 }, "no first Inform; log:\n\(daemon.log)")

        // The ACS changes the interval, then resets the gateway in the same session.
        try peer.control("POST", "/devices/\(serial)/rpcs", ["rpcs": [
            ["method": "SetParameterValues", "parameter_key": "pk-hook",
             "values": [["name": "Device.ManagementServer.PeriodicInformInterval", "value": 7200, "type": "unsignedInt"]]],
            ["method": "FactoryReset"],
        ]] as [String: Any])
        let before = peer.informCount(serial)
        _ = try peer.control("POST", "/devices/\(serial)/connection-request", ["username": "acs", "password": "cr-hook-pw", "timeout": 5])
        #expect(await eventually(30) {
            peer.informCount(serial) >= before + 2 && peer.eventCodes(peer.lastInform(serial)).contains("0 BOOTSTRAP")
        }, "no BOOTSTRAP after the FactoryReset; log:\n\(daemon.log)")
        #expect(await eventually(30) { (try? String(contentsOfFile: directory + "/reset.hook", encoding: .utf8)) == "factory-reset " })
        let parameters = peer.lastInform(serial)?["parameters"] as? [String: Any] ?? [:]
        #expect(parameters["Device.ManagementServer.ParameterKey"] as? String == "")

        // The configured interval is back; then a Reboot runs its command with the CommandKey.
        try peer.control("POST", "/devices/\(serial)/rpcs", ["rpcs": [
            ["method": "GetParameterValues", "names": ["Device.ManagementServer.PeriodicInformInterval"]],
            ["method": "Reboot", "command_key": "rk-hook"],
        ]] as [String: Any])
        _ = try peer.control("POST", "/devices/\(serial)/connection-request", ["username": "acs", "password": "cr-hook-pw", "timeout": 5])
        #expect(await eventually(30) { (try? String(contentsOfFile: directory + "/reboot.hook", encoding: .utf8)) == "reboot rk-hook" },
                "log:\n\(daemon.log)")
        let responses = (try? peer.control("GET", "/devices/\(serial)/responses")) as? [[String: Any]] ?? []
        let got = responses.last { $0["method"] as? String == "GetParameterValues" }?["values"] as? [String: Any]
        #expect(got?["Device.ManagementServer.PeriodicInformInterval"] as? String == "3600", "\(String(describing: got))")
        #expect(await eventually(30) {
            (peer.lastInform(serial)?["events"] as? [[String: Any]] ?? []).contains {
                $0["code"] as? String == "M Reboot" && $0["command_key"] as? String == "rk-hook"
            }
        })
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0, "log:\n\(daemon.log)")
        #expect(!daemon.log.contains("cr-hook-pw"), "a password reached the log")
    }
}

/// `text` as a JSON string literal.
private func jsonString(_ text: String) -> String {
    let data = try! JSONSerialization.data(withJSONObject: [text])
    let array = String(decoding: data, as: UTF8.self)
    return String(array.dropFirst().dropLast())
}
