// `cwmp-proxy run` as a real process against the project's ACS test peer: SIGHUP reloads (values the ACS set
// survive a reload of an unchanged file, a changed value is applied, a new URL bootstraps there, a new CA bundle is
// used by the next https session, an invalid file is logged and changes nothing), and a start with all the daemon's flags and no file against an ACS that demands
// Digest authentication. Foundation is fine here: tests only (for Process).
import CWMPTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: DaemonBinary.isAvailable, "needs the built cwmp-proxy binary and python3 (ACS test peer)"))
struct DaemonReloadTests {
    /// (a) The ACS moves the gateway to a second ACS and sets PeriodicInformInterval; a SIGHUP with the file
    /// unchanged keeps both (the next Inform goes to the second ACS). (b) A value changed in the file is applied,
    /// and only that one (the URL stays the ACS's); a changed `logLevel` takes effect; a key read only at start is
    /// logged as needing a restart.
    @Test func aReloadKeepsWhatTheACSSetAndAppliesWhatTheFileChanged() async throws {
        let first = try ACSPeer()
        defer { first.stop() }
        let second = try ACSPeer()
        defer { second.stop() }
        let directory = try temporaryDirectory()
        let serial = "RELOADKEEP"
        var file = ReloadConfigurationFile(directory: directory, serialNumber: serial, acsURL: first.acsURL)
        let daemon = try Daemon(arguments: try file.write(), directory: directory)
        defer { daemon.signal(SIGKILL) }
        #expect(await eventually(30) { first.informCount(serial) >= 1 }, "no first Inform; log:\n\(daemon.log)")
        #expect(await eventually(30) { daemon.log.contains("configuration reload armed") }, "log:\n\(daemon.log)")

        // (a) The ACS sets the URL (the second peer) and the interval; the agent bootstraps at the second peer.
        try first.control("POST", "/devices/\(serial)/rpcs", ["method": "SetParameterValues", "parameter_key": "move", "values": [
            ["name": "Device.ManagementServer.URL", "value": second.acsURL],
            ["name": "Device.ManagementServer.PeriodicInformInterval", "value": 7200, "type": "unsignedInt"],
        ]] as [String: Any])
        try requestConnection(first, serial)
        #expect(await eventually(30) { responded(first, serial, "SetParameterValues") }, "SPV not answered; log:\n\(daemon.log)")
        #expect(await eventually(30) { second.informCount(serial) >= 1 }, "no Inform at the new URL; log:\n\(daemon.log)")
        #expect(second.eventCodes(second.lastInform(serial)).contains("0 BOOTSTRAP"))
        #expect(await eventually(30) { !sessionOpen(second, serial) }, "the BOOTSTRAP session did not end")
        let informsAtFirst = first.informCount(serial)

        // SIGHUP, file unchanged: nothing applied.
        daemon.signal(SIGHUP)
        #expect(await eventually(30) { daemon.log.components(separatedBy: "configuration reloaded").count == 2 },
                "no reload; log:\n\(daemon.log)")
        #expect(daemon.log.contains("config.keys.applied= ["), "an unchanged file applied something; log:\n\(daemon.log)")
        let afterUnchanged = try await managementServerValues(second, serial, daemon)
        #expect(afterUnchanged["Device.ManagementServer.URL"] == second.acsURL)
        #expect(afterUnchanged["Device.ManagementServer.PeriodicInformInterval"] == "7200")
        #expect(second.eventCodes(second.lastInform(serial)) == ["6 CONNECTION REQUEST"],
                "the Inform after the reload carried \(second.eventCodes(second.lastInform(serial)))")
        #expect(first.informCount(serial) == informsAtFirst, "the gateway went back to the configured ACS")
        #expect(informs(second, "0 BOOTSTRAP") == 1, "one BOOTSTRAP at the new ACS, no more")
        // Debug lines were written so far (the file says debug): the check after the next reload can fail.
        #expect(debugLines(in: daemon.log) > 0)

        // (b) The file changes the interval, the log level and a key read only at start.
        file.periodicInformInterval = 900
        file.logLevel = "info"
        file.maxConnections = 100
        _ = try file.write()
        daemon.signal(SIGHUP)
        #expect(await eventually(30) { daemon.log.components(separatedBy: "configuration reloaded").count == 3 },
                "no second reload; log:\n\(daemon.log)")
        #expect(daemon.log.contains("config.keys.applied=acs.periodicInformInterval,logLevel"), "log:\n\(daemon.log)")
        #expect(daemon.log.contains("configuration change needs a restart")
                && daemon.log.contains("config.keys.restart=connectionRequest.maxConnections"), "log:\n\(daemon.log)")
        let afterChange = try await managementServerValues(second, serial, daemon)
        #expect(afterChange["Device.ManagementServer.PeriodicInformInterval"] == "900")
        #expect(afterChange["Device.ManagementServer.URL"] == second.acsURL, "the file did not change the URL")
        #expect(first.informCount(serial) == informsAtFirst)
        // A whole session ran after the reload that switched to info: not one debug line since.
        let tail = daemon.log.components(separatedBy: "configuration reloaded").last ?? ""
        #expect(debugLines(in: tail) == 0, "debug lines after logLevel became info:\n\(tail)")

        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0, "log:\n\(daemon.log)")
        #expect(!daemon.log.contains("acs-secret-pw") && !daemon.log.contains("cr-secret-pw"), "a password reached the log")
    }

    /// (d) An invalid file is logged with the key at fault and the daemon runs and informs on the old configuration;
    /// (c) then a valid file with a new URL gives a `0 BOOTSTRAP` session at that URL.
    @Test func anInvalidFileChangesNothingAndANewURLBootstrapsThere() async throws {
        let first = try ACSPeer()
        defer { first.stop() }
        let third = try ACSPeer()
        defer { third.stop() }
        let directory = try temporaryDirectory()
        let serial = "RELOADBAD"
        var file = ReloadConfigurationFile(directory: directory, serialNumber: serial, acsURL: first.acsURL)
        let arguments = try file.write()
        let daemon = try Daemon(arguments: arguments, directory: directory)
        defer { daemon.signal(SIGKILL) }
        #expect(await eventually(30) { first.informCount(serial) >= 1 }, "no first Inform; log:\n\(daemon.log)")
        #expect(await eventually(30) { daemon.log.contains("configuration reload armed") }, "log:\n\(daemon.log)")
        #expect(await eventually(30) { !sessionOpen(first, serial) }, "the BOOTSTRAP session did not end")

        // (d) Not JSON, then a value out of range; each is named in the log.
        try "{\"acs\": ".write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        #expect(await eventually(30) { daemon.log.contains("config.key=(file)") }, "log:\n\(daemon.log)")
        file.url = third.acsURL
        file.periodicInformInterval = 0
        _ = try file.write()
        daemon.signal(SIGHUP)
        #expect(await eventually(30) { daemon.log.contains("config.key=acs.periodicInformInterval") }, "log:\n\(daemon.log)")
        #expect(daemon.log.components(separatedBy: "configuration reload failed").count == 3)
        #expect(!daemon.log.contains("configuration reloaded"), "an invalid file was applied; log:\n\(daemon.log)")
        // Still running, still informing the old ACS with the old settings.
        let before = first.informCount(serial)
        let values = try await managementServerValues(first, serial, daemon)
        #expect(first.informCount(serial) > before)
        #expect(values["Device.ManagementServer.URL"] == first.acsURL)
        #expect(values["Device.ManagementServer.PeriodicInformInterval"] == "3600")
        #expect(third.informCount(serial) == 0)

        // (c) Fixed: the new URL is applied and the agent bootstraps there, without being asked to.
        file.periodicInformInterval = 3600
        _ = try file.write()
        daemon.signal(SIGHUP)
        #expect(await eventually(30) { daemon.log.contains("config.keys.applied=acs.url") }, "log:\n\(daemon.log)")
        #expect(await eventually(30) { third.informCount(serial) >= 1 }, "no Inform at the new URL; log:\n\(daemon.log)")
        let events = third.eventCodes(third.lastInform(serial))
        #expect(events.contains("0 BOOTSTRAP"), "the first Inform at the new URL carried \(events)")

        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0, "log:\n\(daemon.log)")
        #expect(!daemon.log.contains("acs-secret-pw") && !daemon.log.contains("cr-secret-pw"), "a password reached the log")
    }

    /// Password files rewritten (rotated) and reloaded: the ACS password at the next session against an ACS that
    /// demands Digest, the Connection Request password at the next request (the old one gets 401). Neither reaches
    /// the log.
    @Test func rotatedPasswordFilesAreUsedAfterAReload() async throws {
        let peer = try ACSPeer(arguments: ["--auth", "digest", "--username", "gw"], password: "acs-secret-pw")
        defer { peer.stop() }
        let directory = try temporaryDirectory()
        let serial = "RELOADPW"
        var file = ReloadConfigurationFile(directory: directory, serialNumber: serial, acsURL: peer.acsURL)
        let daemon = try Daemon(arguments: try file.write(), directory: directory)
        defer { daemon.signal(SIGKILL) }
        #expect(await eventually(30) { peer.informCount(serial) >= 1 }, "no first Inform; log:\n\(daemon.log)")
        #expect(await eventually(30) { daemon.log.contains("configuration reload armed") }, "log:\n\(daemon.log)")
        #expect(await eventually(30) { !sessionOpen(peer, serial) }, "the BOOTSTRAP session did not end")

        // Both passwords rotate: the ACS's at the peer, both files, then SIGHUP.
        try peer.control("POST", "/config", ["password": "acs-rotated-pw"])
        file.acsPassword = "acs-rotated-pw"
        file.connectionRequestPassword = "cr-rotated-pw"
        _ = try file.write()
        daemon.signal(SIGHUP)
        #expect(await eventually(30) {
            daemon.log.contains("config.keys.applied=acs.passwordFile,connectionRequest.passwordFile")
        }, "log:\n\(daemon.log)")

        let old = try peer.control("POST", "/devices/\(serial)/connection-request",
                                   ["username": "acs", "password": "cr-secret-pw", "timeout": 5]) as? [String: Any]
        #expect(old?["status"] as? Int == 401, "the old Connection Request password still works: \(String(describing: old))")
        let before = peer.informCount(serial)
        let failuresBefore = peerStats(peer)["auth_failures"] as? Int ?? 0
        try requestConnection(peer, serial, password: "cr-rotated-pw")
        #expect(await eventually(30) { peer.informCount(serial) > before },
                "no session with the rotated ACS password; log:\n\(daemon.log)")
        #expect(peer.eventCodes(peer.lastInform(serial)) == ["6 CONNECTION REQUEST"])
        // The peer challenged that session (one 401 per session is Digest's first round), and no more than once.
        #expect((peerStats(peer)["auth_failures"] as? Int ?? 0) - failuresBefore <= 1)

        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0, "log:\n\(daemon.log)")
        for secret in ["acs-secret-pw", "cr-secret-pw", "acs-rotated-pw", "cr-rotated-pw"] {
            #expect(!daemon.log.contains(secret), "a password reached the log")
        }
    }

    /// `acs.caBundle` at run time: with a bundle that does not hold the https ACS's CA every session fails; a bundle
    /// that cannot be read is refused (key named, nothing changes); the right CA written over the configured file
    /// (the path unchanged, as a CA rotation does it) makes the next session (the agent's retry) reach the ACS.
    @Test func aReloadedCABundleIsUsedByTheNextSession() async throws {
        let directory = try temporaryDirectory()
        let pki = try TestPKI(directory: directory)
        let peer = try ACSPeer()
        defer { peer.stop() }
        let front = try TLSFront(upstreamPort: peer.port, pki: pki)
        defer { front.stop() }
        let serial = "RELOADCA"
        var file = ReloadConfigurationFile(directory: directory, serialNumber: serial, acsURL: front.acsURL)
        let bundle = directory + "/trusted-ca.pem"
        try FileManager.default.copyItem(atPath: pki.otherCABundle, toPath: bundle)
        file.caBundle = bundle
        let daemon = try Daemon(arguments: try file.write(), directory: directory)
        defer { daemon.signal(SIGKILL) }
        #expect(await eventually(30) { daemon.log.contains("configuration reload armed") }, "log:\n\(daemon.log)")
        #expect(await eventually(30) { daemon.log.contains("cwmp.session.failed") }, "log:\n\(daemon.log)")
        #expect(peer.informCount(serial) == 0, "an ACS with a certificate from another CA was trusted")

        file.caBundle = directory + "/missing-ca.pem"
        _ = try file.write()
        daemon.signal(SIGHUP)
        #expect(await eventually(30) { daemon.log.contains("config.key=acs.caBundle") }, "log:\n\(daemon.log)")

        file.caBundle = bundle
        _ = try file.write()
        try FileManager.default.removeItem(atPath: bundle)
        try FileManager.default.copyItem(atPath: pki.caBundle, toPath: bundle)
        daemon.signal(SIGHUP)
        #expect(await eventually(30) { daemon.log.contains("config.keys.applied=acs.caBundle") }, "log:\n\(daemon.log)")
        // The retry wait after two failures is at most 20 s (CWMPRetryMinimumWaitInterval 5, multiplier 2000).
        #expect(await eventually(60) { peer.informCount(serial) >= 1 }, "no Inform over https; log:\n\(daemon.log)")

        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0, "log:\n\(daemon.log)")
    }

    /// Issue 3: with only flags (all nine of them) the daemon starts and informs an ACS that demands Digest, answers a
    /// Connection Request with the flags' credentials (200, then a `6 CONNECTION REQUEST` session) and refuses wrong
    /// ones (401), and informs periodically at the flag's interval. No password from the files reaches its log.
    @Test func allNineFlagsAgainstADigestACS() async throws {
        let peer = try ACSPeer(arguments: ["--auth", "digest", "--digest-algorithms", "SHA-256", "--username", "gw-flags"],
                               password: "acs-flag-secret")
        defer { peer.stop() }
        let directory = try temporaryDirectory()
        try "acs-flag-secret\n".write(toFile: directory + "/acs.pw", atomically: true, encoding: .utf8)
        try "cr-flag-secret\n".write(toFile: directory + "/cr.pw", atomically: true, encoding: .utf8)
        let daemon = try Daemon(arguments: [
            "run", "--acs-url", peer.acsURL, "--acs-username", "gw-flags", "--acs-password-file", directory + "/acs.pw",
            "--cr-port", "0", "--cr-address", "127.0.0.1", "--cr-username", "cr-flags",
            "--cr-password-file", directory + "/cr.pw", "--periodic-inform-interval", "2",
            "--state-dir", directory + "/state",
            // Not one of the nine: debug makes the "no secret in the log" check below cover every line there is.
            "--log-level", "debug",
        ], directory: directory)
        defer { daemon.signal(SIGKILL) }

        #expect(await eventually(30) { peerStats(peer)["informs"] as? Int ?? 0 >= 1 }, "no Inform; log:\n\(daemon.log)")
        // The peer challenged (a 401 before the first Inform it counted): the flags' credentials answered it.
        #expect(peerStats(peer)["auth_failures"] as? Int ?? 0 >= 1)
        #expect(await eventually(30) { informs(peer, "2 PERIODIC") >= 1 }, "no 2 PERIODIC Inform; log:\n\(daemon.log)")
        let device = ((try? peer.control("GET", "/devices")) as? [[String: Any]])?.first
        let deviceID = try #require((device?["device_id"] as? [String: Any])?["SerialNumber"] as? String)

        let wrongPassword = try peer.control("POST", "/devices/\(deviceID)/connection-request",
                                             ["username": "cr-flags", "password": "wrong", "timeout": 5]) as? [String: Any]
        #expect(wrongPassword?["status"] as? Int == 401, "\(String(describing: wrongPassword))")
        let wrongUser = try peer.control("POST", "/devices/\(deviceID)/connection-request",
                                         ["username": "acs", "password": "cr-flag-secret", "timeout": 5]) as? [String: Any]
        #expect(wrongUser?["status"] as? Int == 401, "\(String(describing: wrongUser))")
        #expect(informs(peer, "6 CONNECTION REQUEST") == 0)

        let right = try peer.control("POST", "/devices/\(deviceID)/connection-request",
                                     ["username": "cr-flags", "password": "cr-flag-secret", "timeout": 5]) as? [String: Any]
        #expect(right?["status"] as? Int == 200, "\(String(describing: right)); log:\n\(daemon.log)")
        #expect(await eventually(30) { informs(peer, "6 CONNECTION REQUEST") == 1 }, "no 6 CONNECTION REQUEST; log:\n\(daemon.log)")

        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0, "log:\n\(daemon.log)")
        #expect(debugLines(in: daemon.log) > 0, "the daemon logged nothing at debug: the secret check would be weak")
        #expect(!daemon.log.contains("acs-flag-secret") && !daemon.log.contains("cr-flag-secret"), "a password reached the log")
    }
}

/// The configuration file of the reload tests, rewritten in place (password files "acs-secret-pw", "cr-secret-pw").
private struct ReloadConfigurationFile {
    let directory: String
    let serialNumber: String
    var url: String
    var periodicInformInterval = 3600
    var logLevel = "debug"
    var maxConnections = 256
    var caBundle: String?
    var acsPassword = "acs-secret-pw"
    var connectionRequestPassword = "cr-secret-pw"

    init(directory: String, serialNumber: String, acsURL: String) {
        self.directory = directory
        self.serialNumber = serialNumber
        self.url = acsURL
    }

    /// Writes the file (and the password files); the daemon arguments that use it.
    func write() throws -> [String] {
        try "\(acsPassword)\n".write(toFile: directory + "/acs.pw", atomically: true, encoding: .utf8)
        try "\(connectionRequestPassword)\n".write(toFile: directory + "/cr.pw", atomically: true, encoding: .utf8)
        let configuration = """
            {"acs": {"url": "\(url)", "username": "gw", "passwordFile": "\(directory)/acs.pw",
                     "periodicInformInterval": \(periodicInformInterval)\(caBundle.map { ", \"caBundle\": \"\($0)\"" } ?? "")},
             "connectionRequest": {"address": "127.0.0.1", "port": 0, "username": "acs",
                                   "passwordFile": "\(directory)/cr.pw", "maxConnections": \(maxConnections)},
             "gateway": {"manufacturer": "Test", "manufacturerOUI": "00A0C9", "productClass": "GW",
                         "serialNumber": "\(serialNumber)"},
             "stateDirectory": "\(directory)/state", "logLevel": "\(logLevel)"}
            """
        try configuration.write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
        return ["run", "--config", directory + "/config.json"]
    }
}

/// A Connection Request from `peer` with the configured credentials; it must be accepted.
private func requestConnection(_ peer: ACSPeer, _ serial: String, password: String = "cr-secret-pw") throws {
    let answer = try peer.control("POST", "/devices/\(serial)/connection-request",
                                  ["username": "acs", "password": password, "timeout": 5]) as? [String: Any]
    #expect(answer?["ok"] as? Bool == true, "Connection Request refused: \(String(describing: answer))")
}

/// URL and PeriodicInformInterval as the gateway reports them to `peer`, read in a session the test asks for (so
/// the Inform that opens it also shows where the gateway informs); returns when that session has ended.
private func managementServerValues(_ peer: ACSPeer, _ serial: String, _ daemon: Daemon) async throws -> [String: String] {
    let names = ["Device.ManagementServer.URL", "Device.ManagementServer.PeriodicInformInterval"]
    let queued = try peer.control("POST", "/devices/\(serial)/rpcs", ["method": "GetParameterValues", "names": names])
    let id = ((queued as? [String: Any])?["queued"] as? [[String: Any]])?.first?["id"] as? String
    try requestConnection(peer, serial)
    var values: [String: String] = [:]
    let answered = await eventually(30) {
        let responses = (try? peer.control("GET", "/devices/\(serial)/responses")) as? [[String: Any]] ?? []
        guard let response = responses.last(where: { $0["rpc_id"] as? String == id }) else { return false }
        values = response["values"] as? [String: String] ?? [:]
        return true
    }
    #expect(answered, "GetParameterValues \(id ?? "?") not answered; log:\n\(daemon.log)")
    #expect(await eventually(30) { !sessionOpen(peer, serial) }, "the session did not end")
    return values
}

private func responded(_ peer: ACSPeer, _ device: String, _ method: String) -> Bool {
    let responses = (try? peer.control("GET", "/devices/\(device)/responses")) as? [[String: Any]] ?? []
    return responses.contains { $0["method"] as? String == method && !($0["fault"] is [String: Any]) }
}

private func sessionOpen(_ peer: ACSPeer, _ device: String) -> Bool {
    let json = (try? peer.control("GET", "/devices/\(device)")) as? [String: Any]
    return json?["in_session"] as? Bool ?? true
}

private func peerStats(_ peer: ACSPeer) -> [String: Any] {
    (try? peer.control("GET", "/stats")) as? [String: Any] ?? [:]
}

/// Informs the peer received that carried `event`.
private func informs(_ peer: ACSPeer, _ event: String) -> Int {
    (peerStats(peer)["informs_by_event"] as? [String: Any])?[event] as? Int ?? 0
}

/// Lines swift-log's stream handler wrote at debug level (`<timestamp> debug <label>: …`).
private func debugLines(in log: String) -> Int {
    log.split(separator: "\n").filter { $0.split(separator: " ", maxSplits: 2).dropFirst().first == "debug" }.count
}

/// A throw-away PKI made with openssl: a CA, a certificate for 127.0.0.1 signed by it, and an unrelated CA.
private struct TestPKI {
    let directory: String
    var caBundle: String { directory + "/ca.pem" }
    var otherCABundle: String { directory + "/other-ca.pem" }
    var serverCertificate: String { directory + "/server.pem" }
    var serverKey: String { directory + "/server.key" }

    init(directory: String) throws {
        self.directory = directory
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for name in ["ca", "other-ca"] {
            try openssl(["req", "-x509"] + ec + [
                "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).pem", "-days", "2",
                "-subj", "/CN=cwmp-proxy reload test \(name)",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        }
        try openssl(["req"] + ec + ["-keyout", serverKey, "-out", "\(directory)/server.csr", "-subj", "/CN=localhost"])
        try "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(toFile: "\(directory)/server.ext", atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", "\(directory)/server.csr", "-CA", caBundle, "-CAkey", "\(directory)/ca.key",
                     "-CAcreateserial", "-out", serverCertificate, "-days", "2", "-extfile", "\(directory)/server.ext"])
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw PeerUnavailable.notStarted("openssl \(arguments.first ?? "")") }
    }
}

/// TLS in front of the (plain http) ACS peer: Python's ssl module terminates TLS with the PKI's server certificate
/// and copies bytes both ways, one upstream connection per client connection (so the peer still sees one TCP
/// connection per session).
private final class TLSFront: @unchecked Sendable {
    static let script = """
        import asyncio, os, ssl, sys
        cert, key, upstream = sys.argv[1], sys.argv[2], int(sys.argv[3])
        async def pipe(reader, writer):
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except Exception:
                pass
            finally:
                writer.close()
        async def handle(reader, writer):
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
            except Exception:
                writer.close()
                return
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        async def watch_parent():
            parent = os.getppid()
            while os.getppid() == parent:
                await asyncio.sleep(0.5)
            os._exit(0)
        async def main():
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
            print("LISTENING", server.sockets[0].getsockname()[1], flush=True)
            asyncio.create_task(watch_parent())
            await server.serve_forever()
        asyncio.run(main())
        """

    let process = Process()
    let port: Int
    var acsURL: String { "https://127.0.0.1:\(port)/acs" }

    init(upstreamPort: Int, pki: TestPKI) throws {
        guard let python3 = ACSPeer.python3 else { throw PeerUnavailable.python3Missing }
        let script = pki.directory + "/tls_front.py"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: python3)
        process.arguments = [script, pki.serverCertificate, pki.serverKey, String(upstreamPort)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        var port: Int?
        while port == nil {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { throw PeerUnavailable.notStarted(text) }
            text += String(decoding: data, as: UTF8.self)
            port = text.split(separator: "\n").compactMap { line -> Int? in
                let parts = line.split(separator: " ")
                return parts.count == 2 && parts[0] == "LISTENING" ? Int(parts[1]) : nil
            }.first
        }
        self.port = port!
    }

    func stop() { killChild(process) }

    deinit { killChild(process) }
}
