// The control point's GENA callback server: an HTTP/1.1 server (SwiftNIO) bound to the LAN interface address,
// to which devices send NOTIFY (UDA 1.1 §4.3). One listener serves every subscription; each subscription registers
// a callback path (`/gena/<n>`) and answers for its SID.
//
// What a NOTIFY must get through, in order (UDA's status codes):
//   method NOTIFY (else 405) → callback path registered (else 412: nobody subscribed there) → NT and NTS present
//   (else 400) and `upnp:event` / `upnp:propchange` (else 412) → SID present, SEQ a ui4 (else 412 / 400)
//   → body within the cap (else 413) and an `e:propertyset` libxml2 can read without a DTD (else 400)
//   → the subscription knows the SID (else 412, which tells the device to drop it).
// Devices are not trusted: the head is capped by NIOHTTP1's decoder, the body by `maximumBodyBytes` as it arrives,
// and the whole request must arrive within `requestTimeout` (a sender trickling bytes is cut off). One request per
// connection (`Connection: close`), so a slow device cannot hold a connection open for later ones either.

import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// A NOTIFY the listener has checked and parsed, for the subscription registered at its path.
public struct GENANotify: Sendable, Hashable {
    public var sid: String
    public var seq: UInt32
    public var properties: [GENAProperty]
}

/// Where the listener hands a NOTIFY: the subscription decides between 200 and 412.
public protocol GENANotifyReceiver: AnyObject, Sendable {
    /// Returns whether the SID is this subscription's (then the device gets 200, else 412).
    func receive(_ notify: GENANotify) async -> Bool
}

public final class GENANotifyListener: Service, Sendable {
    public struct Configuration: Sendable {
        /// The LAN interface address to bind (never a wildcard: callbacks come from the LAN only).
        public var host: String
        /// 0 for an ephemeral port.
        public var port: Int
        public var maximumBodyBytes: Int
        /// The whole request (head and body) must arrive within this time.
        public var requestTimeout: TimeAmount

        public init(host: String, port: Int = 0, maximumBodyBytes: Int = 256 * 1024, requestTimeout: TimeAmount = .seconds(5)) {
            self.host = host
            self.port = port
            self.maximumBodyBytes = maximumBodyBytes
            self.requestTimeout = requestTimeout
        }
    }

    public let configuration: Configuration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let routes = NIOLockedValueBox<[String: any GENANotifyReceiver]>([:])
    private let channel = NIOLockedValueBox<(any Channel)?>(nil)
    private let nextPath = NIOLockedValueBox<Int>(0)

    public init(configuration: Configuration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "cwmp-proxy.upnp.gena")) {
        self.configuration = configuration
        self.group = eventLoopGroup
        var logger = logger
        logger[metadataKey: "gena.listener"] = "\(configuration.host)"
        self.logger = logger
    }

    /// Binds the server (idempotent) and returns the bound address.
    @discardableResult
    public func start() async throws -> SocketAddress {
        if let address = channel.withLockedValue({ $0?.localAddress }) { return address }
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: configuration.host, port: configuration.port)
        } catch {
            throw UPnPDMError(.invalidArgument, "the GENA listener needs an interface address, not \(configuration.host)",
                              underlying: error)
        }
        let limits = (body: configuration.maximumBodyBytes, timeout: configuration.requestTimeout)
        let logger = self.logger
        let router: @Sendable (String) -> (any GENANotifyReceiver)? = { [routes] path in routes.withLockedValue { $0[path] } }
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false,
                                                                                    withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        GENANotifyHandler(maximumBodyBytes: limits.body, requestTimeout: limits.timeout, router: router,
                                          logger: logger))
                }
            }
            .bind(to: address).get()
        channel.withLockedValue { $0 = bound }
        return bound.localAddress!
    }

    /// `http://host:port` of the bound listener (nil before `start`).
    public var baseURL: String? {
        guard let port = channel.withLockedValue({ $0?.localAddress?.port }) else { return nil }
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return "http://\(host):\(port)"
    }

    /// Registers a receiver and returns its callback path.
    public func register(_ receiver: any GENANotifyReceiver) -> String {
        let path = "/gena/\(nextPath.withLockedValue { $0 += 1; return $0 })"
        routes.withLockedValue { $0[path] = receiver }
        return path
    }

    public func unregister(path: String) {
        _ = routes.withLockedValue { $0.removeValue(forKey: path) }
    }

    /// Runs until graceful shutdown or cancellation, then closes the socket.
    public func run() async throws {
        try await start()
        try? await gracefulShutdown()
        try await shutdown()
    }

    public func shutdown() async throws {
        let current = channel.withLockedValue { channel in
            defer { channel = nil }
            return channel
        }
        try await current?.close()
    }
}

/// One connection: one NOTIFY, checked as described at the top of the file.
final class GENANotifyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let maximumBodyBytes: Int
    private let requestTimeout: TimeAmount
    private let router: @Sendable (String) -> (any GENANotifyReceiver)?
    private let logger: Logger
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var answered = false
    private var timeout: Scheduled<Void>?

    init(maximumBodyBytes: Int, requestTimeout: TimeAmount, router: @escaping @Sendable (String) -> (any GENANotifyReceiver)?,
         logger: Logger) {
        self.maximumBodyBytes = maximumBodyBytes
        self.requestTimeout = requestTimeout
        self.router = router
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timeout = context.eventLoop.scheduleTask(in: requestTimeout) {
            // A sender still trickling its request after the deadline: drop the connection, no answer.
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            if head.method.rawValue != "NOTIFY" {
                return respond(context, .methodNotAllowed)
            }
            if let length = head.headers.first(name: "content-length").flatMap({ Int($0.trimmingWhitespace()) }),
               length > maximumBodyBytes {
                return respond(context, .payloadTooLarge)
            }
        case .body(var buffer):
            guard body.count + buffer.readableBytes <= maximumBodyBytes else { return respond(context, .payloadTooLarge) }
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let head else { return respond(context, .badRequest) }
            check(context, head)
        }
    }

    private func check(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
        guard let receiver = router(path) else { return respond(context, .preconditionFailed) }
        let headers = head.headers
        guard let nt = headers.first(name: "nt"), let nts = headers.first(name: "nts") else {
            return respond(context, .badRequest)
        }
        guard nt.trimmingWhitespace() == "upnp:event", nts.trimmingWhitespace() == "upnp:propchange",
              let sid = headers.first(name: "sid").map({ String($0.trimmingWhitespace()) }), !sid.isEmpty else {
            return respond(context, .preconditionFailed)
        }
        guard let seq = headers.first(name: "seq").flatMap({ UInt32($0.trimmingWhitespace()) }) else {
            return respond(context, .badRequest)
        }
        let properties: [GENAProperty]
        do {
            properties = try GENAEvent.parsePropertySet(body, maximumBytes: maximumBodyBytes)
        } catch {
            logger.info("GENA NOTIFY body rejected", metadata: ["gena.sid": "\(sid)", "error": "\(error.code)"])
            return respond(context, .badRequest)
        }
        let notify = GENANotify(sid: sid, seq: seq, properties: properties)
        let promise = context.eventLoop.makePromise(of: Bool.self)
        promise.completeWithTask { await receiver.receive(notify) }
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        promise.futureResult.whenComplete { result in
            let accepted = (try? result.get()) ?? false
            bound.value.handler.respond(bound.value.context, accepted ? .ok : .preconditionFailed)
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus) {
        guard !answered else { return }
        answered = true
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: "0")
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // NIOHTTP1's decoder rejects garbage and oversized heads; the error handler has answered 400 already.
        context.close(promise: nil)
    }
}
