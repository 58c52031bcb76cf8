// `cwmp-proxy run` answers Download (TR-069 Table 5: REQUIRED of a CPE): with a hook configured for the FileType,
// the file is fetched from a real HTTP server (Python's http.server), applied by the hook, and reported with
// TransferComplete (FaultCode 0) after `7 TRANSFER COMPLETE` + `M Download`. Foundation is fine here: tests only.
import CWMPTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized, .enabled(if: DaemonBinary.isAvailable, "needs the built cwmp-proxy binary and python3 (ACS test peer)"))
struct DaemonDownloadTests {
    @Test func aDownloadIsFetchedAppliedByTheConfiguredHookAndReported() async throws {
        let peer = try ACSPeer()
        defer { peer.stop() }
        let files = try StaticFileServer()
        defer { files.stop() }
        let directory = try temporaryDirectory()
        let serial = "DOWNLOADTEST"
        let content = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try content.write(to: URL(fileURLWithPath: files.directory + "/fw.bin"))
        let applied = directory + "/applied.bin"
        let hook = directory + "/apply.sh"
        try "#!/bin/sh\ncp \"$1\" '\(applied)'\n".write(toFile: hook, atomically: true, encoding: .utf8)
        chmod(hook, 0o755)
        try "cr-secret-pw\n".write(toFile: directory + "/cr.pw", atomically: true, encoding: .utf8)
        let configuration = """
            {"acs": {"url": "\(peer.acsURL)", "periodicInformInterval": 3600},
             "connectionRequest": {"address": "127.0.0.1", "port": 0, "username": "acs", "passwordFile": "\(directory)/cr.pw"},
             "downloads": {"hooks": {"1 Firmware Upgrade Image": "\(hook)"}, "maximumFileSize": 1048576, "timeLimitSeconds": 60},
             "gateway": {"manufacturer": "Test", "manufacturerOUI": "00A0C9", "productClass": "GW", "serialNumber": "\(serial)"},
             "stateDirectory": "\(directory)/state", "logLevel": "debug"}
            """
        try configuration.write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)

        let daemon = try Daemon(arguments: ["run", "--config", directory + "/config.json"], directory: directory)
        #expect(await eventually(30) { peer.informCount(serial) >= 1 }, "no first Inform; log:\n\(daemon.log)")
        try peer.control("POST", "/devices/\(serial)/rpcs",
                         ["method": "Download", "command_key": "fw-42", "file_type": "1 Firmware Upgrade Image",
                          "url": files.url("fw.bin"), "file_size": content.count])
        #expect(await eventually(30) { peer.device(serial)?["in_session"] as? Bool == false })
        let answer = try peer.control("POST", "/devices/\(serial)/connection-request",
                                      ["username": "acs", "password": "cr-secret-pw", "timeout": 5]) as? [String: Any]
        #expect(answer?["status"] as? Int == 200)

        let reported = await eventually(30) {
            let requests = (try? peer.control("GET", "/devices/\(serial)/requests")) as? [[String: Any]] ?? []
            return requests.contains { $0["method"] as? String == "TransferComplete" }
        }
        #expect(reported, "no TransferComplete; log:\n\(daemon.log)")
        let requests = try peer.control("GET", "/devices/\(serial)/requests") as? [[String: Any]] ?? []
        let args = requests.first { $0["method"] as? String == "TransferComplete" }?["args"] as? [String: Any]
        #expect(args?["CommandKey"] as? String == "fw-42")
        #expect((args?["FaultStruct"] as? [String: Any])?["FaultCode"] as? String == "0", "\(String(describing: args))")
        let events = peer.lastInform(serial)?["events"] as? [[String: Any]] ?? []
        #expect(events.contains { $0["code"] as? String == "7 TRANSFER COMPLETE" })
        #expect(events.contains { $0["code"] as? String == "M Download" && $0["command_key"] as? String == "fw-42" })
        #expect(try Data(contentsOf: URL(fileURLWithPath: applied)) == content)

        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0, "log:\n\(daemon.log)")
        #expect(!daemon.log.contains("cr-secret-pw"))
    }
}
