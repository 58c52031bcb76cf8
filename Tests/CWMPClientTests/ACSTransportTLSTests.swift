import Foundation  // FileManager, Process (openssl): tests only; Sources never import Foundation
import NIOSSL
import Testing
@testable import CWMPClient

/// https to an in-process NIOSSL server whose CA `openssl` creates for the test: the chain is validated.
@Suite(.serialized) struct ACSTransportTLSTests {
    /// A throw-away PKI: a CA, a server certificate for 127.0.0.1/localhost signed by it, and an unrelated CA.
    struct PKI {
        let directory: String
        var caBundle: String { directory + "/ca.pem" }
        var otherCABundle: String { directory + "/other-ca.pem" }
        var serverCertificate: String { directory + "/server.pem" }
        var serverKey: String { directory + "/server.key" }

        init() throws {
            directory = NSTemporaryDirectory() + "acs-tls-\(UInt64.random(in: 0 ... .max))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let openssl = "/usr/bin/openssl"
            let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            for name in ["ca", "other-ca"] {
                try Tool.run(openssl, ["req", "-x509"] + ec + [
                    "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).pem", "-days", "2",
                    "-subj", "/CN=cwmp-proxy test \(name)",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                ])
            }
            try Tool.run(openssl, ["req"] + ec + ["-keyout", serverKey, "-out", "\(directory)/server.csr",
                                                  "-subj", "/CN=localhost"])
            try "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                .write(toFile: "\(directory)/server.ext", atomically: true, encoding: .utf8)
            try Tool.run(openssl, ["x509", "-req", "-in", "\(directory)/server.csr", "-CA", caBundle,
                                   "-CAkey", "\(directory)/ca.key", "-CAcreateserial", "-out", serverCertificate,
                                   "-days", "2", "-extfile", "\(directory)/server.ext"])
        }

        func serverContext() throws -> NIOSSLContext {
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(serverCertificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: serverKey, format: .pem)))
            return try NIOSSLContext(configuration: configuration)
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test func aChainToTheConfiguredCAPassesAndAnUnknownCAFails() async throws {
        let pki = try PKI()
        defer { pki.remove() }
        let server = try await TestHTTPServer(tls: try pki.serverContext()) { request in
            request.header("Authorization") == nil
                ? TestHTTPServer.Reply(.unauthorized, headers: [("WWW-Authenticate", "Basic realm=\"acs\"")])
                : .ok("secure")
        }
        let url = "https://127.0.0.1:\(server.port)/acs"
        let credentials = HTTPCredentials(username: "cpe", password: "tls-pw")

        // Trusted CA: the exchange works, and Basic is acceptable because the URL is https.
        let trusted = try ACSHTTPTransport(configuration: .init(trustRoots: .caBundle(path: pki.caBundle)))
        let session = try trusted.openHTTPSession(url: url, credentials: credentials)
        let answer = try await session.exchange(body: try TransportSamples.inform())
        #expect(answer.status == 200)
        #expect(answer.body == Array("secure".utf8))
        #expect(try await session.exchange(body: nil).status == 200)
        await session.close()
        #expect(server.requests.count == 3)
        #expect(Set(server.requests.map(\.connection)).count == 1)
        #expect(server.requests.last?.header("Authorization")?.hasPrefix("Basic ") == true)

        // The system trust store does not know the test CA; neither does an unrelated CA.
        for trustRoots in [ACSHTTPTransport.Configuration.TrustRoots.system, .caBundle(path: pki.otherCABundle)] {
            let untrusted = try ACSHTTPTransport(configuration: .init(trustRoots: trustRoots))
            let refused = try untrusted.openHTTPSession(url: url, credentials: credentials)
            let error = await #expect(throws: CWMPError(.transportFailed, "")) {
                try await refused.exchange(body: nil)
            }
            // The TLS verification failure is kept as the underlying error, for diagnostics.
            #expect(error.map { "\($0)".uppercased().contains("CERTIFICATE_VERIFY_FAILED") } == true, "\(String(describing: error))")
            await refused.close()
        }
        // A refused handshake never reached HTTP: the server saw no further request.
        #expect(server.requests.count == 3)
        await server.stop()
    }

    /// The agents' path (`ACSTransport.openSession`) runs https on one shared context: the same trust roots and
    /// verification as the AHC path, one connection per session, Digest-free Basic allowed because of TLS.
    @Test func httpsThroughTheProtocolValidatesTheChainOnTheSharedContext() async throws {
        let pki = try PKI()
        defer { pki.remove() }
        let server = try await TestHTTPServer(tls: try pki.serverContext()) { request in
            request.header("Authorization") == nil
                ? TestHTTPServer.Reply(.unauthorized, headers: [("WWW-Authenticate", "Basic realm=\"acs\"")])
                : request.body.isEmpty ? TestHTTPServer.Reply(.noContent) : .ok("secure")
        }
        let url = "https://127.0.0.1:\(server.port)/acs"
        let credentials = HTTPCredentials(username: "cpe", password: "tls-pw")

        let trusted = try ACSHTTPTransport(configuration: .init(trustRoots: .caBundle(path: pki.caBundle)))
        for _ in 0..<2 {
            let session = try await trusted.openSession(url: url, credentials: credentials)
            #expect(session is NIOACSSession)
            let answer = try await session.post(body: try TransportSamples.inform(), timeout: .seconds(10))
            #expect(answer.status == 200)
            #expect(answer.body == Array("secure".utf8))
            #expect(try await session.post(body: nil, timeout: .seconds(10)).status == 204)
            await session.close()
        }
        // Per session: the 401, the Inform with Basic, the empty POST, all on one connection of its own.
        #expect(server.requests.count == 6)
        #expect(Set(server.requests.map(\.connection)).count == 2)
        #expect(server.requests.last?.header("Authorization")?.hasPrefix("Basic ") == true)

        for trustRoots in [ACSHTTPTransport.Configuration.TrustRoots.system, .caBundle(path: pki.otherCABundle)] {
            let untrusted = try ACSHTTPTransport(configuration: .init(trustRoots: trustRoots))
            let refused = try await untrusted.openSession(url: url, credentials: credentials)
            let error = await #expect(throws: (any Error).self) {
                try await refused.post(body: nil, timeout: .seconds(10))
            }
            #expect(error != nil)
            await refused.close()
        }
        // A refused handshake never reached HTTP.
        #expect(server.requests.count == 6)
        await server.stop()
    }

    @Test func anUnreadableCABundleIsAConfigurationError() throws {
        #expect(throws: CWMPError(.transportFailed, "")) {
            try ACSHTTPTransport(configuration: .init(trustRoots: .caBundle(path: "/nonexistent/ca.pem")))
        }
    }
}
