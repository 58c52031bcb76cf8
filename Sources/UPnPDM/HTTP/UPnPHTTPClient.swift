// The control point's HTTP client for device descriptions, SCPDs, SOAP control and (later) GENA SUBSCRIBE.
//
// One request per connection (`Connection: close`): UPnP devices are small HTTP servers, many of them HTTP/1.0 in
// spirit, and a fresh connection per request keeps a misbehaving device from poisoning the next request. The
// request goes out through NIOHTTP1's HTTPRequestEncoder; the response is read by `UPnPHTTPResponseParser`
// (lenient, see there). Every exchange is bounded: a connect timeout, a total deadline that covers connect, send
// and the whole response (a slowloris device trickling a byte a second is cut off at the deadline), and caps on
// head and body size checked as bytes arrive.

import FoundationEssentials
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP request to a device. The method is free (GET, POST, SUBSCRIBE, UNSUBSCRIBE, ...).
public struct UPnPHTTPRequest: Sendable {
    public var method: HTTPMethod
    /// An absolute `http://host[:port]/path[?query]` URL.
    public var url: String
    /// Extra headers. Host, Connection, Content-Length and User-Agent are set by the client unless given here.
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: HTTPMethod, url: String, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// Where a request goes, taken apart from an absolute http URL.
struct UPnPHTTPTarget: Hashable, Sendable {
    var host: String
    var port: Int
    /// Path and query, as sent in the request line (`/` when the URL has none).
    var requestTarget: String

    /// The Host header value (IPv6 literals in brackets, the port always included: some devices need it).
    var hostHeader: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    init(url: String) throws(UPnPDMError) {
        guard let parsed = URL(string: url.trimmingWhitespace().description), parsed.scheme?.lowercased() == "http",
              var host = parsed.host, !host.isEmpty else {
            throw UPnPDMError(.invalidURL, "not an absolute http URL: \(String(url.prefix(200)).debugDescription)")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        self.port = parsed.port ?? 80
        guard (1...65535).contains(port) else {
            throw UPnPDMError(.invalidURL, "port out of range in \(String(url.prefix(200)).debugDescription)")
        }
        var target = parsed.path(percentEncoded: true)
        if target.isEmpty { target = "/" }
        if let query = parsed.query(percentEncoded: true) { target += "?" + query }
        self.requestTarget = target
    }
}

/// Sends one request per connection to a UPnP device and reads the response leniently. Sendable and cheap to
/// copy; it owns no connections between requests.
public struct UPnPHTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// How long the TCP connect may take.
        public var connectTimeout: TimeAmount
        /// How long the whole exchange may take, connect included (UDA gives a device 30 s for an action; the
        /// ACS session needs an answer well before that).
        public var timeout: TimeAmount
        public var limits: UPnPHTTPResponseParser.Limits
        /// The local address to bind before connecting (the proxier's LAN interface), nil for the kernel's choice.
        public var localAddress: SocketAddress?
        public var userAgent: String

        public init(connectTimeout: TimeAmount = .seconds(3), timeout: TimeAmount = .seconds(10),
                    limits: UPnPHTTPResponseParser.Limits = .init(), localAddress: SocketAddress? = nil,
                    userAgent: String = "Linux UPnP/1.1 cwmp-proxy/1.0") {
            self.connectTimeout = connectTimeout
            self.timeout = timeout
            self.limits = limits
            self.localAddress = localAddress
            self.userAgent = userAgent
        }
    }

    public var configuration: Configuration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger

    public init(configuration: Configuration = .init(),
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "cwmp-proxy.upnp.http")) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Sends `request` and returns the response, whatever its status. Throws `UPnPDMError` only:
    /// `.invalidURL`, `.connectFailed`, `.connectTimeout`, `.deadlineExceeded`, `.connectionClosed`,
    /// `.malformedHTTPResponse`, `.responseTooLarge`.
    /// - Parameter timeout: overrides the configured total deadline for this request.
    public func execute(_ request: UPnPHTTPRequest, timeout: TimeAmount? = nil) async throws(UPnPDMError) -> UPnPHTTPResponse {
        let target = try UPnPHTTPTarget(url: request.url)
        let eventLoop = eventLoopGroup.next()
        let promise = eventLoop.makePromise(of: UPnPHTTPResponse.self)
        let total = timeout ?? configuration.timeout
        let deadline = NIODeadline.now() + total
        let head = Self.makeHead(request, target: target, userAgent: configuration.userAgent)
        let limits = configuration.limits
        let body = request.body
        let requestWasHead = request.method == .HEAD

        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(min(configuration.connectTimeout, total))
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTPRequestEncoder())
                    try channel.pipeline.syncOperations.addHandler(
                        UPnPHTTPClientHandler(head: head, body: body, parser: UPnPHTTPResponseParser(
                            limits: limits, requestWasHead: requestWasHead), promise: promise))
                }
            }
        if let localAddress = configuration.localAddress { bootstrap = bootstrap.bind(to: localAddress) }

        let deadlineTask = eventLoop.scheduleTask(deadline: deadline) {
            promise.fail(UPnPDMError(.deadlineExceeded, "no complete response from \(target.hostHeader) within "
                                     + "\(total.nanoseconds / 1_000_000) ms"))
        }
        let connect = bootstrap.connect(host: target.host, port: target.port)
        connect.whenFailure { error in
            if let channelError = error as? ChannelError, case .connectTimeout = channelError {
                promise.fail(UPnPDMError(.connectTimeout, "connecting to \(target.hostHeader) timed out",
                                         underlying: error))
            } else {
                promise.fail(UPnPDMError(.connectFailed, "cannot connect to \(target.hostHeader)", underlying: error))
            }
        }
        promise.futureResult.whenComplete { _ in
            deadlineTask.cancel()
            // Connection: close is asked for, but a device may keep the socket open; we never reuse it.
            connect.whenSuccess { channel in channel.close(promise: nil) }
        }
        do {
            // A cancelled caller (the RPC dispatcher's budget ran out) ends the exchange at once.
            let response = try await withTaskCancellationHandler {
                try await promise.futureResult.get()
            } onCancel: {
                promise.fail(UPnPDMError(.deadlineExceeded, "the request to \(target.hostHeader) was cancelled",
                                         underlying: CancellationError()))
            }
            if !response.anomalies.isEmpty {
                logger.debug("upnp.http.lenient", metadata: [
                    "upnp.url": "\(request.url)", "http.anomalies": "\(response.anomalies)",
                ])
            }
            return response
        } catch let error as UPnPDMError {
            throw error
        } catch {
            throw UPnPDMError(.connectFailed, "HTTP exchange with \(target.hostHeader) failed", underlying: error)
        }
    }

    static func makeHead(_ request: UPnPHTTPRequest, target: UPnPHTTPTarget, userAgent: String) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.hostHeader)
        for (name, value) in request.headers where name.lowercased() != "host" { headers.add(name: name, value: value) }
        if !headers.contains(name: "Connection") { headers.add(name: "Connection", value: "close") }
        if !headers.contains(name: "User-Agent") { headers.add(name: "User-Agent", value: userAgent) }
        // Always an explicit length when there is a body (or for POST): without one HTTPRequestEncoder would
        // switch to chunked, which many devices cannot read.
        if !request.body.isEmpty || request.method == .POST {
            headers.replaceOrAdd(name: "Content-Length", value: String(request.body.count))
        }
        return HTTPRequestHead(version: .http1_1, method: request.method, uri: target.requestTarget, headers: headers)
    }
}

/// The I/O shell of one exchange: writes the request on connect, feeds every read to the parser, and completes
/// the promise with the parser's verdict. Event-loop confined.
final class UPnPHTTPClientHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = HTTPClientRequestPart

    private let head: HTTPRequestHead
    private let body: [UInt8]
    private var parser: UPnPHTTPResponseParser
    private let promise: EventLoopPromise<UPnPHTTPResponse>
    private var finished = false

    init(head: HTTPRequestHead, body: [UInt8], parser: UPnPHTTPResponseParser,
         promise: EventLoopPromise<UPnPHTTPResponse>) {
        self.head = head
        self.body = body
        self.parser = parser
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))),
                          promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        let buffer = unwrapInboundIn(data)
        let action = buffer.withUnsafeReadableBytes { parser.feed($0) }
        run(action, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished { run(parser.endOfInput(), context: context) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset after part of the response: the parser decides as for a close (keep what arrived, or fail).
        if !finished {
            switch parser.endOfInput() {
            case .complete(let response):
                run(.complete(response), context: context)
            case .fail, .needMoreData:
                run(.fail(UPnPDMError(.connectionClosed, "the connection failed before a response arrived",
                                      underlying: error)), context: context)
            }
        }
        context.close(promise: nil)
    }

    private func run(_ action: UPnPHTTPResponseParser.Action, context: ChannelHandlerContext) {
        switch action {
        case .needMoreData:
            break
        case .complete(let response):
            finished = true
            promise.succeed(response)
            context.close(promise: nil)
        case .fail(let error):
            finished = true
            promise.fail(error)
            context.close(promise: nil)
        }
    }
}
