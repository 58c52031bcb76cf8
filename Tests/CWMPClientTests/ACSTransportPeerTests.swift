import AsyncHTTPClient
import CWMPTestSupport
import Foundation  // Process: tests only; Sources never import Foundation
import Logging
import NIOCore
import Testing
@testable import CWMPClient

/// Real CWMP sessions against the project's Python ACS peer (Tests/Peers/acs): Digest, cookies, and GenieACS's
/// session-per-connection rule, which the peer enforces (a non-Inform POST on a new connection gets 400).
@Suite(.serialized) struct ACSTransportPeerTests {
    static let password = "peer-pw-\(UInt32.random(in: 0 ... .max))"

    final class Peer {
        let process = Process()
        let port: Int
        let controlPort: Int
        var url: String { "http://127.0.0.1:\(port)/acs" }

        init(_ arguments: [String]) throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Peers/acs/acs_peer.py").path
            process.executableURL = URL(fileURLWithPath: InteropTools.python3 ?? "/usr/bin/python3")
            process.arguments = [script, "--port", "0", "--control-port", "0", "--exit-with-parent"] + arguments
            var environment = ProcessInfo.processInfo.environment
            environment["ACS_PEER_PASSWORD"] = ACSTransportPeerTests.password  // never on the command line
            process.environment = environment
            // stdout goes to a file that is polled: a pipe read would block a cooperative thread of the test.
            let outputPath = NSTemporaryDirectory() + "acs-peer-\(UInt64.random(in: 0 ... .max)).out"
            _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
            defer { try? FileManager.default.removeItem(atPath: outputPath) }
            process.standardOutput = FileHandle(forWritingAtPath: outputPath)
            process.standardError = FileHandle.nullDevice
            try process.run()
            var ports: [String: Int] = [:]
            var buffer = ""
            for _ in 0..<200 where ports.count < 2 {
                Thread.sleep(forTimeInterval: 0.05)
                buffer = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
                for line in buffer.split(separator: "\n") {
                    let fields = line.split(separator: " ")
                    if fields.count == 3, let port = Int(fields[2]) { ports[String(fields[0])] = port }
                }
            }
            guard let port = ports["LISTENING"], let controlPort = ports["CONTROL"] else {
                process.terminate()
                throw CWMPError(.transportFailed, "the ACS peer did not start: \(buffer)")
            }
            self.port = port
            self.controlPort = controlPort
        }

        func stats() async throws -> [String: Any] {
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            let body: ByteBuffer
            do {
                let response = try await client.execute(
                    HTTPClientRequest(url: "http://127.0.0.1:\(controlPort)/stats"), timeout: .seconds(10))
                body = try await response.body.collect(upTo: 1 << 20)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await client.shutdown()
            return try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] ?? [:]
        }

        func stop() {
            // SIGKILL, not terminate(): the test process blocks SIGTERM in its threads and a spawned child inherits
            // that mask, so the peer's SIGTERM handler would never run and waitUntilExit would hang.
            killChild(process)
        }
    }

    /// Inform → 401 → Inform with Digest → InformResponse + cookie → empty POST with cookie → 204.
    func informSession(_ transport: ACSHTTPTransport, url: String, password: String) async throws -> [Int] {
        let session = try transport.openHTTPSession(url: url, credentials: HTTPCredentials(username: "acs",
                                                                                          password: password))
        var statuses: [Int] = []
        do {
            let answer = try await session.exchange(body: try TransportSamples.inform(id: "peer-1"))
            statuses.append(answer.status)
            let envelope = try CWMPDecoder().decode(answer.body)
            guard case .informResponse = envelope.message else {
                Issue.record("not an InformResponse: \(envelope.message)")
                await session.close()
                return statuses
            }
            #expect(envelope.header.id == "peer-1")
            let end = try await session.exchange(body: nil)
            statuses.append(end.status)
            #expect(end.body.isEmpty)
        } catch {
            await session.close()
            throw error
        }
        await session.close()
        return statuses
    }

    @Test(arguments: ["MD5", "SHA-256"])
    func digestSessionWithCookiesOnOneConnection(algorithm: String) async throws {
        let peer = try Peer(["--auth", "digest", "--digest-algorithms", algorithm, "--cookie", "require"])
        defer { peer.stop() }
        let transport = try ACSHTTPTransport()
        for _ in 0..<2 {
            #expect(try await informSession(transport, url: peer.url, password: Self.password) == [200, 204])
        }
        let stats = try await peer.stats()
        #expect(stats["sessions_completed"] as? Int == 2)
        #expect(stats["sessions_failed"] as? Int == 0)
        #expect(stats["rejected_bad_session"] as? Int == 0)
        #expect(stats["auth_failures"] as? Int == 2)  // the one challenge per session, answered
        #expect(stats["connections"] as? Int == 2)  // one TCP connection per session
    }

    @Test func wrongPasswordFailsTheSessionWithoutLeakingIt() async throws {
        let peer = try Peer(["--auth", "digest", "--digest-algorithms", "SHA-256,MD5"])
        defer { peer.stop() }
        let records = RecordingLogHandler()
        let transport = try ACSHTTPTransport(logger: Logger(label: "test") { _ in records })
        let wrong = "wrong-\(Self.password)"
        let error = await #expect(throws: CWMPError(.authenticationFailed, "")) {
            _ = try await informSession(transport, url: peer.url, password: wrong)
        }
        #expect(!"\(String(describing: error))".contains(wrong))
        #expect(!records.text.contains(wrong))
        #expect(records.count > 0)
    }

    @Test func aBusyPeerAnswers503WithRetryAfter() async throws {
        let peer = try Peer(["--max-sessions", "1"])
        defer { peer.stop() }
        let transport = try ACSHTTPTransport()
        let first = try await transport.openSession(url: peer.url, credentials: nil)
        #expect(try await first.post(body: try TransportSamples.inform(), timeout: .seconds(30)).status == 200)
        let second = try await transport.openSession(url: peer.url, credentials: nil)
        let busy = try await second.post(body: try TransportSamples.inform(), timeout: .seconds(30))
        #expect(busy.status == 503)
        #expect(busy.retryAfter == .seconds(60))
        await second.close()
        #expect(try await first.post(body: nil, timeout: .seconds(30)).status == 204)
        await first.close()
    }

    /// The peer gzips its answers (`--gzip`) when the CPE's Accept-Encoding allows: a Digest session with a required
    /// cookie still completes on both http transports, and the InformResponse arrives decoded.
    @Test(arguments: WireTransport.plainHTTP)
    func gzipAnswersFromThePeerAreDecoded(_ kind: WireTransport) async throws {
        let peer = try Peer(["--gzip", "--auth", "digest", "--cookie", "require"])
        defer { peer.stop() }
        let session = try await kind.transport().openSession(
            url: peer.url, credentials: HTTPCredentials(username: "acs", password: Self.password))
        let answer = try await session.post(body: try TransportSamples.inform(id: "gz-1"), timeout: .seconds(30))
        #expect(answer.status == 200)
        let envelope = try CWMPDecoder().decode(answer.body)
        #expect(envelope.header.id == "gz-1")
        if case .informResponse = envelope.message {} else { Issue.record("not an InformResponse: \(envelope.message)") }
        #expect(try await session.post(body: nil, timeout: .seconds(30)).status == 204)
        await session.close()
        let stats = try await peer.stats()
        #expect(stats["gzip_responses"] as? Int == 1)  // the InformResponse; the 204 has no body
        #expect(stats["sessions_completed"] as? Int == 1)
        #expect(stats["connections"] as? Int == 1)
    }
}
