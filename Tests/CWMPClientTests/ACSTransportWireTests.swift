import CWMPTestSupport
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
@testable import CWMPClient

/// The ACS transports against the in-process server: what goes on the wire, exactly. Every test runs on each
/// transport the daemon uses (AHC for http, NIO for https, and NIO over http as the agent tests use it), because the
/// session rules are one (`ACSSessionRules`) and must not depend on the scheme.
@Suite struct ACSTransportWireTests {
    static let credentials = HTTPCredentials(username: "cpe", password: "pw-7f3c-never-logged")
    typealias Reply = TestHTTPServer.Reply

    /// The kind of the `ACSTransportError` `work` throws; nil when it throws nothing or something else.
    func transportErrorKind(_ work: () async throws -> Void) async -> ACSTransportError.Kind? {
        do {
            try await work()
            return nil
        } catch let error as ACSTransportError {
            return error.kind
        } catch {
            Issue.record("not an ACSTransportError: \(error)")
            return nil
        }
    }

    /// A handler that wants Digest (this package's RFC 7616 server) on every request, then answers with `next`.
    static func digestProtected(algorithm: DigestAlgorithm = .md5,
                                _ next: @escaping TestHTTPServer.Handler) -> TestHTTPServer.Handler {
        let digest = Mutex(HTTPDigestServer(configuration: .init(realm: "acs", algorithms: [algorithm])))
        return { request in
            let verification = digest.withLock {
                $0.verify(authorization: request.header("Authorization"), method: "POST", uri: request.uri,
                          scope: "acs", credentials: credentials, now: .now())
            }
            guard verification == .authenticated else {
                let challenges = digest.withLock { $0.challenges(scope: "acs", stale: verification == .stale, now: .now()) }
                return Reply(.unauthorized, headers: challenges.map { ("WWW-Authenticate", $0) })
            }
            return next(request)
        }
    }

    /// A handler that wants Basic with `credentials`, then answers with `next`.
    static func basicProtected(_ next: @escaping TestHTTPServer.Handler) -> TestHTTPServer.Handler {
        let expected = "Basic " + HTTPBase64.encode(Array("cpe:\(credentials.password)".utf8))
        return { request in
            request.header("Authorization") == expected
                ? next(request) : Reply(.unauthorized, headers: [("WWW-Authenticate", "Basic realm=\"acs\"")])
        }
    }

    // MARK: - Connection and request framing

    @Test(arguments: WireTransport.allCases)
    func allPostsOfASessionShareOneConnectionAndSessionsDoNot(_ kind: WireTransport) async throws {
        let server = try await kind.server { _ in .ok("<x/>") }
        let transport = try kind.transport()
        let inform = try TransportSamples.inform()
        for _ in 0..<2 {
            let session = try await transport.openSession(url: server.url, credentials: nil)
            _ = try await session.post(body: inform, timeout: .seconds(10))
            for _ in 0..<4 { _ = try await session.post(body: nil, timeout: .seconds(10)) }
            await session.close()
        }
        let connections = server.requests.map(\.connection)
        #expect(connections.count == 10)
        #expect(Set(connections[0..<5]).count == 1)
        #expect(Set(connections[5..<10]).count == 1)
        #expect(connections[0] != connections[5])
        #expect(server.connections == 2)
        // close() closed the session's socket (cwmp.md §6 rule 5), not parked it in a pool.
        for _ in 0..<200 where server.closedConnections < 2 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.closedConnections == 2)
        // What went on the wire is the envelope, byte for byte, and it validates against the CWMP XSD.
        #expect(server.requests[0].body == inform)
        if XSDValidator.isAvailable {
            let failures = try XSDValidator.validate([(name: "inform-\(kind)", bytes: server.requests[0].body)])
            #expect(failures.isEmpty, "\(failures)")
        }
        await server.stop()
    }

    @Test(arguments: WireTransport.allCases)
    func requestHeadersOfEnvelopeAndEmptyPost(_ kind: WireTransport) async throws {
        let server = try await kind.server { _ in .ok() }
        let session = try await kind.transport().openSession(url: server.url, credentials: nil)
        let inform = try TransportSamples.inform()
        _ = try await session.post(body: inform, timeout: .seconds(10))
        _ = try await session.post(body: nil, timeout: .seconds(10))
        _ = try await session.post(body: [], timeout: .seconds(10))
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
        #expect(first.header("Accept-Encoding") == "gzip, deflate")
        #expect(first.header("Host") == "127.0.0.1:\(server.port)")
        for empty in requests[1...] {
            #expect(empty.method == .POST)
            #expect(empty.body.isEmpty)
            #expect(empty.header("Content-Length") == "0")
            #expect(!empty.headers.contains(name: "Content-Type"))
            #expect(!empty.headers.contains(name: "SOAPAction"))
            #expect(!empty.headers.contains(name: "Transfer-Encoding"))
        }
    }

    // MARK: - Cookies

    @Test(arguments: WireTransport.allCases)
    func cookiesAreEchoedForTheSessionOnly(_ kind: WireTransport) async throws {
        let big = String(repeating: "b", count: 600)
        let counter = Mutex(0)
        let server = try await kind.server { _ in
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
        let transport = try kind.transport()
        let session = try await transport.openSession(url: server.url, credentials: nil)
        for _ in 0..<3 { _ = try await session.post(body: nil, timeout: .seconds(10)) }
        await session.close()
        let second = try await transport.openSession(url: server.url, credentials: nil)
        _ = try await second.post(body: nil, timeout: .seconds(10))
        await second.close()

        let cookies = server.requests.map { $0.header("Cookie") }
        #expect(cookies[0] == nil)
        #expect(cookies[1] == "session=abc123; big=\(big); gone=soon")
        #expect(cookies[2] == "big=\(big); session=def456; quoted=q v")
        #expect((cookies[1]?.utf8.count ?? 0) > 512)
        #expect(cookies[3] == nil)  // a new session starts with an empty jar
        await server.stop()
    }

    /// A hostile ACS cannot grow the jar without bound: at most `maximumCookies` cookies and `maximumBytes` bytes
    /// go back, however many it sets.
    @Test(arguments: WireTransport.allCases)
    func aCookieFloodIsCapped(_ kind: WireTransport) async throws {
        let server = try await kind.server { request in
            guard request.header("Cookie") == nil else { return .ok() }
            if request.uri == "/many" {
                return .ok(headers: (0..<200).map { ("Set-Cookie", "c\($0)=v\($0)") })
            }
            let value = String(repeating: "x", count: 1_000)
            return .ok(headers: (0..<20).map { ("Set-Cookie", "b\($0)=\(value)") })
        }
        let transport = try kind.transport()
        var echoed: [String] = []
        for path in ["/many", "/big"] {
            let session = try await transport.openSession(url: server.url(path), credentials: nil)
            for _ in 0..<2 { _ = try await session.post(body: nil, timeout: .seconds(10)) }
            await session.close()
            echoed.append(try #require(server.requests.last?.header("Cookie")))
        }
        let many = echoed[0].split(separator: ";").map { $0.trimmingSpaces() }
        #expect(many.count == ACSCookieJar.maximumCookies)
        #expect(many.first == "c0=v0")
        #expect(many.last == "c\(ACSCookieJar.maximumCookies - 1)=v\(ACSCookieJar.maximumCookies - 1)")
        let big = echoed[1].split(separator: ";")
        #expect(big.count == 8)  // 8 × 1,005 bytes fit in 8 KiB, a ninth does not
        #expect(echoed[1].utf8.count <= ACSCookieJar.maximumBytes)
        await server.stop()
    }

    // MARK: - Authentication

    @Test(arguments: WireTransport.allCases)
    func digestChallengeIsAnsweredAndCredentialsGoOnEveryLaterPost(_ kind: WireTransport) async throws {
        for algorithm in [DigestAlgorithm.md5, .sha256] {
            let server = try await kind.server(Self.digestProtected(algorithm: algorithm) { _ in .ok("ok") })
            let session = try await kind.transport().openSession(url: server.url, credentials: Self.credentials)
            let inform = try TransportSamples.inform()
            #expect(try await session.post(body: inform, timeout: .seconds(10)).status == 200)
            for _ in 0..<3 { #expect(try await session.post(body: nil, timeout: .seconds(10)).status == 200) }
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

    @Test(arguments: WireTransport.allCases)
    func staleNonceIsRetriedOnceWithTheNewNonce(_ kind: WireTransport) async throws {
        // The second authenticated request is answered with stale=true: the client must retry it at once with
        // the new nonce (nc back to 1) and not count it as a refusal.
        let count = Mutex(0)
        let server = try await kind.server { _ in
            switch count.withLock({ $0 += 1; return $0 }) {
            case 1: return Reply(.unauthorized, headers: [("WWW-Authenticate", "Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"")])
            case 3: return Reply(.unauthorized, headers: [("WWW-Authenticate", "Digest realm=\"r\", nonce=\"n2\", qop=\"auth\", stale=true")])
            default: return .ok()
            }
        }
        let session = try await kind.transport().openSession(url: server.url, credentials: Self.credentials)
        #expect(try await session.post(body: Array("a".utf8), timeout: .seconds(10)).status == 200)
        #expect(try await session.post(body: Array("b".utf8), timeout: .seconds(10)).status == 200)
        #expect(try await session.post(body: nil, timeout: .seconds(10)).status == 200)
        await session.close()
        let fields = server.requests.map { $0.header("Authorization").flatMap { HTTPAuthenticationChallenge.parse(headerValue: $0).first } }
        try #require(fields.count == 5)
        #expect(fields[0] == nil)
        #expect(fields[1...].map { $0?[parameter: "nonce"] } == ["n1", "n1", "n2", "n2"])
        #expect(fields[1...].map { $0?[parameter: "nc"] } == ["00000001", "00000002", "00000001", "00000002"])
        #expect(server.requests[2].body == server.requests[3].body)
        await server.stop()
    }

    @Test(arguments: WireTransport.allCases)
    func repeated401IsTheAnswerAndThePasswordIsNeverLogged(_ kind: WireTransport) async throws {
        let server = try await kind.server { _ in
            Reply(.unauthorized, headers: [("WWW-Authenticate", "Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"")])
        }
        let records = RecordingLogHandler()
        let transport = try kind.transport(logger: Logger(label: "test") { _ in records })
        // Refused credentials: the ACSTransport contract reports the 401 itself, after one authenticated try.
        let session = try await transport.openSession(url: server.url, credentials: Self.credentials)
        #expect(try await session.post(body: try TransportSamples.inform(), timeout: .seconds(10)).status == 401)
        await session.close()
        #expect(server.requests.count == 2)
        // Without credentials the 401 is simply the answer.
        let anonymous = try await transport.openSession(url: server.url, credentials: nil)
        #expect(try await anonymous.post(body: nil, timeout: .seconds(10)).status == 401)
        await anonymous.close()
        #expect(server.requests.count == 3)
        #expect(records.count > 0)  // the exchanges were logged, at debug…
        #expect(!records.text.contains(Self.credentials.password))  // …without the password
        await server.stop()
    }

    @Test(arguments: WireTransport.plainHTTP)
    func basicIsRefusedOverPlainHTTPUnlessOverridden(_ kind: WireTransport) async throws {
        let server = try await kind.server(Self.basicProtected { _ in .ok() })
        let session = try await kind.transport().openSession(url: server.url, credentials: Self.credentials)
        #expect(await transportErrorKind { _ = try await session.post(body: nil, timeout: .seconds(10)) }
            == .authenticationUnsupported)
        await session.close()
        #expect(server.requests.count == 1)  // the password never went out

        let overridden = try await kind.transport(.init(allowsBasicOverPlainHTTP: true))
            .openSession(url: server.url, credentials: Self.credentials)
        #expect(try await overridden.post(body: nil, timeout: .seconds(10)).status == 200)
        await overridden.close()
        #expect(server.requests.last?.header("Authorization")?.hasPrefix("Basic ") == true)
        await server.stop()
    }

    // MARK: - Redirects (cwmp.md §6 rule 9)

    @Test(arguments: WireTransport.allCases)
    func redirectsAreFollowedWithTheSameBodyForTheRestOfTheSession(_ kind: WireTransport) async throws {
        let other = try await kind.server { request in
            request.header("Cookie") == nil ? .ok("final") : .ok("leaked cookie")
        }
        let otherURL = other.url
        let server = try await kind.server { request in
            switch request.uri {
            // An absolute path, a relative path (RFC 3986 §5.2) and an absolute URL on another origin.
            case "/acs": return Reply(.movedPermanently, headers: [("Location", "/dir/step2"), ("Set-Cookie", "a=1")])
            case "/dir/step2": return Reply(.found, headers: [("Location", "../step3")])
            case "/step3": return Reply(.temporaryRedirect, headers: [("Location", otherURL)])
            default: return .ok()
            }
        }
        let transport = try kind.transport()
        let session = try await transport.openSession(url: server.url, credentials: nil)
        let inform = try TransportSamples.inform()
        let answer = try await session.post(body: inform, timeout: .seconds(10))
        #expect(answer.status == 200)
        #expect(answer.body == Array("final".utf8))
        _ = try await session.post(body: nil, timeout: .seconds(10))
        await session.close()
        #expect(server.requests.map(\.uri) == ["/acs", "/dir/step2", "/step3"])
        #expect(server.requests.allSatisfy { $0.body == inform && $0.method == .POST })
        #expect(server.requests[1].header("Cookie") == "a=1")  // same origin: the jar goes along
        #expect(other.requests.count == 2)
        #expect(other.requests.first?.body == inform)
        #expect(other.requests.last?.body.isEmpty == true)  // later POSTs go to the new location
        // The configured URL is untouched: a new session starts there again.
        let again = try await transport.openSession(url: server.url, credentials: nil)
        _ = try await again.post(body: inform, timeout: .seconds(10))
        await again.close()
        #expect(server.requests.count == 6)
        #expect(server.requests[3].uri == "/acs")
        await server.stop()
        await other.stop()
    }

    @Test(arguments: WireTransport.allCases)
    func aRedirectLoopEndsAfterTheLimit(_ kind: WireTransport) async throws {
        let server = try await kind.server { request in
            let n = Int(request.uri.dropFirst(2)) ?? 0
            return Reply(.found, headers: [("Location", "/r\(n + 1)")])
        }
        let session = try await kind.transport().openSession(url: server.url, credentials: nil)
        #expect(await transportErrorKind { _ = try await session.post(body: nil, timeout: .seconds(10)) } == .badRedirect)
        await session.close()
        #expect(server.requests.count == 6)  // the first POST and 5 followed redirects
        let noLocation = try await kind.server { _ in Reply(.found) }
        let second = try await kind.transport().openSession(url: noLocation.url, credentials: nil)
        #expect(await transportErrorKind { _ = try await second.post(body: nil, timeout: .seconds(10)) } == .badRedirect)
        await second.close()
        await server.stop()
        await noLocation.stop()
    }

    /// Only the Inform is redirected: a redirect later in the session is the answer, so the agent fails the session
    /// instead of posting an RPC response to an ACS that never saw the Inform. 303 and 308 are not TR-069 redirects.
    @Test(arguments: WireTransport.allCases)
    func onlyTheInformIsRedirected(_ kind: WireTransport) async throws {
        let server = try await kind.server { request in
            switch request.uri {
            case "/acs": return request.body.isEmpty ? Reply(.found, headers: [("Location", "/later")]) : .ok()
            case "/see-other": return Reply(.seeOther, headers: [("Location", "/acs")])
            default: return Reply(.permanentRedirect, headers: [("Location", "/acs")])
            }
        }
        let transport = try kind.transport()
        let session = try await transport.openSession(url: server.url, credentials: nil)
        #expect(try await session.post(body: try TransportSamples.inform(), timeout: .seconds(10)).status == 200)
        #expect(try await session.post(body: nil, timeout: .seconds(10)).status == 302)
        await session.close()
        for path in ["/see-other", "/permanent"] {
            let other = try await transport.openSession(url: server.url(path), credentials: nil)
            #expect(try await other.post(body: nil, timeout: .seconds(10)).status == (path == "/see-other" ? 303 : 308))
            await other.close()
        }
        #expect(server.requests.map(\.uri) == ["/acs", "/acs", "/see-other", "/permanent"])
        await server.stop()
    }

    /// The credential leak the https path had: after an authenticated Inform is redirected to another origin
    /// (another port here; https→http for the TLS transport), the new origin gets neither the Authorization nor
    /// the old origin's cookies.
    @Test(arguments: WireTransport.allCases)
    func aRedirectToAnotherOriginCarriesNoCredentials(_ kind: WireTransport) async throws {
        let other = try await TestHTTPServer { _ in .ok("other") }  // always plain http
        let otherURL = other.url
        let redirect: TestHTTPServer.Handler = { _ in
            Reply(.temporaryRedirect, headers: [("Location", otherURL), ("Set-Cookie", "sid=first-origin")])
        }
        // Basic over TLS (allowed there), Digest over plain http.
        let server = try await kind.server(kind == .nioTLS ? Self.basicProtected(redirect) : Self.digestProtected(redirect))
        let session = try await kind.transport().openSession(url: server.url, credentials: Self.credentials)
        let inform = try TransportSamples.inform()
        #expect(try await session.post(body: inform, timeout: .seconds(10)).body == Array("other".utf8))
        #expect(try await session.post(body: nil, timeout: .seconds(10)).status == 200)
        await session.close()
        #expect(server.requests.count == 2)  // the challenge, then the authenticated Inform it redirected
        #expect(server.requests[1].header("Authorization") != nil)
        #expect(other.requests.count == 2)
        #expect(other.requests.first?.body == inform)
        #expect(other.requests.allSatisfy { $0.header("Authorization") == nil })
        #expect(other.requests.allSatisfy { $0.header("Cookie") == nil })
        await server.stop()
        await other.stop()
    }

    /// When the new (plain http) origin asks for Basic, the password is not sent: TR-069 allows Basic over TLS only.
    /// With the override it is sent, but only after that origin's own challenge, never carried over.
    @Test(arguments: WireTransport.allCases)
    func basicIsNeverCarriedToAPlainHTTPOrigin(_ kind: WireTransport) async throws {
        let other = try await TestHTTPServer(handler: Self.basicProtected { _ in .ok("other") })
        let otherURL = other.url
        let redirect: TestHTTPServer.Handler = { _ in Reply(.found, headers: [("Location", otherURL)]) }
        let server = try await kind.server(kind == .nioTLS ? Self.basicProtected(redirect) : Self.digestProtected(redirect))
        let session = try await kind.transport().openSession(url: server.url, credentials: Self.credentials)
        #expect(await transportErrorKind { _ = try await session.post(body: nil, timeout: .seconds(10)) }
            == .authenticationUnsupported)
        await session.close()
        #expect(other.requests.count == 1)
        #expect(other.requests.first?.header("Authorization") == nil)

        let overridden = try await kind.transport(.init(allowsBasicOverPlainHTTP: true))
            .openSession(url: server.url, credentials: Self.credentials)
        #expect(try await overridden.post(body: nil, timeout: .seconds(10)).body == Array("other".utf8))
        await overridden.close()
        #expect(other.requests.count == 3)
        #expect(other.requests[1].header("Authorization") == nil)  // a fresh authenticator: nothing preemptive
        #expect(other.requests[2].header("Authorization")?.hasPrefix("Basic ") == true)
        await server.stop()
        await other.stop()
    }

    /// A redirect on the same origin (relative Location) keeps the authenticator: the next request carries
    /// Digest credentials for the new URI at once, with the nonce count going on.
    @Test(arguments: WireTransport.allCases)
    func aSameOriginRedirectKeepsTheCredentials(_ kind: WireTransport) async throws {
        let server = try await kind.server(Self.digestProtected { request in
            request.uri == "/acs" ? Reply(.found, headers: [("Location", "moved")]) : .ok("moved")
        })
        let session = try await kind.transport().openSession(url: server.url, credentials: Self.credentials)
        #expect(try await session.post(body: try TransportSamples.inform(), timeout: .seconds(10)).body
            == Array("moved".utf8))
        #expect(try await session.post(body: nil, timeout: .seconds(10)).status == 200)
        await session.close()
        let requests = server.requests
        #expect(requests.map(\.uri) == ["/acs", "/acs", "/moved", "/moved"])  // no second challenge
        let fields = requests.map { $0.header("Authorization").flatMap { HTTPAuthenticationChallenge.parse(headerValue: $0).first } }
        #expect(fields[0] == nil)
        #expect(fields[1...].map { $0?[parameter: "uri"] } == ["/acs", "/moved", "/moved"])
        #expect(fields[1...].map { $0?[parameter: "nc"] } == ["00000001", "00000002", "00000003"])
        #expect(Set(requests.map(\.connection)).count == 1)
        await server.stop()
    }

    /// A NIO transport built without TLS never turns a redirect to https into plain TCP to that port.
    @Test func aRedirectToHTTPSWithoutTLSIsRefusedNotSentInClear() async throws {
        let tls = try await WireTransport.nioTLS.server { _ in .ok("tls") }
        let target = tls.url
        let server = try await TestHTTPServer { _ in Reply(.found, headers: [("Location", target)]) }
        let session = try await WireTransport.nio.transport().openSession(url: server.url, credentials: nil)
        #expect(await transportErrorKind { _ = try await session.post(body: nil, timeout: .seconds(10)) } == .invalidURL)
        await session.close()
        #expect(tls.connections == 0)
        await server.stop()
        await tls.stop()
    }

    // MARK: - Bodies: gzip, size, Retry-After, timeouts

    @Test(arguments: WireTransport.allCases)
    func gzipAnswersAreDecompressed(_ kind: WireTransport) async throws {
        let text = String(repeating: "<cwmp:InformResponse/>", count: 200)
        let compressed = try Tool.gzip(Array(text.utf8))
        let server = try await kind.server { _ in
            Reply(.ok, headers: [("Content-Encoding", "gzip"), ("Content-Type", "text/xml")], body: compressed)
        }
        let session = try await kind.transport().openSession(url: server.url, credentials: nil)
        let answer = try await session.post(body: nil, timeout: .seconds(10))
        await session.close()
        #expect(compressed.count < text.utf8.count)
        #expect(answer.body == Array(text.utf8))
        #expect(server.requests.first?.header("Accept-Encoding") == "gzip, deflate")

        // Off: the ACS is not told gzip is welcome (so a conforming ACS answers uncompressed).
        let plain = try await kind.transport(.init(acceptsCompressedResponses: false))
            .openSession(url: server.url, credentials: nil)
        _ = try await plain.post(body: nil, timeout: .seconds(10))
        await plain.close()
        #expect(server.requests.last?.headers.contains(name: "Accept-Encoding") == false)
        await server.stop()
    }

    /// The size cap applies after decompression: 8 MiB of zeros in an 8 KiB gzip stops at the cap (no 8 MiB in
    /// memory), and a corrupt gzip body is a failed exchange, not garbage handed to the decoder.
    @Test(arguments: WireTransport.allCases)
    func aGzipBombIsCappedAndCorruptGzipFails(_ kind: WireTransport) async throws {
        let bomb = try Tool.gzip([UInt8](repeating: 0, count: 8 << 20))
        let server = try await kind.server { request in
            Reply(.ok, headers: [("Content-Encoding", "gzip")],
                  body: request.uri == "/acs" ? bomb : Array("not gzip at all".utf8))
        }
        let transport = try kind.transport(.init(maximumResponseBytes: 1 << 20))
        let session = try await transport.openSession(url: server.url, credentials: nil)
        #expect(await transportErrorKind { _ = try await session.post(body: nil, timeout: .seconds(10)) }
            == .responseTooLarge)
        await session.close()
        let corrupt = try await transport.openSession(url: server.url("/corrupt"), credentials: nil)
        #expect(await transportErrorKind { _ = try await corrupt.post(body: nil, timeout: .seconds(10)) }
            == .connectionFailed)
        await corrupt.close()
        #expect(bomb.count < 64 << 10)
        await server.stop()
    }

    @Test(arguments: WireTransport.allCases)
    func busyAnswerCarriesRetryAfterInBothForms(_ kind: WireTransport) async throws {
        let server = try await kind.server { request in
            request.uri == "/acs"
                ? Reply(.serviceUnavailable, headers: [("Retry-After", "60")], body: Array("busy".utf8), close: true)
                // The HTTP-date form, measured against the answer's own Date (clock skew cancels out).
                : Reply(.serviceUnavailable, headers: [("Date", "Mon, 23 Nov 2026 14:00:00 GMT"),
                                                       ("Retry-After", "Mon, 23 Nov 2026 14:02:05 GMT")])
        }
        let transport = try kind.transport()
        let session = try await transport.openSession(url: server.url, credentials: nil)
        let answer = try await session.post(body: try TransportSamples.inform(), timeout: .seconds(10))
        #expect(answer.status == 503)
        #expect(answer.retryAfter == .seconds(60))
        await session.close()
        let dated = try await transport.openSession(url: server.url("/dated"), credentials: nil)
        let datedAnswer = try await dated.post(body: nil, timeout: .seconds(10))
        #expect(datedAnswer.status == 503)
        #expect(datedAnswer.retryAfter == .seconds(125))
        await dated.close()
        await server.stop()
    }

    @Test(arguments: WireTransport.allCases)
    func noAnswerWithinTheTimeoutIsATimeout(_ kind: WireTransport) async throws {
        let server = try await kind.server { _ in Reply(.ok, hang: true) }
        let session = try await kind.transport().openSession(url: server.url, credentials: nil)
        #expect(await transportErrorKind { _ = try await session.post(body: nil, timeout: .milliseconds(200)) }
            == .timedOut)
        await session.close()
        await server.stop()
    }

    @Test(arguments: WireTransport.allCases)
    func anOversizedAnswerIsRefused(_ kind: WireTransport) async throws {
        let server = try await kind.server { _ in .ok(String(repeating: "x", count: 300_000)) }
        let session = try await kind.transport(.init(maximumResponseBytes: 256 << 10))
            .openSession(url: server.url, credentials: nil)
        #expect(await transportErrorKind { _ = try await session.post(body: nil, timeout: .seconds(10)) }
            == .responseTooLarge)
        await session.close()
        let roomy = try await kind.transport(.init(maximumResponseBytes: 512 << 10))
            .openSession(url: server.url, credentials: nil)
        #expect(try await roomy.post(body: nil, timeout: .seconds(10)).body.count == 300_000)
        await roomy.close()
        await server.stop()
    }

    @Test(arguments: WireTransport.allCases)
    func connectFailureAndBadURLsAreTransportErrors(_ kind: WireTransport) async throws {
        // A port that was just free: nothing listens there.
        let server = try await kind.server { _ in .ok() }
        let url = server.url
        await server.stop()
        let transport = try kind.transport(.init(connectTimeout: .seconds(5)))
        let session = try await transport.openSession(url: url, credentials: nil)
        #expect(await transportErrorKind { _ = try await session.post(body: nil, timeout: .seconds(10)) }
            == .connectionFailed)
        await session.close()
        for bad in ["acs.example.com", "ftp://acs/", "http://:80/"] {
            #expect(await transportErrorKind { _ = try await transport.openSession(url: bad, credentials: nil) }
                == .invalidURL)
        }
        let closed = try await transport.openSession(url: url, credentials: nil)
        await closed.close()
        await closed.close()  // idempotent
        #expect(await transportErrorKind { _ = try await closed.post(body: nil, timeout: .seconds(10)) }
            == .connectionFailed)
    }

    // MARK: - AHC's own session API

    /// `openHTTPSession` (AHC for both schemes) reports `CWMPError`s and shows where a redirect led.
    @Test func theHTTPSessionAPIReportsCWMPErrorsAndTheCurrentURL() async throws {
        let server = try await TestHTTPServer { request in
            switch request.uri {
            case "/acs": return Reply(.found, headers: [("Location", "next")])
            case "/refused": return Reply(.unauthorized, headers: [("WWW-Authenticate", "Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"")])
            case "/basic": return Reply(.unauthorized, headers: [("WWW-Authenticate", "Basic realm=\"acs\"")])
            default: return .ok()
            }
        }
        let transport = try ACSHTTPTransport()
        let session = try transport.openHTTPSession(url: server.url, credentials: nil)
        #expect(try await session.exchange(body: nil).status == 200)
        #expect(session.currentURL == server.url("/next"))
        await session.close()
        let refused = try transport.openHTTPSession(url: server.url("/refused"), credentials: Self.credentials)
        await #expect(throws: CWMPError(.authenticationFailed, "")) { try await refused.exchange(body: nil) }
        await refused.close()
        let basic = try transport.openHTTPSession(url: server.url("/basic"), credentials: Self.credentials)
        let error = await #expect(throws: CWMPError(.authenticationUnsupported, "")) { try await basic.exchange(body: nil) }
        #expect(error?.reason.contains("TLS") == true)
        #expect(!"\(String(describing: error))".contains(Self.credentials.password))
        await basic.close()
        #expect(throws: CWMPError(.invalidACSURL, "")) { try transport.openHTTPSession(url: "ftp://acs/", credentials: nil) }
        await server.stop()
    }
}
