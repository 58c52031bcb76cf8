// One CWMP session over its own AsyncHTTPClient: the HTTP rules TR-069 puts below the session (cwmp.md §6 rules
// 7–9) — cookies echoed, 401 answered with Digest (or Basic over TLS), redirects followed on the Inform — so the
// agent only sees the ACS's final answer to each POST. The rules themselves are `ACSSessionRules`, shared with
// NIOACSSession (the https path); this file only moves bytes through AHC.
import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import Synchronization

public final class ACSHTTPSession: ACSSession {
    /// What one HTTP exchange brought back, body read completely (and decompressed).
    struct RawResponse: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    private let client: HTTPClient
    private let configuration: ACSHTTPTransport.Configuration
    private let logger: Logger
    /// Cookies, credentials, redirects: the rules shared with NIOACSSession.
    private let state: Mutex<ACSSessionRules>
    private let shutdown = Mutex(false)

    init(url: ACSURL, credentials: HTTPCredentials?, client: HTTPClient, transport: ACSHTTPTransport) {
        self.client = client
        self.configuration = transport.configuration
        self.logger = transport.logger
        self.state = Mutex(ACSSessionRules(url: url, credentials: credentials,
                                           allowsBasicOverPlainHTTP: transport.configuration.allowsBasicOverPlainHTTP,
                                           maximumRedirects: transport.configuration.maximumRedirects))
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
        try state.withLock { try $0.beginPost() }
        while true {
            let request = state.withLock { $0.nextRequest() }
            let url = request.url
            let raw = try await send(url: url, body: body, cookie: request.cookie,
                                     authorization: request.authorization, timeout: timeout)
            logger.debug("acs.http.exchange", metadata: [
                "acs.url": "\(url.requestURL)", "http.status": "\(raw.status)",
                "http.request.bytes": "\(body?.count ?? 0)", "http.response.bytes": "\(raw.body.count)",
            ])
            let action = try state.withLock { try $0.received(status: raw.status, headers: raw.headers, body: raw.body) }
            switch action {
            case .answer(let response):
                return response
            case .resend(let newOrigin):
                // Nothing to do for another origin: the session's client connects to it on the next request.
                let target = state.withLock { $0.url }
                if target != url {
                    logger.debug("acs.http.redirect", metadata: [
                        "http.status": "\(raw.status)", "acs.url": "\(target.requestURL)",
                        "acs.redirect.new-origin": "\(newOrigin)",
                    ])
                }
            }
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
        state.withLock { $0.close() }
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
        var request = HTTPClientRequest(url: url.requestURL)
        request.method = .POST
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        if let body, !body.isEmpty {
            request.headers.add(name: "Content-Type", value: "text/xml; charset=\"utf-8\"")
            // An empty SOAPAction: the intent is the body's RPC (the NIO reference transport sends the same).
            request.headers.add(name: "SOAPAction", value: "")
            request.body = .bytes(ByteBuffer(bytes: body))
        } else {
            // A known length of 0, so AHC frames it with Content-Length: 0 and not chunked (cwmp.md §6 rule 4).
            request.body = .bytes(ByteBuffer())
        }
        if configuration.acceptsCompressedResponses {
            request.headers.add(name: "Accept-Encoding", value: ACSSessionRules.acceptEncoding)
        }
        if let cookie { request.headers.add(name: "Cookie", value: cookie) }
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }

        let client = self.client
        let prepared = request
        let logger = self.logger
        let limit = configuration.maximumResponseBytes
        let deadline = NIODeadline.now() + .nanoseconds(timeout.nanosecondsClamped)
        do {
            // The race bounds the whole exchange, body included (AHC's deadline alone covers the head). Losing it
            // cancels the request, and AHC closes a connection whose request was cancelled.
            return try await withThrowingTaskGroup(of: RawResponse?.self) { group in
                group.addTask {
                    let response = try await client.execute(prepared, deadline: deadline, logger: logger)
                    var buffer = try await response.body.collect(upTo: limit)
                    return RawResponse(status: Int(response.status.code), headers: response.headers,
                                       body: buffer.readBytes(length: buffer.readableBytes) ?? [])
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let raw = first else {
                    throw CWMPError(.transportTimedOut, "no answer from \(url.hostHeader) within \(timeout)")
                }
                return raw
            }
        } catch let error as CWMPError {
            throw error
        } catch {
            throw Self.transportError(error, url: url, timeout: timeout)
        }
    }

    private static func transportError(_ error: any Error, url: ACSURL, timeout: Duration) -> CWMPError {
        // Past the size after decompression (the decompressor's cap: a gzip bomb stops there, not in memory).
        if error is NIOTooManyBytesError || (error as? NIOHTTPDecompression.DecompressionError) == .limit {
            return CWMPError(.responseTooLarge, "the answer of \(url.hostHeader) is over the size limit",
                             underlying: error)
        }
        if let error = error as? HTTPClientError {
            // HTTPClientError is a struct of static values, compared with ==.
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
}

extension ACSURL {
    /// The absolute URL AHC is given; userinfo never appears (credentials come from ManagementServer).
    var requestURL: String { (isTLS ? "https://" : "http://") + hostHeader + target }
}

extension String {
    var trimmingSpacesAndTabs: String { String(Substring(self).trimmingSpaces()) }
}
