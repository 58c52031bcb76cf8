// The Download fetch against file servers that are not ours: lighttpd's mod_auth Digest (MD5 and SHA-256, the
// `DigestClientInteropTests.Lighttpd` fixture) and Python's http.server over ssl (https trust roots). Every failure is
// the TransferComplete fault it must be reported with.
import CWMPTestSupport
import Foundation  // FileManager, Process, temporary paths: tests only
import Testing
@testable import CWMPClient

@Suite(.serialized) struct FileDownloadClientTests {
    static let lighttpdMissing: Comment = "lighttpd is not installed (apt-get install lighttpd): skipping this fetch test"

    /// The fixture picks a free port, lets it go and starts lighttpd on it; a parallel test can take the port in
    /// between (lighttpd then exits at once), so a start is tried three times.
    private func startLighttpd() async throws -> DigestClientInteropTests.Lighttpd {
        for _ in 0..<2 {
            if let server = try? await DigestClientInteropTests.Lighttpd(executable: InteropTools.lighttpd!) { return server }
        }
        return try await DigestClientInteropTests.Lighttpd(executable: InteropTools.lighttpd!)
    }

    private func target() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("download-\(UUID().uuidString)").path
    }

    @Test("Digest-protected file fetched with the Download's Username/Password",
          .enabled(if: InteropTools.lighttpd != nil, lighttpdMissing), arguments: ["/md5/index.html", "/sha/index.html"])
    func digestProtectedFile(uri: String) async throws {
        let lighttpd = try await startLighttpd()
        defer { lighttpd.stop() }
        let path = target()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let client = FileDownloadClient()
        let url = "http://127.0.0.1:\(lighttpd.port)\(uri)"
        let result = await client.download(url: url, credentials: HTTPCredentials(username: "cpe", password: "pass word"),
                                           expectedSize: 12, to: path)
        #expect(result == .downloaded(bytes: 12))
        let expected = uri.hasPrefix("/md5") ? "md5 content\n" : "sha content\n"
        #expect(try String(contentsOfFile: path, encoding: .utf8) == expected)
        // The file is owner-only: it may be a configuration file with secrets.
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test("wrong or missing credentials: 9012; a missing file: 9016; a FileSize mismatch: 9018; over the limit: 9010; nothing left on disk",
          .enabled(if: InteropTools.lighttpd != nil, lighttpdMissing))
    func failures() async throws {
        let lighttpd = try await startLighttpd()
        defer { lighttpd.stop() }
        let base = "http://127.0.0.1:\(lighttpd.port)"
        let good = HTTPCredentials(username: "cpe", password: "pass word")
        let cases: [(String, HTTPCredentials?, UInt32, FileDownloadClient.Configuration, UInt32)] = [
            ("/md5/index.html", HTTPCredentials(username: "cpe", password: "wrong"), 0, .init(), 9012),
            ("/md5/index.html", nil, 0, .init(), 9012),
            ("/md5/missing.bin", good, 0, .init(), 9016),
            ("/md5/index.html", good, 99, .init(), 9018),
            ("/md5/index.html", good, 0, .init(maximumBytes: 5), 9010),
            ("/md5/index.html", good, 6, .init(maximumBytes: 5), 9010),
        ]
        for (uri, credentials, size, configuration, code) in cases {
            let path = target()
            let result = await FileDownloadClient(configuration: configuration)
                .download(url: base + uri, credentials: credentials, expectedSize: size, to: path)
            guard case .failed(let fault) = result else {
                Issue.record("\(uri) \(String(describing: credentials)) \(size): \(result)")
                continue
            }
            #expect(fault.faultCode == code, "\(uri) \(String(describing: credentials)) \(size): \(fault)")
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test("nothing listens: 9015 (unable to contact file server)")
    func unreachable() async {
        // Port 9 (discard) on loopback: nothing listens there in the test environment.
        let result = await FileDownloadClient().download(url: "http://127.0.0.1:9/fw.bin", credentials: nil,
                                                         expectedSize: 0, to: target())
        #expect(result == .failed(TransferFault(faultCode: 9015, faultString: "cannot contact the file server")))
    }

    /// Python's http.server behind the standard library's ssl, serving `directory` on loopback over https.
    final class HTTPSFileServer {
        let process = Process()
        let port: Int

        init(directory: String, certificate: String, key: String) throws {
            let script = """
                import http.server, os, ssl, sys
                os.chdir(sys.argv[1])
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(sys.argv[2], sys.argv[3])
                server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
                server.socket = context.wrap_socket(server.socket, server_side=True)
                print(server.server_address[1], flush=True)
                server.serve_forever()
                """
            process.executableURL = URL(fileURLWithPath: InteropTools.python3!)
            process.arguments = ["-c", script, directory, certificate, key]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                killChild(process)
                throw CWMPError(.invalidArgument, "the https file server did not start: \(line)")
            }
            self.port = port
        }

        func stop() { killChild(process) }
    }

    @Test("https: the configured CA bundle is trusted; an unrelated CA or the system store gives 9012",
          .enabled(if: InteropTools.python3 != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func httpsTrustRoots() async throws {
        let pki = try ACSTransportTLSTests.PKI()
        defer { pki.remove() }
        try "firmware\n".write(toFile: pki.directory + "/fw.bin", atomically: true, encoding: .utf8)
        let server = try HTTPSFileServer(directory: pki.directory, certificate: pki.serverCertificate, key: pki.serverKey)
        defer { server.stop() }
        let url = "https://127.0.0.1:\(server.port)/fw.bin"

        let path = target()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let trusted = FileDownloadClient(configuration: .init(trustRoots: .caBundle(path: pki.caBundle)))
        #expect(await trusted.download(url: url, credentials: nil, expectedSize: 9, to: path) == .downloaded(bytes: 9))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "firmware\n")

        for roots in [ACSHTTPTransport.Configuration.TrustRoots.caBundle(path: pki.otherCABundle), .system] {
            let refusedPath = target()
            let result = await FileDownloadClient(configuration: .init(trustRoots: roots))
                .download(url: url, credentials: nil, expectedSize: 0, to: refusedPath)
            guard case .failed(let fault) = result else {
                Issue.record("\(roots): \(result)")
                continue
            }
            #expect(fault.faultCode == 9012, "\(roots): \(fault)")
            #expect(!FileManager.default.fileExists(atPath: refusedPath))
        }
    }
}
