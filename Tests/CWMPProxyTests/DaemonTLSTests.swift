// `cwmp-proxy run` against an https ACS (the ACS peer with --tls-cert): `acs.caBundle` from the configuration is
// the trust store the ACS certificate is checked against; a certificate for another host name, or from a CA that
// is not in the bundle, opens no session. The PKI is made by openssl for each test. Foundation is fine here.
import CWMPTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized, .enabled(if: DaemonBinary.isAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"),
                             "needs the built cwmp-proxy binary, python3 (ACS test peer) and openssl"))
struct DaemonTLSTests {
    /// A CA, a second unrelated CA, and server certificates signed by the first: one for 127.0.0.1, one for
    /// other.example only (the host name check must refuse it for https://127.0.0.1).
    struct PKI {
        let directory: String

        init() throws {
            directory = try temporaryDirectory()
            let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            for name in ["ca", "other-ca"] {
                try Self.openssl(["req", "-x509"] + ec + [
                    "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).pem", "-days", "2",
                    "-subj", "/CN=cwmp-proxy daemon test \(name)",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                ])
            }
            for (name, san) in [("server", "IP:127.0.0.1"), ("mismatch", "DNS:other.example")] {
                try Self.openssl(["req"] + ec + ["-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).csr",
                                                 "-subj", "/CN=\(name)"])
                try "subjectAltName=\(san)\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                    .write(toFile: "\(directory)/\(name).ext", atomically: true, encoding: .utf8)
                try Self.openssl(["x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", "\(directory)/ca.pem",
                                  "-CAkey", "\(directory)/ca.key", "-CAcreateserial", "-out", "\(directory)/\(name).pem",
                                  "-days", "2", "-extfile", "\(directory)/\(name).ext"])
            }
        }

        func peerArguments(_ name: String) -> [String] {
            ["--tls-cert", "\(directory)/\(name).pem", "--tls-key", "\(directory)/\(name).key"]
        }

        static func openssl(_ arguments: [String]) throws {
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

    private func configure(url: String, caBundle: String?, directory: String, serial: String) throws -> [String] {
        let bundle = caBundle.map { #", "caBundle": "\#($0)""# } ?? ""
        let configuration = """
            {"acs": {"url": "\(url)", "periodicInformInterval": 3600\(bundle)},
             "connectionRequest": {"address": "127.0.0.1", "port": 0},
             "gateway": {"manufacturer": "Test", "manufacturerOUI": "00A0C9", "productClass": "GW", "serialNumber": "\(serial)"},
             "stateDirectory": "\(directory)/state-\(serial)", "logLevel": "debug"}
            """
        let path = directory + "/config-\(serial).json"
        try configuration.write(toFile: path, atomically: true, encoding: .utf8)
        return ["run", "--config", path]
    }

    @Test func theConfiguredCABundleIsTrustedAndTheHostNameIsChecked() async throws {
        let pki = try PKI()
        let directory = pki.directory

        // The bundle holds the CA that signed the peer's certificate for 127.0.0.1: the gateway informs over https.
        let good = try ACSPeer(arguments: pki.peerArguments("server"))
        defer { good.stop() }
        #expect(good.acsURL.hasPrefix("https://"))
        let trusted = try Daemon(arguments: try configure(url: good.acsURL, caBundle: directory + "/ca.pem",
                                                          directory: directory, serial: "TLSGOOD"), directory: directory)
        #expect(await eventually(30) { good.informCount("TLSGOOD") >= 1 }, "no Inform over https; log:\n\(trusted.log)")
        #expect(good.eventCodes(good.lastInform("TLSGOOD")) == ["0 BOOTSTRAP", "1 BOOT"])
        trusted.signal(SIGTERM)
        #expect(await trusted.waitForExit() == 0)

        // Refused, each after a failed session the daemon logs: a certificate for another host name (same CA),
        // and the right certificate with a bundle of an unrelated CA. Each case differs from the working one above in
        // that one respect only, so that is what refused it (the transport reports only "connection error").
        let mismatch = try ACSPeer(arguments: pki.peerArguments("mismatch"))
        defer { mismatch.stop() }
        let cases: [(ACSPeer, String, String)] = [(mismatch, directory + "/ca.pem", "TLSNAME"),
                                                  (good, directory + "/other-ca.pem", "TLSCA")]
        for (peer, bundle, serial) in cases {
            let daemon = try Daemon(arguments: try configure(url: peer.acsURL, caBundle: bundle, directory: directory,
                                                             serial: serial), directory: directory)
            #expect(await eventually(30) { daemon.log.contains("cwmp.session.failed") }, "\(serial): log:\n\(daemon.log)")
            #expect(peer.informCount(serial) == 0, "\(serial): an Inform reached the ACS over an untrusted connection")
            let stats = try peer.control("GET", "/stats") as? [String: Any]
            #expect(stats?["informs"] as? Int == (peer === good ? 1 : 0))
            daemon.signal(SIGTERM)
            _ = await daemon.waitForExit()
        }
    }
}
