import Logging
import NIOCore
import NIOHTTP1

/// Sits at the socket end of the pipeline and bounds each request in bytes and in time, whatever the HTTP decoder
/// makes of it.
///
/// Bytes: it counts those received since the last response went out. Past `limit` it drops them and tells
/// `ConnectionRequestChannelHandler`, which answers 413 and closes. This bounds what NIO's HTTP decoder ever
/// buffers (an endless header line, a body announced as huge) without relying on the decoder's own limits.
///
/// Time: a timer of `readTimeout` starts at the accept and, after a response, at the first byte of the next
/// request; a response stops it. Reads do not push it back, so a client trickling a byte every few seconds is cut
/// off like a silent one. When it fires it tells `ConnectionRequestChannelHandler`, which closes (408 first if part
/// of a request came in). The timer is a task scheduled on the channel's event loop, so tests move it with
/// `EmbeddedEventLoop.advanceTime(by:)`.
final class ConnectionRequestInboundLimitHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// The event sent up the pipeline when the limit is passed.
    struct LimitExceeded: Sendable {}

    /// The event sent up the pipeline when a request was not complete in time. `requestStarted`: some of its
    /// bytes came in.
    struct RequestReadTimeout: Sendable, Equatable {
        var requestStarted: Bool
    }

    private let limit: Int
    private let readTimeout: TimeAmount
    private var received = 0
    private var exceeded = false
    private var timedOut = false
    private var closing = false
    private var deadline: Scheduled<Void>?

    init(limit: Int, readTimeout: TimeAmount) {
        self.limit = limit
        self.readTimeout = readTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startTimer(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopTimer()
    }

    func channelActive(context: ChannelHandlerContext) {
        startTimer(context: context)  // the first request is timed from the accept
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !exceeded, !timedOut else { return }
        let buffer = unwrapInboundIn(data)
        guard buffer.readableBytes > 0 else { return }
        startTimer(context: context)  // a no-op unless this is the first byte of a request after a response
        received += buffer.readableBytes
        if received > limit {
            exceeded = true
            context.fireUserInboundEventTriggered(LimitExceeded())
            return
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Once the connection is closing nothing more goes out. A socket refuses such writes anyway; this is for
        // the 400 that HTTPServerProtocolErrorHandler tries when the close cuts a request short, after our 408
        // or 413 already went out.
        guard !closing else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        // A response is going out, so the request it answers is complete: the next one starts from zero.
        received = 0
        stopTimer()
        context.write(data, promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all {
            closing = true
            stopTimer()
        }
        context.close(mode: mode, promise: promise)
    }

    private func startTimer(context: ChannelHandlerContext) {
        guard deadline == nil, !timedOut, !closing else { return }
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: readTimeout) {
            bound.value.handler.timerFired(context: bound.value.context)
        }
    }

    private func stopTimer() {
        deadline?.cancel()
        deadline = nil
    }

    private func timerFired(context: ChannelHandlerContext) {
        deadline = nil
        guard !timedOut, !exceeded, context.channel.isActive else { return }
        timedOut = true
        context.fireUserInboundEventTriggered(RequestReadTimeout(requestStarted: received > 0))
    }
}

/// The whole pipeline of a connection over `Configuration.maxConnections`: a fixed 503, then close. Nothing it
/// receives is parsed.
final class ConnectionRequestRefusingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = IOData

    static let response = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    private var refused = false

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        refuse(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Dropped: the connection is closing.
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func refuse(context: ChannelHandlerContext) {
        guard !refused else { return }
        refused = true
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(ByteBuffer(string: Self.response))), promise: written)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in boundContext.value.close(promise: nil) }
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
        } else if let timeout = event as? ConnectionRequestInboundLimitHandler.RequestReadTimeout {
            logger.debug("cwmp.cr.read-timeout", metadata: ["cr.request-started": "\(timeout.requestStarted)"])
            run(stateMachine.requestReadTimedOut(requestStarted: timeout.requestStarted), context: context)
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
