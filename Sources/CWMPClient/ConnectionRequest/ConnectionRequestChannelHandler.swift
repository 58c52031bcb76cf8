import Logging
import NIOCore
import NIOHTTP1

/// Sits at the socket end of the pipeline and counts the bytes received since the last response went out. Past
/// `limit` it drops them and tells `ConnectionRequestChannelHandler`, which answers 413 and closes. This bounds
/// what NIO's HTTP decoder ever buffers (an endless header line, a body announced as huge) without relying on
/// the decoder's own limits.
final class ConnectionRequestInboundLimitHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// The event sent up the pipeline when the limit is passed.
    struct LimitExceeded: Sendable {}

    private let limit: Int
    private var received = 0
    private var exceeded = false

    init(limit: Int) { self.limit = limit }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !exceeded else { return }
        let buffer = unwrapInboundIn(data)
        received += buffer.readableBytes
        if received > limit {
            exceeded = true
            context.fireUserInboundEventTriggered(LimitExceeded())
            return
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // A response is going out, so the request it answers is complete: the next one starts from zero.
        received = 0
        context.write(data, promise: promise)
    }
}

/// The thin NIO shell of one Connection Request connection: it feeds request parts to
/// `ConnectionRequestConnectionStateMachine`, asks the server for a response and writes it.
final class ConnectionRequestChannelHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var stateMachine: ConnectionRequestConnectionStateMachine
    private let responder: @Sendable (ConnectionRequestHTTPRequest) -> ConnectionRequestResponse
    private let logger: Logger

    init(limits: ConnectionRequestConnectionStateMachine.Limits,
         logger: Logger,
         responder: @escaping @Sendable (ConnectionRequestHTTPRequest) -> ConnectionRequestResponse) {
        self.stateMachine = ConnectionRequestConnectionStateMachine(limits: limits)
        self.responder = responder
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let action: ConnectionRequestConnectionStateMachine.Action
        switch unwrapInboundIn(data) {
        case .head(let head): action = stateMachine.headReceived(head)
        case .body: action = .none  // a Connection Request has no meaningful body; the limiter bounds it
        case .end: action = stateMachine.endReceived()
        }
        run(action, context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ConnectionRequestInboundLimitHandler.LimitExceeded {
            run(stateMachine.inboundLimitExceeded(), context: context)
        } else if event is IdleStateHandler.IdleStateEvent {
            logger.debug("cwmp.cr.idle-timeout")
            run(stateMachine.idleTimeout(), context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // HTTPServerProtocolErrorHandler has already answered parse errors with 400; anything else ends here.
        logger.debug("cwmp.cr.connection-error", metadata: ["error.type": "\(type(of: error))"])
        context.close(promise: nil)
    }

    private func run(_ action: ConnectionRequestConnectionStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .dispatch(let request, let close):
            let response = responder(request)
            // The request line and headers stay out of the log: the path is the agent's capability and the
            // Authorization header carries the digest.
            logger.debug("cwmp.cr.response", metadata: ["http.method": "\(request.method.rawValue)",
                                                        "http.status": "\(response.status.code)"])
            write(response, close: close, context: context)
        case .respondAndClose(let response):
            logger.debug("cwmp.cr.limit", metadata: ["http.status": "\(response.status.code)"])
            write(response, close: true, context: context)
        case .close:
            context.close(promise: nil)
        }
    }

    private func write(_ response: ConnectionRequestResponse, close: Bool, context: ChannelHandlerContext) {
        var headers = response.headers
        headers.replaceOrAdd(name: "Content-Length", value: "0")
        if close { headers.replaceOrAdd(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        if close {
            // Close only once the response is on the wire; closing at once could drop a write still pending.
            let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.futureResult.whenComplete { _ in boundContext.value.close(promise: nil) }
        }
    }
}
