import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import CWMPClient

/// ACSHTTPTransport against the in-process server: what goes on the wire, exactly.
@Suite struct ACSTransportWireTests {
    static let credentials = HTTPCredentials(username: "cpe", password: "pw-7f3c-never-logged")

    func transport(_ configuration: ACSHTTPTransport.Configuration = .init(),
                   logger: Logger = Logger(label: "test")) throws -> ACSHTTPTransport {
        try ACSHTTPTransport(configuration: configuration, logger: logger)
    }

    @Test func allPostsOfASessionShareOneConnectionAndSessionsDoNot() async throws {
        let server = try await TestHTTPServer { _ in .ok("<x/>") }
        let transport = try transport()
        let inform = try TransportSamples.inform()
        for _ in 0..<2 {
            let session = try transport.openHTTPSession(url: server.url, credentials: nil)
            _ = try await session.exchange(body: inform)
            for _ in 0..<4 { _ = try await session.exchange(body: nil) }
            await session.close()
        }
        let connections = server.requests.map(\.connection)
        #expect(connections.count == 10)
        #expect(Set(connections[0..<5]).count == 1)
        #expect(Set(connections[5..<10]).count == 1)
        #expect(connections[0] != connections[5])
        #expect(server.connections == 2)
        // close() shut the client down, so the session's socket is gone (cwmp.md §6 rule 5), not parked in a pool.
        for _ in 0..<200 where server.closedConnections < 2 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.closedConnections == 2)
        await server.stop()
    }

    @Test func theSessionIdleTimeoutBoundsHowLongTheConnectionWaitsBetweenPosts() async throws {
        let server = try await TestHTTPServer { _ in .ok("<x/>") }
        // A pause (the agent working on an ACS request) shorter than the idle timeout keeps the one connection.
        let patient = try transport(.init(sessionIdleTimeout: .seconds(5))).openHTTPSession(url: server.url, credentials: nil)
        _ = try await patient.exchange(body: nil)
        try await Task.sleep(for: .milliseconds(300))
        _ = try await patient.exchange(body: nil)
        #expect(Set(server.requests.map(\.connection)).count == 1)
        #expect(server.closedConnections == 0)
        await patient.close()
        #expect(try await eventually { server.closedConnections == 1 })
        // The setting reaches AHC: past it, AHC closes the idle connection by itself, before the session's close().
        let hasty = try transport(.init(sessionIdleTimeout: .milliseconds(100))).openHTTPSession(url: server.url, credentials: nil)
        _ = try await hasty.exchange(body: nil)
        #expect(try await eventually { server.closedConnections == 2 })
        await hasty.close()
        await server.stop()
    }

    @Test func requestHeadersOfEnvelopeAndEmptyPost() async throws {
        let server = try await TestHTTPServer { _ in .ok() }
        let session = try transport().openHTTPSession(url: server.url, credentials: nil)
        let inform = try TransportSamples.inform()
        _ = try await session.exchange(body: inform)
        _ = try await session.exchange(body: nil)
        _ = try await session.exchange(body: [])
        await session.close()
        let requests = server.requests
        try #require(requests.count == 3)
        let first = requests[0]
        #expect(first.method == .POST)
        #expect(first.uri == "/acs")
        #expect(first.body == inform)
        #expect(first.header("Content-Type") == "text/xml; charset=\"utf-8\"")
        #expect(first.headers.contains(name: "SOAPAction"))
        #expect(first.header("Content-Length") == "\(inform.count)")
        #expect(first.header("User-Agent")?.contains("cwmp-proxy") == true)
        #expect(first.header("Accept-Encoding")?.contains("gzip") == true)
        for empty in requests[1...] {
            #expect(empty.method == .POST)
            #expect(empty.body.isEmpty)
            #expect(empty.header("Content-Length") == "0")
            #expect(!empty.headers.contains(name: "Content-Type"))
            #expect(!empty.headers.contains(name: "SOAPAction"))
            #expect(!empty.headers.contains(name: "Transfer-Encoding"))
        }
    }

    @Test func cookiesAreEchoedForTheSessionOnly() async throws {
        let big = String(repeating: "b", count: 600)
        let counter = Mutex(0)
        let stepServer = try await TestHTTPServer { _ in
            switch counter.withLock({ $0 += 1; return $0 }) {
            case 1:
                return .ok(headers: [("Set-Cookie", "session=abc123; Path=/; HttpOnly"),
                                     ("Set-Cookie", "big=\(big); Expires=Wed, 21 Oct 2015 07:28:00 GMT"),
                                     ("Set-Cookie", "gone=soon")])
            case 2:
                return .ok(headers: [("Set-Cookie", "session=def456"), ("Set-Cookie", "gone=x; Max-Age=0"),
                                     ("Set-Cookie", "quoted=\"q v\"; Secure")])
            default:
                return .ok()
            }
        }
        let transport = try transport()
        let session = try transport.openHTTPSession(url: stepServer.url, credentials: nil)
        for _ in 0..<3 { _ = try await session.exchange(body: nil) }
        await session.close()
        let second = try transport.openHTTPSession(url: stepServer.url, credentials: nil)
        _ = try await second.exchange(body: nil)
        await second.close()

        let cookies = stepServer.requests.map { $0.header("Cookie") }
        #expect(cookies[0] == nil)
        #expect(cookies[1] == "session=abc123; big=\(big); gone=soon")
        #expect(cookies[2] == "big=\(big); session=def456; quoted=q v")
        #expect((cookies[1]?.utf8.count ?? 0) > 512)
        #expect(cookies[3] == nil)  // a new session starts with an empty jar
        await stepServer.stop()
    }

    @Test func digestChallengeIsAnsweredAndCredentialsGoOnEveryLaterPost() async throws {
        for algorithm in [DigestAlgorithm.md5, .sha256] {
            let digest = Mutex(HTTPDigestServer(configuration: .init(realm: "acs", algorithms: [algorithm])))
            let server = try await TestHTTPServer { request in
                let verification = digest.withLock {
                    $0.verify(authorization: request.header("Authorization"), method: "POST", uri: request.uri,
                              scope: "acs", credentials: Self.credentials, now: .now())
                }
                guard verification == .authenticated else {
                    let challenges = digest.withLock { $0.challenges(scope: "acs", stale: verification == .stale, now: .now()) }
                    return TestHTTPServer.Reply(.unauthorized, headers: challenges.map { ("WWW-Authenticate", $0) })
                }
                return .ok("ok")
            }
            let session = try transport().openHTTPSession(url: server.url, credentials: Self.credentials)
            let inform = try TransportSamples.inform()
            let first = try await session.exchange(body: inform)
            #expect(first.status == 200)
            for _ in 0..<3 { #expect(try await session.exchange(body: nil).status == 200) }
            await session.close()

            let requests = server.requests
            try #require(requests.count == 5)
            #expect(requests[0].header("Authorization") == nil)
            #expect(requests[1].body == inform)  // the same message, resent with credentials
            let authorizations = requests[1...].compactMap { $0.header("Authorization") }
            #expect(authorizations.count == 4)  // preemptive on every later POST: no more 401 rounds
            let fields = authorizations.compactMap { HTTPAuthenticationChallenge.parse(headerValue: $0).first }
            #expect(fields.map { $0[parameter: "nc"] } == ["00000001", "00000002", "00000003", "00000004"])
            #expect(Set(fields.compactMap { $0[parameter: "nonce"] }).count == 1)
            #expect(fields.allSatisfy { $0[parameter: "algorithm"] == algorithm.rawValue })
            #expect(Set(requests.map(\.connection)).count == 1)
            await server.stop()
        }
    }

    @Test func staleNonceIsRetriedOnceWithTheNewNonce() async throws {
        // The second authenticated request is answered with stale=true: the client must retry it at once with
        // the new nonce (nc back to 1) and not count it as a refusal.
        let count = Mutex(0)
        let server = try await TestHTTPServer { request in
            let n = count.withLock { $0 += 1; return $0 }
            switch n {
            case 1: return TestHTTPServer.Reply(.unauthorized, headers: [("WWW-Authenticate", "Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"")])
            case 3: return TestHTTPServer.Reply(.unauthorized, headers: [("WWW-Authenticate", "Digest realm=\"r\", nonce=\"n2\", qop=\"auth\", stale=true")])
            default: return .ok()
            }
        }
        let session = try transport().openHTTPSession(url: server.url, credentials: Self.credentials)
        #expect(try await session.exchange(body: Array("a".utf8)).status == 200)
        #expect(try await session.exchange(body: Array("b".utf8)).status == 200)
        #expect(try await session.exchange(body: nil).status == 200)
        await session.close()
        let fields = server.requests.map { $0.header("Authorization").flatMap { HTTPAuthenticationChallenge.parse(headerValue: $0).first } }
        try #require(fields.count == 5)
        #expect(fields[0] == nil)
        #expect(fields[1...].map { $0?[parameter: "nonce"] } == ["n1", "n1", "n2", "n2"])
        #expect(fields[1...].map { $0?[parameter: "nc"] } == ["00000001", "00000002", "00000001", "00000002"])
        #expect(server.requests[2].body == server.requests[3].body)
        await server.stop()
    }

    @Test func repeated401IsAnAuthenticationFailure() async throws {
        let server = try await TestHTTPServer { _ in
            TestHTTPServer.Reply(.unauthorized, headers: [("WWW-Authenticate", "Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"")])
        }
        let records = RecordingLogHandler()
        let logger = Logger(label: "test") { _ in records }
        let transport = try transport(logger: logger)
        let session = try transport.openHTTPSession(url: server.url, credentials: Self.credentials)
        let error = await #expect(throws: CWMPError(.authenticationFailed, "")) {
            try await session.exchange(body: try TransportSamples.inform())
        }
        #expect(server.requests.count == 2)
        // Through the ACSTransport protocol the refusal is the 401 itself, as the protocol documents.
        let viaProtocol = try await transport.openSession(url: server.url, credentials: Self.credentials)
        #expect(try await viaProtocol.post(body: nil, timeout: .seconds(30)).status == 401)
        await session.close()
        await viaProtocol.close()
        // Without credentials the 401 is simply the answer.
        let anonymous = try transport.openHTTPSession(url: server.url, credentials: nil)
        #expect(try await anonymous.exchange(body: nil).status == 401)
        await anonymous.close()
        let password = Self.credentials.password
        #expect(!"\(String(describing: error))".contains(password))
        #expect(records.count > 0)
        #expect(!records.text.contains(password))
        await server.stop()
    }

    @Test func basicIsRefusedOverPlainHTTPUnlessOverridden() async throws {
        let server = try await TestHTTPServer { request in
            if request.header("Authorization") == nil {
                return TestHTTPServer.Reply(.unauthorized, headers: [("WWW-Authenticate", "Basic realm=\"acs\"")])
            }
            return .ok()
        }
        let session = try transport().openHTTPSession(url: server.url, credentials: Self.credentials)
        let error = await #expect(throws: CWMPError(.authenticationUnsupported, "")) {
            try await session.exchange(body: nil)
        }
        #expect(error?.reason.contains("TLS") == true)
        #expect(!"\(String(describing: error))".contains(Self.credentials.password))
        await session.close()
        #expect(server.requests.count == 1)  // the password never went out

        let overridden = try transport(.init(allowsBasicOverPlainHTTP: true))
            .openHTTPSession(url: server.url, credentials: Self.credentials)
        #expect(try await overridden.exchange(body: nil).status == 200)
        await overridden.close()
        let expected = "Basic " + HTTPBase64.encode(Array("cpe:\(Self.credentials.password)".utf8))
        #expect(server.requests.last?.header("Authorization") == expected)
        await server.stop()
    }

    @Test func redirectsAreFollowedWithTheSameBodyForTheRestOfTheSession() async throws {
        let other = try await TestHTTPServer { request in
            request.header("Cookie") == nil ? .ok("final") : .ok("leaked cookie")
        }
        let otherURL = other.url
        let server = try await TestHTTPServer { request in
            switch request.uri {
            case "/acs": return TestHTTPServer.Reply(.movedPermanently, headers: [("Location", "/step2"), ("Set-Cookie", "a=1")])
            case "/step2": return TestHTTPServer.Reply(.found, headers: [("Location", "/step3")])
            case "/step3": return TestHTTPServer.Reply(.temporaryRedirect, headers: [("Location", otherURL)])
            default: return .ok()
            }
        }
        let session = try transport().openHTTPSession(url: server.url, credentials: nil)
        let inform = try TransportSamples.inform()
        let answer = try await session.exchange(body: inform)
        #expect(answer.status == 200)
        #expect(answer.body == Array("final".utf8))
        #expect(session.currentURL == otherURL)
        _ = try await session.exchange(body: nil)
        await session.close()
        #expect(server.requests.map(\.uri) == ["/acs", "/step2", "/step3"])
        #expect(server.requests.allSatisfy { $0.body == inform && $0.method == .POST })
        #expect(other.requests.count == 2)
        #expect(other.requests.first?.body == inform)
        #expect(other.requests.last?.body.isEmpty == true)  // later POSTs go to the new location
        // The configured URL is untouched: a new session starts there again.
        let again = try transport().openHTTPSession(url: server.url, credentials: nil)
        #expect(again.currentURL == server.url)
        await again.close()
        await server.stop()
        await other.stop()
    }

    @Test func aRedirectLoopEndsAfterTheLimit() async throws {
        let server = try await TestHTTPServer { request in
            let n = Int(request.uri.dropFirst(2)) ?? 0
            return TestHTTPServer.Reply(.found, headers: [("Location", "/r\(n + 1)")])
        }
        let session = try transport().openHTTPSession(url: server.url, credentials: nil)
        await #expect(throws: CWMPError(.tooManyRedirects, "")) { try await session.exchange(body: nil) }
        await session.close()
        #expect(server.requests.count == 6)  // the first POST and 5 followed redirects
        let noLocation = try await TestHTTPServer { _ in TestHTTPServer.Reply(.found) }
        let second = try transport().openHTTPSession(url: noLocation.url, credentials: nil)
        await #expect(throws: CWMPError(.tooManyRedirects, "")) { try await second.exchange(body: nil) }
        await second.close()
        await server.stop()
        await noLocation.stop()
    }

    @Test func gzipAnswersAreDecompressed() async throws {
        let text = String(repeating: "<cwmp:InformResponse/>", count: 200)
        let compressed = try Tool.gzip(Array(text.utf8))
        let server = try await TestHTTPServer { _ in
            TestHTTPServer.Reply(.ok, headers: [("Content-Encoding", "gzip"), ("Content-Type", "text/xml")], body: compressed)
        }
        let session = try transport().openHTTPSession(url: server.url, credentials: nil)
        let answer = try await session.exchange(body: nil)
        await session.close()
        #expect(compressed.count < text.utf8.count)
        #expect(answer.body == Array(text.utf8))
        await server.stop()
    }

    @Test func busyAnswerCarriesRetryAfter() async throws {
        let server = try await TestHTTPServer { request in
            request.uri == "/acs"
                ? TestHTTPServer.Reply(.serviceUnavailable, headers: [("Retry-After", "60")], body: Array("busy".utf8), close: true)
                : TestHTTPServer.Reply(.serviceUnavailable, headers: [("Date", "Mon, 23 Nov 2026 14:00:00 GMT"),
                                                                      ("Retry-After", "Mon, 23 Nov 2026 14:02:05 GMT")])
        }
        let transport = try transport()
        let session = try await transport.openSession(url: server.url, credentials: nil)
        let answer = try await session.post(body: try TransportSamples.inform(), timeout: .seconds(30))
        #expect(answer.status == 503)
        #expect(answer.retryAfter == .seconds(60))
        await session.close()
        let dated = try await transport.openSession(url: "http://127.0.0.1:\(server.port)/dated", credentials: nil)
        #expect(try await dated.post(body: nil, timeout: .seconds(30)).retryAfter == .seconds(125))
        await dated.close()
        await server.stop()
    }

    @Test func noAnswerWithinTheTimeoutIsATimeout() async throws {
        let server = try await TestHTTPServer { _ in TestHTTPServer.Reply(.ok, hang: true) }
        let transport = try transport()
        let session = try transport.openHTTPSession(url: server.url, credentials: nil)
        await #expect(throws: CWMPError(.transportTimedOut, "")) {
            try await session.exchange(body: nil, timeout: .milliseconds(200))
        }
        await session.close()
        // The agent recognises a timeout by ACSTransportError.Kind.timedOut.
        let viaProtocol = try await transport.openSession(url: server.url, credentials: nil)
        do {
            _ = try await viaProtocol.post(body: nil, timeout: .milliseconds(200))
            Issue.record("a hung ACS produced an answer")
        } catch let error as ACSTransportError {
            #expect(error.kind == .timedOut)
        }
        await viaProtocol.close()
        await server.stop()
    }

    @Test func anAnswerThatStallsInItsBodyIsATimeout() async throws {
        // The head arrives in time, the body never ends: the exchange's timeout covers the body too, and the
        // stalled connection is closed.
        let server = try await TestHTTPServer { _ in
            TestHTTPServer.Reply(.ok, body: Array(String(repeating: "x", count: 4096).utf8), stallInBody: true)
        }
        let session = try transport().openHTTPSession(url: server.url, credentials: nil)
        await #expect(throws: CWMPError(.transportTimedOut, "")) {
            try await session.exchange(body: nil, timeout: .milliseconds(300))
        }
        await session.close()
        #expect(try await eventually { server.closedConnections == 1 })
        await server.stop()
    }

    @Test func cancellingTheCallerCancelsTheExchange() async throws {
        // The agent stopping cancels its session task: the exchange must end then, not at its 30 s timeout.
        let server = try await TestHTTPServer { _ in TestHTTPServer.Reply(.ok, hang: true) }
        let session = try transport().openHTTPSession(url: server.url, credentials: nil)
        let exchange = Task { try await session.exchange(body: nil, timeout: .seconds(30)) }
        #expect(try await eventually { server.requests.count == 1 })
        exchange.cancel()
        await #expect(throws: CWMPError(.transportFailed, "")) { try await exchange.value }
        #expect(try await eventually { server.closedConnections == 1 })
        await session.close()
        await server.stop()
    }

    @Test func anOversizedAnswerIsRefused() async throws {
        let server = try await TestHTTPServer { _ in .ok(String(repeating: "x", count: 300_000)) }
        let session = try transport(.init(maximumResponseBytes: 256 << 10)).openHTTPSession(url: server.url, credentials: nil)
        await #expect(throws: CWMPError(.responseTooLarge, "")) { try await session.exchange(body: nil) }
        await session.close()
        let roomy = try transport(.init(maximumResponseBytes: 512 << 10)).openHTTPSession(url: server.url, credentials: nil)
        #expect(try await roomy.exchange(body: nil).body.count == 300_000)
        await roomy.close()
        await server.stop()
    }

    @Test func connectFailureAndBadURLsAreTransportErrors() async throws {
        // A port that was just free: nothing listens there.
        let server = try await TestHTTPServer { _ in .ok() }
        let url = server.url
        await server.stop()
        let transport = try transport(.init(connectTimeout: .seconds(5)))
        let session = try transport.openHTTPSession(url: url, credentials: nil)
        await #expect(throws: CWMPError(.transportFailed, "")) { try await session.exchange(body: nil) }
        await session.close()
        #expect(throws: CWMPError(.invalidACSURL, "")) { try transport.openHTTPSession(url: "ftp://acs/", credentials: nil) }
        do {
            _ = try await transport.openSession(url: "acs.example.com", credentials: nil)
            Issue.record("a URL without a scheme was accepted")
        } catch let error as ACSTransportError {
            #expect(error.kind == .invalidURL)
        }
        let closed = try transport.openHTTPSession(url: url, credentials: nil)
        await closed.close()
        await closed.close()  // idempotent
        await #expect(throws: CWMPError(.transportFailed, "")) { try await closed.exchange(body: nil) }
    }
}

