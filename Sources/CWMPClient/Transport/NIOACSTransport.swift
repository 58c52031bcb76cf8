// A small ACS transport directly on SwiftNIO: one TCP (or TLS) connection per CWMP session, kept alive across
// the session's POSTs. The HTTP rules above the bytes (cookies, 401s, redirects on the Inform only and the
// credential reset on a new origin, Retry-After) are `ACSSessionRules`, the same value ACSHTTPSession runs, so the
// https path (this one, on the shared NIOSSLContext) and the http path (AHC) cannot drift apart again. Answers are
// decompressed by NIOHTTPCompression (zlib), capped at maximumResponseBytes after decompression. It is what the
// agent tests run on; per session it holds one channel and a few hundred bytes, nothing per idle agent.
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import NIOSSL
import Synchronization

public struct NIOACSTransport: ACSTransport {
    public struct Configuration: Sendable {
        /// Connect timeout of each TCP connection.
        public var connectTimeout: Duration
        /// Largest response body accepted, after decompression (the decoder refuses more than 4 MiB anyway).
        public var maximumResponseBytes: Int
        /// Redirects followed for the first POST of a session.
        public var maximumRedirects: Int
        /// Basic sends the password in clear: TR-069 allows it over TLS only, so plain HTTP refuses it unless set.
        public var allowsBasicOverPlainHTTP: Bool
        /// Sends `Accept-Encoding: gzip, deflate` and decompresses answers; off, the header is not sent and the
        /// ACS answers uncompressed. Request bodies are never compressed: not every ACS accepts that.
        public var acceptsCompressedResponses: Bool
        public var userAgent: String

        public init(connectTimeout: Duration = .seconds(10), maximumResponseBytes: Int = 4 << 20,
                    maximumRedirects: Int = 5, allowsBasicOverPlainHTTP: Bool = false,
                    acceptsCompressedResponses: Bool = true, userAgent: String = "cwmp-proxy") {
            self.connectTimeout = connectTimeout
            self.maximumResponseBytes = maximumResponseBytes
            self.maximumRedirects = maximumRedirects
            self.allowsBasicOverPlainHTTP = allowsBasicOverPlainHTTP
            self.acceptsCompressedResponses = acceptsCompressedResponses
            self.userAgent = userAgent
        }
    }

    public let configuration: Configuration
    private let group: any EventLoopGroup
    private let tlsContext: NIOSSLContext?
    fileprivate let logger: Logger

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
        // openSession checks this for the configured URL; a redirect can still lead to https, and https without a
        // context must not quietly become plain TCP.
        if url.isTLS, tlsContext == nil { throw ACSTransportError(.invalidURL, "TLS is not configured") }
        let tlsContext = url.isTLS ? self.tlsContext : nil
        let maximumBytes = configuration.maximumResponseBytes
        let decompresses = configuration.acceptsCompressedResponses
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
                    if decompresses {
                        // The cap is on the decompressed size; the decompressor checks it after every inflate step,
                        // each bounded by its input, so a gzip bomb stops at the cap instead of filling memory.
                        try channel.pipeline.syncOperations.addHandler(
                            NIOHTTPResponseDecompressor(limit: .size(maximumBytes)))
                    }
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
        switch error {
        case let error as NIOHTTPDecompression.DecompressionError where error == .limit:
            fail(ACSTransportError(.responseTooLarge, "response body over the limit after decompression"),
                 context: context)
        case is NIOHTTPDecompression.DecompressionError, is NIOHTTPDecompression.ExtraDecompressionError:
            fail(ACSTransportError(.connectionFailed, "the compressed response body is corrupt"), context: context)
        default:
            fail(ACSTransportError(.connectionFailed, "connection error"), context: context)
        }
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

/// One session: the connection and the shared session rules (cookies, authenticator, redirects).
final class NIOACSSession: ACSSession {
    private struct State: Sendable {
        var rules: ACSSessionRules
        var channel: (any Channel)?
    }

    private let transport: NIOACSTransport
    private let state: Mutex<State>

    init(url: ACSURL, credentials: HTTPCredentials?, transport: NIOACSTransport) {
        self.transport = transport
        let configuration = transport.configuration
        self.state = Mutex(State(rules: ACSSessionRules(
            url: url, credentials: credentials, allowsBasicOverPlainHTTP: configuration.allowsBasicOverPlainHTTP,
            maximumRedirects: configuration.maximumRedirects)))
    }

    func post(body: [UInt8]?, timeout: Duration) async throws -> ACSHTTPResponse {
        do {
            try state.withLock { try $0.rules.beginPost() }
            while true {
                let (raw, url) = try await exchange(body: body, timeout: timeout)
                transport.logger.debug("acs.http.exchange", metadata: [
                    "acs.url": "\(url.requestURL)", "http.status": "\(raw.head.status.code)",
                    "http.request.bytes": "\(body?.count ?? 0)", "http.response.bytes": "\(raw.body.count)",
                ])
                let action = try state.withLock { state in
                    try state.rules.received(status: Int(raw.head.status.code), headers: raw.head.headers,
                                             body: raw.body)
                }
                switch action {
                case .answer(let response):
                    return response
                case .resend(newOrigin: false):
                    continue  // same connection if the ACS kept it open; connectedChannel() reconnects otherwise
                case .resend(newOrigin: true):
                    // The connection goes to the old origin; the next exchange connects to the new one.
                    let (old, target) = state.withLock { state -> ((any Channel)?, ACSURL) in
                        defer { state.channel = nil }
                        return (state.channel, state.rules.url)
                    }
                    transport.logger.debug("acs.http.redirect", metadata: [
                        "http.status": "\(raw.head.status.code)", "acs.url": "\(target.requestURL)",
                        "acs.redirect.new-origin": "true",
                    ])
                    try? await old?.close()
                }
            }
        } catch let error as CWMPError where error.code == .authenticationFailed {
            // The ACSTransport contract reports refused credentials as the 401 itself (as ACSHTTPSession does).
            return ACSHTTPResponse(status: 401)
        } catch let error as CWMPError {
            throw error.acsTransportError
        }
    }

    func close() async {
        let channel = state.withLock { state -> (any Channel)? in
            state.rules.close()
            defer { state.channel = nil }
            return state.channel
        }
        try? await channel?.close()
    }

    /// One request and its answer, with the URL it went to.
    private func exchange(body: [UInt8]?, timeout: Duration) async throws -> (ACSRawResponse, ACSURL) {
        let channel = try await connectedChannel()
        let request = state.withLock { $0.rules.nextRequest() }
        let url = request.url
        let configuration = transport.configuration
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: url.target)
        head.headers.add(name: "Host", value: url.hostHeader)
        head.headers.add(name: "User-Agent", value: configuration.userAgent)
        head.headers.add(name: "Content-Length", value: String(body?.count ?? 0))
        if let body, !body.isEmpty {
            head.headers.add(name: "Content-Type", value: "text/xml; charset=\"utf-8\"")
            head.headers.add(name: "SOAPAction", value: "")
        }
        // Only when the pipeline has the decompressor: advertising gzip without decoding it would hand the agent
        // compressed bytes.
        if configuration.acceptsCompressedResponses {
            head.headers.add(name: "Accept-Encoding", value: ACSSessionRules.acceptEncoding)
        }
        if let cookie = request.cookie { head.headers.add(name: "Cookie", value: cookie) }
        if let authorization = request.authorization { head.headers.add(name: "Authorization", value: authorization) }
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
        return (raw, url)
    }

    /// The session's connection to the current URL's origin, (re)connecting when the ACS closed it (a 401 with
    /// Connection: close, say) or a redirect moved the session to another origin.
    private func connectedChannel() async throws -> any Channel {
        let (existing, url, closed) = state.withLock { ($0.channel, $0.rules.url, $0.rules.closed) }
        if closed { throw ACSTransportError(.connectionFailed, "the session is closed") }
        if let existing, existing.isActive { return existing }
        let channel = try await transport.connect(to: url)
        let raced = state.withLock { state -> Bool in
            if state.rules.closed { return true }
            state.channel = channel
            return false
        }
        if raced {
            try? await channel.close()
            throw ACSTransportError(.connectionFailed, "the session is closed")
        }
        return channel
    }
}
