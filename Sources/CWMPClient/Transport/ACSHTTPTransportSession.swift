// One CWMP session over its own AsyncHTTPClient: the HTTP rules TR-069 puts below the session (cwmp.md §6 rules
// 7–9) — cookies echoed, 401 answered with Digest (or Basic over TLS), redirects followed on the Inform — so the
// agent only sees the ACS's final answer to each POST.
import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

public final class ACSHTTPSession: ACSSession {
    private struct State: Sendable {
        var url: ACSURL
        var cookies = ACSCookieJar()
        var authenticator: HTTPClientAuthenticator?
        var posts = 0
        var redirects = 0
        var closed = false
    }

    /// What one HTTP exchange brought back, body read completely (and decompressed).
    struct RawResponse: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    private let client: HTTPClient
    private let configuration: ACSHTTPTransport.Configuration
    private let logger: Logger
    private let state: Mutex<State>
    private let shutdown = Mutex(false)

    init(url: ACSURL, credentials: HTTPCredentials?, client: HTTPClient, transport: ACSHTTPTransport) {
        self.client = client
        self.configuration = transport.configuration
        self.logger = transport.logger
        let authenticator = credentials.map {
            HTTPClientAuthenticator(credentials: $0,
                                    allowsBasic: url.isTLS || transport.configuration.allowsBasicOverPlainHTTP)
        }
        self.state = Mutex(State(url: url, authenticator: authenticator))
    }

    deinit {
        // A session dropped without close() must not leak its client; shutting down from deinit is allowed when
        // nothing awaits it, and the socket it closes belongs to this session alone.
        if !shutdown.withLock({ $0 }) { client.shutdown { _ in } }
    }

    /// The URL the session posts to now: the configured one, or where a redirect sent the session.
    public var currentURL: String { state.withLock { $0.url.requestURL } }

    /// POSTs `body` (nil or empty: the empty POST) and returns the ACS's final answer, after any 401 round and
    /// redirect. Throws `CWMPError`: `.transportTimedOut` (no answer within `timeout`), `.transportFailed`,
    /// `.authenticationFailed` (credentials refused), `.authenticationUnsupported`, `.tooManyRedirects`,
    /// `.responseTooLarge`, `.invalidACSURL`. A 401 when the session has no credentials is returned as is.
    public func exchange(body: [UInt8]?, timeout: Duration? = nil) async throws -> ACSHTTPResponse {
        let timeout = timeout ?? configuration.defaultExchangeTimeout
        let isFirst = try state.withLock { state -> Bool in
            if state.closed { throw CWMPError(.transportFailed, "the session is closed") }
            state.posts += 1
            return state.posts == 1
        }
        var authenticationRounds = 0
        while true {
            let (url, cookie, authorization) = state.withLock { state in
                (state.url, state.cookies.headerValue,
                 state.authenticator?.authorization(method: "POST", uri: state.url.target))
            }
            let raw = try await send(url: url, body: body, cookie: cookie, authorization: authorization,
                                     timeout: timeout)
            state.withLock { $0.cookies.store(raw.headers["Set-Cookie"]) }
            logger.debug("acs.http.exchange", metadata: [
                "acs.url": "\(url.requestURL)", "http.status": "\(raw.status)",
                "http.request.bytes": "\(body?.count ?? 0)", "http.response.bytes": "\(raw.body.count)",
            ])

            if raw.status == 401 {
                // Two rounds cover a first challenge and a stale nonce; the authenticator itself rejects a second
                // 401 for the same nonce, so the bound only guards against an ACS that keeps sending fresh stale ones.
                if try authenticationRetry(raw, rounds: &authenticationRounds) { continue }
                return response(raw)
            }
            if let info = raw.headers.first(name: "Authentication-Info") {
                state.withLock { $0.authenticator?.receivedAuthenticationInfo(info) }
            }
            // Redirects come on the Inform (the first POST): the session restarts there with the same Inform. A
            // redirect later in a session is returned as is, so the session fails rather than post an RPC response
            // to an ACS that never saw the Inform.
            if isFirst, [301, 302, 303, 307, 308].contains(raw.status) {
                try followRedirect(raw, from: url)
                continue
            }
            return response(raw)
        }
    }

    public func post(body: [UInt8]?, timeout: Duration) async throws -> ACSHTTPResponse {
        do {
            return try await exchange(body: body, timeout: timeout)
        } catch let error as CWMPError where error.code == .authenticationFailed {
            // The ACSTransport contract reports refused credentials as the 401 itself.
            return ACSHTTPResponse(status: 401)
        } catch let error as CWMPError {
            throw error.acsTransportError
        }
    }

    /// Ends the session: shuts the client down, which closes the TCP connection (cwmp.md §6 rule 5) and forgets
    /// cookies and nonces with the session. Safe to call more than once.
    public func close() async {
        state.withLock { $0.closed = true }
        let first = shutdown.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        do {
            try await client.shutdown()
        } catch {
            logger.debug("acs.http.shutdown-failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - One exchange

    private func send(url: ACSURL, body: [UInt8]?, cookie: String?, authorization: String?,
                      timeout: Duration) async throws -> RawResponse {
        // AHC's EventLoopFuture API with a `ResponseAccumulator`, not the async `execute` + `body.collect`: its
        // deadline covers the whole exchange, body included (the async API's deadline ends with the head, which is
        // why a child-task race bounded the body before), and the answer arrives with one wake-up of the awaiting
        // task instead of a task group, a sleeping timer task and an async body stream per POST. Measured with
        // AgentCapacity (Benchmarks/README.md): the agent's CPU per session on this transport.
        let request: HTTPClient.Request
        do {
            var headers = HTTPHeaders()
            headers.add(name: "User-Agent", value: configuration.userAgent)
            if let body, !body.isEmpty {
                headers.add(name: "Content-Type", value: "text/xml; charset=\"utf-8\"")
                // An empty SOAPAction: the intent is the body's RPC (the NIO reference transport sends the same).
                headers.add(name: "SOAPAction", value: "")
            }
            if configuration.acceptsCompressedResponses {
                headers.add(name: "Accept-Encoding", value: "gzip, deflate")
            }
            if let cookie { headers.add(name: "Cookie", value: cookie) }
            if let authorization { headers.add(name: "Authorization", value: authorization) }
            // The empty POST too has a known length of 0, so AHC frames it with Content-Length: 0 and not chunked
            // (cwmp.md §6 rule 4).
            request = try HTTPClient.Request(url: url.requestURL, method: .POST, headers: headers,
                                             body: .bytes(body ?? []))
        } catch {
            throw CWMPError(.invalidACSURL, "AsyncHTTPClient refuses the URL", underlying: error)
        }
        let deadline = NIODeadline.now() + .nanoseconds(timeout.nanosecondsClamped)
        let accumulator = ResponseAccumulator(request: request, maxBodySize: configuration.maximumResponseBytes)
        let task = client.execute(request: request, delegate: accumulator, deadline: deadline, logger: logger)
        do {
            // A cancelled caller (the agent stopping) cancels the request; AHC then closes its connection.
            let response = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
            var buffer = response.body ?? ByteBuffer()
            return RawResponse(status: Int(response.status.code), headers: response.headers,
                               body: buffer.readBytes(length: buffer.readableBytes) ?? [])
        } catch {
            throw Self.transportError(error, url: url, timeout: timeout)
        }
    }

    private static func transportError(_ error: any Error, url: ACSURL, timeout: Duration) -> CWMPError {
        if error is NIOTooManyBytesError || error is ResponseAccumulator.ResponseTooBigError {
            return CWMPError(.responseTooLarge, "the answer of \(url.hostHeader) is over the size limit",
                             underlying: error)
        }
        if let error = error as? HTTPClientError {
            // HTTPClientError is a struct of static values, compared with ==. A gzip bomb past AHC's ratio limit
            // arrives as a decompression error and falls through to transportFailed.
            if error == .deadlineExceeded || error == .readTimeout || error == .writeTimeout {
                return CWMPError(.transportTimedOut, "no answer from \(url.hostHeader) within \(timeout)",
                                 underlying: error)
            }
            if error == .connectTimeout {
                return CWMPError(.transportFailed, "connect to \(url.hostHeader) timed out", underlying: error)
            }
        }
        return CWMPError(.transportFailed, "exchange with \(url.hostHeader) failed", underlying: error)
    }

    // MARK: - 401 and redirects

    /// Whether to resend after this 401; throws when the credentials were refused or cannot be given.
    private func authenticationRetry(_ raw: RawResponse, rounds: inout Int) throws -> Bool {
        let challenges = raw.headers["WWW-Authenticate"]
        let (disposition, isTLS) = state.withLock { state -> (HTTPClientAuthenticator.ChallengeDisposition?, Bool) in
            (state.authenticator?.received401(wwwAuthenticate: challenges), state.url.isTLS)
        }
        switch disposition {
        case nil:
            return false  // no credentials configured: the caller sees the 401
        case .retry where rounds < 3:
            rounds += 1
            return true
        case .retry, .rejected:
            throw CWMPError(.authenticationFailed, "the ACS refused the credentials (repeated 401)")
        case .unsupported:
            let offersBasic = HTTPAuthenticationChallenge.parse(headerValues: challenges).contains { $0.scheme == "basic" }
            if offersBasic && !isTLS {
                throw CWMPError(.authenticationUnsupported,
                                "the ACS asks for Basic over plain http; TR-069 allows Basic only over TLS "
                                    + "(set allowsBasicOverPlainHTTP to override)")
            }
            throw CWMPError(.authenticationUnsupported, "the ACS asks for no authentication scheme this CPE speaks")
        }
    }

    private func followRedirect(_ raw: RawResponse, from url: ACSURL) throws {
        guard let location = raw.headers.first(name: "Location"), let target = url.resolving(location) else {
            throw CWMPError(.tooManyRedirects, "HTTP \(raw.status) without a usable Location")
        }
        let allowsBasicOverPlainHTTP = configuration.allowsBasicOverPlainHTTP
        let maximum = configuration.maximumRedirects
        try state.withLock { state in
            guard state.redirects < maximum else {
                throw CWMPError(.tooManyRedirects, "more than \(maximum) redirects in one session")
            }
            state.redirects += 1
            if target.isTLS != state.url.isTLS || target.host != state.url.host || target.port != state.url.port {
                // Another origin is another server: its cookies and nonces are not this one's. ManagementServer.URL
                // stays as configured; only this session moves.
                state.cookies = ACSCookieJar()
                if let credentials = state.authenticator?.credentials {
                    state.authenticator = HTTPClientAuthenticator(
                        credentials: credentials, allowsBasic: target.isTLS || allowsBasicOverPlainHTTP)
                }
            }
            state.url = target
        }
        logger.debug("acs.http.redirect", metadata: ["http.status": "\(raw.status)", "acs.url": "\(target.requestURL)"])
    }

    private func response(_ raw: RawResponse) -> ACSHTTPResponse {
        let retryAfter = raw.headers.first(name: "Retry-After").flatMap {
            RetryAfter.parse($0, responseDate: raw.headers.first(name: "Date"))
        }
        return ACSHTTPResponse(status: raw.status, body: raw.body, retryAfter: retryAfter)
    }
}

extension ACSURL {
    /// The absolute URL AHC is given; userinfo never appears (credentials come from ManagementServer).
    var requestURL: String { (isTLS ? "https://" : "http://") + hostHeader + target }

    /// A redirect's Location: an absolute http(s) URL, or an absolute path on this origin.
    func resolving(_ location: String) -> ACSURL? {
        let trimmed = location.trimmingSpacesAndTabs
        if let absolute = ACSURL(trimmed) { return absolute }
        guard trimmed.hasPrefix("/"), !trimmed.hasPrefix("//") else { return nil }
        var resolved = self
        resolved.target = trimmed
        return resolved
    }
}

extension String {
    var trimmingSpacesAndTabs: String { String(Substring(self).trimmingSpaces()) }
}
