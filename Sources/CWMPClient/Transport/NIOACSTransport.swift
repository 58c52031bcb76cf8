// A small ACS transport directly on SwiftNIO: one TCP (or TLS) connection per CWMP session, kept alive across
// the session's POSTs, cookies echoed, 401 answered through `HTTPClientAuthenticator`, redirects followed on the
// Inform only (cwmp.md §6 rule 9). It is the reference implementation of `ACSTransport` and what the agent tests
// run on; per session it holds one channel and a few hundred bytes, nothing per idle agent.
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

public struct NIOACSTransport: ACSTransport {
    public struct Configuration: Sendable {
        /// Connect timeout of each TCP connection.
        public var connectTimeout: Duration
        /// Largest response body accepted (the decoder refuses more than 4 MiB anyway).
        public var maximumResponseBytes: Int
        /// Redirects followed for the first POST of a session.
        public var maximumRedirects: Int
        /// Basic sends the password in clear: TR-069 allows it over TLS only, so plain HTTP refuses it unless set.
        public var allowsBasicOverPlainHTTP: Bool
        public var userAgent: String

        public init(connectTimeout: Duration = .seconds(10), maximumResponseBytes: Int = 4 << 20,
                    maximumRedirects: Int = 5, allowsBasicOverPlainHTTP: Bool = false,
                    userAgent: String = "cwmp-proxy") {
            self.connectTimeout = connectTimeout
            self.maximumResponseBytes = maximumResponseBytes
            self.maximumRedirects = maximumRedirects
            self.allowsBasicOverPlainHTTP = allowsBasicOverPlainHTTP
            self.userAgent = userAgent
        }
    }

    public let configuration: Configuration
    private let group: any EventLoopGroup
    private let tlsContext: NIOSSLContext?
    private let logger: Logger

    public init(configuration: Configuration = Configuration(),
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                tlsConfiguration: TLSConfiguration? = .makeClientConfiguration(),
                logger: Logger = Logger(label: "cwmp-proxy.acs-transport")) {
        self.configuration = configuration
        self.group = group
        // One context for every session: building it loads the trust store, far too costly per session.
        self.tlsContext = tlsConfiguration.flatMap { try? NIOSSLContext(configuration: $0) }
        self.logger = logger
    }

    /// With a context built by the caller (ACSHTTPTransport's https path), shared by every session.
    init(configuration: Configuration, group: any EventLoopGroup, tlsContext: NIOSSLContext, logger: Logger) {
        self.configuration = configuration
        self.group = group
        self.tlsContext = tlsContext
        self.logger = logger
    }

    public func openSession(url: String, credentials: HTTPCredentials?) async throws -> any ACSSession {
        guard let parsed = ACSURL(url) else { throw ACSTransportError(.invalidURL, "not an absolute http(s) URL") }
        if parsed.isTLS, tlsContext == nil { throw ACSTransportError(.invalidURL, "TLS is not configured") }
        return NIOACSSession(url: parsed, credentials: credentials, transport: self)
    }

    fileprivate func connect(to url: ACSURL) async throws -> any Channel {
        let tlsContext = url.isTLS ? self.tlsContext : nil
        let maximumBytes = configuration.maximumResponseBytes
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(configuration.connectTimeout.totalNanoseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tlsContext {
                        let handler = try NIOSSLClientHandler(
                            context: tlsContext,
                            serverHostname: url.host.first?.isNumber == true || url.host.contains(":") ? nil : url.host)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ACSExchangeHandler(maximumBodyBytes: maximumBytes))
                }
            }
        do {
            // An IP literal (the usual ACS URL of a lab, and every loopback test) is connected to directly: the
            // host-name path resolves even a literal through getaddrinfo on a Dispatch queue and runs Happy
            // Eyeballs, a thread hop and a few timers per session for nothing.
            if let address = try? SocketAddress(ipAddress: url.host, port: url.port) {
                return try await bootstrap.connect(to: address).get()
            }
            return try await bootstrap.connect(host: url.host, port: url.port).get()
        } catch {
            throw ACSTransportError(.connectionFailed, "connect to \(url.hostHeader) failed")
        }
    }

    fileprivate var allowsBasicOverPlainHTTP: Bool { configuration.allowsBasicOverPlainHTTP }
    fileprivate var userAgent: String { configuration.userAgent }
    fileprivate var maximumRedirects: Int { configuration.maximumRedirects }
}

/// One request and the promise of its response, written into the pipeline as one outbound message.
struct ACSExchange: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    var timeout: TimeAmount
    var promise: EventLoopPromise<ACSRawResponse>
}

struct ACSRawResponse: Sendable {
    var head: HTTPResponseHead
    var body: [UInt8]
}

/// Turns `ACSExchange`s into HTTP/1.1 requests and completes each with its response. One exchange at a time: the
/// session never pipelines.
final class ACSExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = ACSExchange
    typealias OutboundOut = HTTPClientRequestPart

    private let maximumBodyBytes: Int
    private var promise: EventLoopPromise<ACSRawResponse>?
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []
    private var timer: Scheduled<Void>?

    init(maximumBodyBytes: Int) { self.maximumBodyBytes = maximumBodyBytes }

    func write(context: ChannelHandlerContext, data: NIOAny, promise writePromise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        guard promise == nil else {
            exchange.promise.fail(ACSTransportError(.connectionFailed, "an exchange is already in flight"))
            writePromise?.fail(ACSTransportError(.connectionFailed, "an exchange is already in flight"))
            return
        }
        promise = exchange.promise
        head = nil
        body = []
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: exchange.timeout) {
            bound.value.handler.fail(ACSTransportError(.timedOut, "no response in time"), context: bound.value.context)
        }
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if let buffer = exchange.body { context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: writePromise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            head = responseHead
        case .body(var buffer):
            guard body.count + buffer.readableBytes <= maximumBodyBytes else {
                fail(ACSTransportError(.responseTooLarge, "response body over the limit"), context: context)
                return
            }
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let promise, let head else { return }
            self.promise = nil
            timer?.cancel()
            timer = nil
            promise.succeed(ACSRawResponse(head: head, body: body))
            body = []
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ACSTransportError(.connectionFailed, "connection closed before the response"), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(ACSTransportError(.connectionFailed, "connection error"), context: context)
    }

    private func fail(_ error: ACSTransportError, context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        guard let promise else { return }
        self.promise = nil
        promise.fail(error)
        // A half-read response leaves the connection unusable.
        context.close(promise: nil)
    }
}

/// One session: the connection, the cookies the ACS set, the authenticator.
final class NIOACSSession: ACSSession {
    private struct State: Sendable {
        var url: ACSURL
        var channel: (any Channel)?
        var cookies: [(name: String, value: String)] = []
        var authenticator: HTTPClientAuthenticator?
        var posts = 0
        var closed = false
    }

    private let transport: NIOACSTransport
    private let state: Mutex<State>

    init(url: ACSURL, credentials: HTTPCredentials?, transport: NIOACSTransport) {
        self.transport = transport
        let authenticator = credentials.map {
            HTTPClientAuthenticator(credentials: $0, allowsBasic: url.isTLS || transport.allowsBasicOverPlainHTTP)
        }
        self.state = Mutex(State(url: url, authenticator: authenticator))
    }

    func post(body: [UInt8]?, timeout: Duration) async throws -> ACSHTTPResponse {
        let isFirst = state.withLock { state in
            state.posts += 1
            return state.posts == 1
        }
        var redirects = 0
        var authenticationRounds = 0
        while true {
            let raw = try await exchange(body: body, timeout: timeout)
            let status = Int(raw.head.status.code)
            storeCookies(raw.head.headers)
            if status == 401 {
                let disposition = state.withLock { state -> HTTPClientAuthenticator.ChallengeDisposition? in
                    guard state.authenticator != nil else { return nil }
                    return state.authenticator!.received401(wwwAuthenticate: raw.head.headers["WWW-Authenticate"])
                }
                // Two rounds cover a stale nonce; anything more is a refusal the session reports as the 401.
                if disposition == .retry, authenticationRounds < 2 {
                    authenticationRounds += 1
                    continue
                }
                return Self.response(raw)
            }
            if let info = raw.head.headers.first(name: "Authentication-Info") {
                state.withLock { $0.authenticator?.receivedAuthenticationInfo(info) }
            }
            if isFirst, [301, 302, 303, 307, 308].contains(status) {
                guard redirects < transport.maximumRedirects,
                      let location = raw.head.headers.first(name: "Location"), let target = ACSURL(location)
                else { throw ACSTransportError(.badRedirect, "redirect without a usable Location, or too many") }
                redirects += 1
                let old = state.withLock { state -> (any Channel)? in
                    defer { state.channel = nil }
                    state.url = target
                    return state.channel
                }
                try? await old?.close()
                continue
            }
            return Self.response(raw)
        }
    }

    func close() async {
        let channel = state.withLock { state -> (any Channel)? in
            state.closed = true
            defer { state.channel = nil }
            return state.channel
        }
        try? await channel?.close()
    }

    private static func response(_ raw: ACSRawResponse) -> ACSHTTPResponse {
        let retryAfter = raw.head.headers.first(name: "Retry-After")
            .flatMap { Int64($0.trimmingCharacters(in: " \t")) }
            .map { Duration.seconds(max($0, 0)) }
        return ACSHTTPResponse(status: Int(raw.head.status.code), body: raw.body, retryAfter: retryAfter)
    }

    private func exchange(body: [UInt8]?, timeout: Duration) async throws -> ACSRawResponse {
        let channel = try await connectedChannel()
        let (url, header, authorization) = state.withLock { state -> (ACSURL, String?, String?) in
            let cookie = state.cookies.isEmpty ? nil : state.cookies.map { "\($0.name)=\($0.value)" }.joined(separator: "; ")
            let authorization = state.authenticator?.authorization(method: "POST", uri: state.url.target)
            return (state.url, cookie, authorization)
        }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: url.target)
        head.headers.add(name: "Host", value: url.hostHeader)
        head.headers.add(name: "User-Agent", value: transport.userAgent)
        head.headers.add(name: "Content-Length", value: String(body?.count ?? 0))
        if let body, !body.isEmpty {
            head.headers.add(name: "Content-Type", value: "text/xml; charset=\"utf-8\"")
            head.headers.add(name: "SOAPAction", value: "")
        }
        if let header { head.headers.add(name: "Cookie", value: header) }
        if let authorization { head.headers.add(name: "Authorization", value: authorization) }
        let buffer = body.flatMap { $0.isEmpty ? nil : channel.allocator.buffer(bytes: $0) }
        let promise = channel.eventLoop.makePromise(of: ACSRawResponse.self)
        let exchange = ACSExchange(head: head, body: buffer, timeout: .nanoseconds(timeout.totalNanoseconds),
                                   promise: promise)
        // A channel that closed before the write (a TLS handshake the peer refused) never passes the exchange to
        // ACSExchangeHandler, so nothing would ever complete its promise: the failed write completes it instead
        // (a promise already completed by the handler ignores the second completion).
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { _ in
            promise.fail(ACSTransportError(.connectionFailed, "the request could not be written"))
        }
        channel.writeAndFlush(exchange, promise: written)
        let raw = try await promise.futureResult.get()
        if !raw.head.isKeepAlive {
            state.withLock { if $0.channel === channel { $0.channel = nil } }
            try? await channel.close()
        }
        return raw
    }

    /// The session's connection, (re)connecting when the ACS closed it (a 401 with Connection: close, say).
    private func connectedChannel() async throws -> any Channel {
        let (existing, url, closed) = state.withLock { ($0.channel, $0.url, $0.closed) }
        if closed { throw ACSTransportError(.connectionFailed, "the session is closed") }
        if let existing, existing.isActive { return existing }
        let channel = try await transport.connect(to: url)
        let raced = state.withLock { state -> Bool in
            if state.closed { return true }
            state.channel = channel
            return false
        }
        if raced {
            try? await channel.close()
            throw ACSTransportError(.connectionFailed, "the session is closed")
        }
        return channel
    }

    /// Keeps `name=value` of each Set-Cookie (attributes ignored: one session, one ACS) to echo it (cwmp.md §6 rule 7).
    private func storeCookies(_ headers: HTTPHeaders) {
        let values = headers["Set-Cookie"]
        guard !values.isEmpty else { return }
        state.withLock { state in
            for value in values {
                let pair = value.prefix { $0 != ";" }
                guard let equals = pair.firstIndex(of: "=") else { continue }
                let name = String(pair[..<equals]).trimmingCharacters(in: " \t")
                let cookieValue = String(pair[pair.index(after: equals)...]).trimmingCharacters(in: " \t")
                guard !name.isEmpty else { continue }
                state.cookies.removeAll { $0.name == name }
                state.cookies.append((name, cookieValue))
            }
        }
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var result = Substring(self)
        while let first = result.first, set.contains(first) { result.removeFirst() }
        while let last = result.last, set.contains(last) { result.removeLast() }
        return String(result)
    }
}
