// `cwmp-proxy run` restarted with the same state directory and a configuration whose ACS URL changed: the first
// Inform at the new ACS carries `0 BOOTSTRAP` (TR-069 §3.7.1.5: the ACS URL changed since the last bootstrap), and
// the old ACS hears nothing more. Foundation is fine here: tests only.
import CWMPTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized, .enabled(if: DaemonBinary.isAvailable, "needs the built cwmp-proxy binary and python3 (ACS test peer)"))
struct DaemonBootstrapTests {
    /// A configuration for `url` in `directory`, state in `directory/state`; the daemon arguments that use it.
    private func configure(url: String, directory: String, serialNumber: String) throws -> [String] {
        try "cr-secret-pw\n".write(toFile: directory + "/cr.pw", atomically: true, encoding: .utf8)
        let configuration = """
            {"acs": {"url": "\(url)", "periodicInformInterval": 3600},
             "connectionRequest": {"address": "127.0.0.1", "port": 0, "username": "acs", "passwordFile": "\(directory)/cr.pw"},
             "gateway": {"manufacturer": "Test", "manufacturerOUI": "00A0C9", "productClass": "GW", "serialNumber": "\(serialNumber)"},
             "stateDirectory": "\(directory)/state", "logLevel": "debug"}
            """
        try configuration.write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
        return ["run", "--config", directory + "/config.json"]
    }

    @Test func aChangedACSURLInTheConfigurationBootstrapsAtTheNewACSAfterARestart() async throws {
        let old = try ACSPeer()
        defer { old.stop() }
        let new = try ACSPeer()
        defer { new.stop() }
        let directory = try temporaryDirectory()
        let serial = "URLCHANGE"

        let first = try Daemon(arguments: try configure(url: old.acsURL, directory: directory, serialNumber: serial),
                               directory: directory)
        #expect(await eventually(30) { old.informCount(serial) >= 1 }, "no first Inform; log:\n\(first.log)")
        #expect(old.eventCodes(old.lastInform(serial)) == ["0 BOOTSTRAP", "1 BOOT"])
        #expect(await eventually(30) { old.device(serial)?["in_session"] as? Bool == false })
        first.signal(SIGTERM)
        #expect(await first.waitForExit() == 0, "log:\n\(first.log)")
        let informsAtOld = old.informCount(serial)

        // Second life: same state directory, the configuration now names the new ACS.
        let second = try Daemon(arguments: try configure(url: new.acsURL, directory: directory, serialNumber: serial),
                                directory: directory)
        #expect(await eventually(30) { new.informCount(serial) >= 1 }, "no Inform at the new ACS; log:\n\(second.log)")
        #expect(new.eventCodes(new.lastInform(serial)) == ["0 BOOTSTRAP", "1 BOOT"], "log:\n\(second.log)")
        #expect(await eventually(30) { new.device(serial)?["in_session"] as? Bool == false })
        #expect(old.informCount(serial) == informsAtOld)

        // Third life at the new URL again: bootstrapped there already, so 1 BOOT without 0 BOOTSTRAP.
        second.signal(SIGTERM)
        #expect(await second.waitForExit() == 0, "log:\n\(second.log)")
        let third = try Daemon(arguments: try configure(url: new.acsURL, directory: directory, serialNumber: serial),
                               directory: directory)
        #expect(await eventually(30) { new.informCount(serial) >= 2 }, "no Inform after the third start; log:\n\(third.log)")
        let events = new.eventCodes(new.lastInform(serial))
        #expect(events.contains("1 BOOT") && !events.contains("0 BOOTSTRAP"), "\(events)")
        third.signal(SIGTERM)
        _ = await third.waitForExit()
    }
}
