// The control point's HTTP client for device descriptions, SCPDs, SOAP control and GENA SUBSCRIBE.
//
// HTTP/1.1 keep-alive, one small pool per client: a device (host, port) keeps at most
// `maximumIdleConnectionsPerDevice` idle connections, each closed by this side after `idleConnectionTimeout`, and
// a connection is only pooled again after a response that was framed cleanly (Content-Length or chunked, no
// tolerated anomaly, no byte after it) and that did not ask to close (`Connection: close`, or HTTP/1.0 without
// `Connection: keep-alive`). Anything odd closes the connection, so a misbehaving device cannot poison the next
// request. A device's connections all live on one event loop (chosen from the host and port), which callers can
// run on (`preferredExecutor(for:)`).
//
// The retry rule (why POSTs are special): a device may close an idle connection at the moment a request is
// written on it; the request then dies unanswered, and whether the device acted on it cannot be known. So
// * only idempotent requests (`UPnPHTTPRequest.isIdempotent`: GET and HEAD by default; the control client marks
//   the read-only `Get…` actions) are sent on a reused connection;
// * such a request is retried ONCE, on a new connection, when the reused connection ended before any byte of
//   the response arrived (a response cut short after its first byte is not retried: the device answered);
// * every other request (SOAP POSTs that change state, SUBSCRIBE, …) goes out on a new connection, which may be
//   pooled afterwards, and is never sent twice.
//
// The request goes out through NIOHTTP1's HTTPRequestEncoder; the response is read by `UPnPHTTPResponseParser`
// (lenient, see there). Every exchange is bounded: a connect timeout, a total deadline that covers connect, send,
// a retry and the whole response (a slowloris device trickling a byte a second is cut off at the deadline), and
// caps on head and body size checked as bytes arrive. Literal IP addresses are connected directly; only names go
// through the resolver.

import FoundationEssentials
import Logging
import NIOConcurrencyHelpers
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
    /// Whether sending the request twice has the effect of sending it once. Only such requests are sent on a
    /// reused keep-alive connection, and retried once when that connection ends before any response byte (see
    /// the file comment). Defaults to true for GET and HEAD only.
    public var isIdempotent: Bool

    public init(method: HTTPMethod, url: String, headers: HTTPHeaders = [:], body: [UInt8] = [],
                isIdempotent: Bool? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.isIdempotent = isIdempotent ?? (method == .GET || method == .HEAD)
    }
}

/// Where a request goes, taken apart from an absolute http URL.
struct UPnPHTTPTarget: Hashable, Sendable {
    var host: String
    var port: Int
    /// The host as a socket address when it is a literal IPv4/IPv6 address (connected without the resolver).
    var literalAddress: SocketAddress?
    /// Path and query, as sent in the request line (`/` when the URL has none).
    var requestTarget: String

    /// The Host header value (IPv6 literals in brackets, the port always included: some devices need it). Stored:
    /// targets are cached, and every action sends it.
    let hostHeader: String

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
        // inet_pton only: a name (or an IPv6 literal with a zone, which needs the resolver) stays nil.
        self.literalAddress = try? SocketAddress(ipAddress: host, port: port)
        self.hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}


/// Sends requests to UPnP devices over keep-alive connections (see the file comment) and reads the responses
/// leniently. Sendable and cheap to copy; copies share one connection pool.
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
        /// Idle connections kept per device (host and port). 0 turns keep-alive off: every request says
        /// `Connection: close` and gets a connection of its own.
        public var maximumIdleConnectionsPerDevice: Int
        /// Idle connections kept across all devices (each is a file descriptor).
        public var maximumIdleConnections: Int
        /// How long an idle connection is kept before this side closes it. Shorter than the keep-alive timeouts
        /// servers use (aiohttp 75 s, Apache 5 s), so this side usually closes first.
        public var idleConnectionTimeout: TimeAmount

        public init(connectTimeout: TimeAmount = .seconds(3), timeout: TimeAmount = .seconds(10),
                    limits: UPnPHTTPResponseParser.Limits = .init(), localAddress: SocketAddress? = nil,
                    userAgent: String = "Linux UPnP/1.1 cwmp-proxy/1.0", maximumIdleConnectionsPerDevice: Int = 2,
                    maximumIdleConnections: Int = 64, idleConnectionTimeout: TimeAmount = .seconds(4)) {
            self.connectTimeout = connectTimeout
            self.timeout = timeout
            self.limits = limits
            self.localAddress = localAddress
            self.userAgent = userAgent
            self.maximumIdleConnectionsPerDevice = maximumIdleConnectionsPerDevice
            self.maximumIdleConnections = maximumIdleConnections
            self.idleConnectionTimeout = idleConnectionTimeout
        }
    }

    public let configuration: Configuration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    /// nil when keep-alive is off.
    let pool: UPnPHTTPConnectionPool?
    /// Parsed control URLs: a client sends every action of a device to the same few URLs.
    private let targets = UPnPHTTPTargetCache()
    /// One task executor per loop of the group, made once (a caller asks for one per provider call).
    private let executors: [EventLoopTaskExecutor]

    public init(configuration: Configuration = .init(),
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "cwmp-proxy.upnp.http")) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.executors = eventLoopGroup.makeIterator().map { EventLoopTaskExecutor($0) }
        self.pool = configuration.maximumIdleConnectionsPerDevice > 0
            ? UPnPHTTPConnectionPool(maximumIdlePerDevice: configuration.maximumIdleConnectionsPerDevice,
                                     maximumIdle: configuration.maximumIdleConnections,
                                     idleTimeout: configuration.idleConnectionTimeout)
            : nil
    }

    /// The event loop that carries every connection to the device at `url` (nil for an invalid URL). Code that
    /// runs a whole action there avoids a thread hop per exchange.
    public func eventLoop(for url: String) -> (any EventLoop)? {
        guard let target = try? targets.target(for: url) else { return nil }
        return eventLoop(for: target)
    }

    /// The device's event loop as a task executor (nil for an invalid URL): run a device's action sequence under
    /// `withTaskExecutorPreference(client.preferredExecutor(for: controlURL))` and each action costs no thread
    /// crossing (EventLoopTaskExecutor.swift says why, and what must never run there).
    public func preferredExecutor(for url: String) -> (any TaskExecutor)? {
        guard let target = try? targets.target(for: url), let index = loopIndex(for: target) else { return nil }
        return executors[index]
    }

    /// One loop per device (host, port), so its connections, and a caller that follows them, stay on one thread.
    private func loopIndex(for target: UPnPHTTPTarget) -> Int? {
        guard !executors.isEmpty else { return nil }
        return Int(UInt(bitPattern: UPnPHTTPConnectionPool.Key(target).hashValue) % UInt(executors.count))
    }

    private func eventLoop(for target: UPnPHTTPTarget) -> any EventLoop {
        loopIndex(for: target).map { executors[$0].eventLoop } ?? eventLoopGroup.next()
    }

    /// Closes every idle connection now (they also close on their own after `idleConnectionTimeout`).
    public func closeIdleConnections() {
        pool?.closeAll()
    }

    /// Idle connections held for the device at `url` (for tests and diagnostics).
    func idleConnectionCount(for url: String) -> Int {
        guard let pool, let target = try? UPnPHTTPTarget(url: url) else { return 0 }
        return pool.idleCount(UPnPHTTPConnectionPool.Key(target))
    }

    /// Sends `request` and returns the response, whatever its status. Throws `UPnPDMError` only:
    /// `.invalidURL`, `.connectFailed`, `.connectTimeout`, `.deadlineExceeded`, `.connectionClosed`,
    /// `.malformedHTTPResponse`, `.responseTooLarge`.
    /// - Parameter timeout: overrides the configured total deadline for this request (a retry included).
    public func execute(_ request: UPnPHTTPRequest, timeout: TimeAmount? = nil) async throws(UPnPDMError) -> UPnPHTTPResponse {
        let target = try targets.target(for: request.url)
        let total = timeout ?? configuration.timeout
        let deadline = NIODeadline.now() + total
        let keepAlive = pool != nil
        let exchange = UPnPHTTPExchange(
            head: Self.makeHead(request, target: target, userAgent: configuration.userAgent, keepAlive: keepAlive),
            body: request.body, limits: configuration.limits, requestWasHead: request.method == .HEAD)
        do {
            let response: UPnPHTTPResponse
            if request.isIdempotent, let pool, let connection = pool.acquire(UPnPHTTPConnectionPool.Key(target)) {
                do {
                    response = try await run(exchange, on: connection, target: target, deadline: deadline, total: total)
                } catch let unanswered as UPnPHTTPUnanswered {
                    // The device closed the idle connection as the request went out: once more on a new one.
                    logger.debug("upnp.http.retry", metadata: [
                        "upnp.url": "\(request.url)", "http.request_written": "\(unanswered.requestWritten)",
                    ])
                    response = try await runOnNewConnection(exchange, target: target, deadline: deadline, total: total)
                }
            } else {
                response = try await runOnNewConnection(exchange, target: target, deadline: deadline, total: total)
            }
            if !response.anomalies.isEmpty {
                logger.debug("upnp.http.lenient", metadata: [
                    "upnp.url": "\(request.url)", "http.anomalies": "\(response.anomalies)",
                ])
            }
            return response
        } catch let error as UPnPDMError {
            throw error
        } catch let unanswered as UPnPHTTPUnanswered {
            throw UPnPDMError(.connectionClosed, "the connection failed before a response arrived",
                              underlying: unanswered.underlying)
        } catch {
            throw UPnPDMError(.connectFailed, "HTTP exchange with \(target.hostHeader) failed", underlying: error)
        }
    }

    /// One exchange on a pooled connection. Fails with `UPnPHTTPUnanswered` when the connection ends before a
    /// response byte; the caller retries on a new connection.
    private func run(_ exchange: UPnPHTTPExchange, on connection: UPnPHTTPConnectionPool.Connection,
                     target: UPnPHTTPTarget, deadline: NIODeadline, total: TimeAmount) async throws -> UPnPHTTPResponse {
        let eventLoop = connection.channel.eventLoop
        let promise = eventLoop.makePromise(of: UPnPHTTPResponse.self)
        let channel = connection.channel
        let handler = connection.handler
        // All of the set-up in one task on the loop: scheduleTask, whenComplete and whenFailure called from the
        // caller's thread would each enqueue their own task and wake the loop (an eventfd write and an epoll
        // return per call), four wake-ups per action instead of one.
        // The deadline is the handler's (a timer per connection, re-armed lazily, not one scheduled and cancelled
        // per exchange), and the handler closes the connection on every failure it sees; a cancelled caller
        // closes it here.
        let bound = UPnPHTTPClientHandler.Deadline(at: deadline, total: total, hostHeader: target.hostHeader)
        let start = { @Sendable in handler.value.start(exchange, promise: promise, deadline: bound) }
        if eventLoop.inEventLoop { start() } else { eventLoop.execute(start) }
        return try await awaitResponse(promise, target: target, closing: channel)
    }

    private func runOnNewConnection(_ exchange: UPnPHTTPExchange, target: UPnPHTTPTarget, deadline: NIODeadline,
                                    total: TimeAmount) async throws -> UPnPHTTPResponse {
        let eventLoop = eventLoop(for: target)
        let promise = eventLoop.makePromise(of: UPnPHTTPResponse.self)
        let remaining = deadline - NIODeadline.now()
        let pool = self.pool
        let key = UPnPHTTPConnectionPool.Key(target)
        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(min(configuration.connectTimeout, remaining))
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTPRequestEncoder())
                    try channel.pipeline.syncOperations.addHandler(
                        UPnPHTTPClientHandler(first: exchange, promise: promise, pool: pool, key: key))
                }
            }
        if let localAddress = configuration.localAddress { bootstrap = bootstrap.bind(to: localAddress) }
        bound(promise, on: eventLoop, deadline: deadline, total: total, target: target)
        let connect = target.literalAddress.map { bootstrap.connect(to: $0) }
            ?? bootstrap.connect(host: target.host, port: target.port)
        connect.whenFailure { error in
            if let channelError = error as? ChannelError, case .connectTimeout = channelError {
                promise.fail(UPnPDMError(.connectTimeout, "connecting to \(target.hostHeader) timed out",
                                         underlying: error))
            } else {
                promise.fail(UPnPDMError(.connectFailed, "cannot connect to \(target.hostHeader)", underlying: error))
            }
        }
        // A failed exchange (deadline, cancellation, bad response) never leaves its connection open.
        promise.futureResult.whenFailure { _ in connect.whenSuccess { $0.close(promise: nil) } }
        do {
            return try await awaitResponse(promise, target: target)
        } catch let unanswered as UPnPHTTPUnanswered {
            // A new connection that ends before a response is the device's refusal, not a stale connection.
            throw UPnPDMError(.connectionClosed, "the connection failed before a response arrived",
                              underlying: unanswered.underlying)
        }
    }

    /// The total deadline, on the exchange's event loop.
    private func bound(_ promise: EventLoopPromise<UPnPHTTPResponse>, on eventLoop: any EventLoop,
                       deadline: NIODeadline, total: TimeAmount, target: UPnPHTTPTarget) {
        let deadlineTask = eventLoop.scheduleTask(deadline: deadline) {
            promise.fail(UPnPDMError(.deadlineExceeded, "no complete response from \(target.hostHeader) within "
                                     + "\(total.nanoseconds / 1_000_000) ms"))
        }
        promise.futureResult.whenComplete { _ in deadlineTask.cancel() }
    }

    private func awaitResponse(_ promise: EventLoopPromise<UPnPHTTPResponse>, target: UPnPHTTPTarget,
                               closing channel: (any Channel)? = nil) async throws -> UPnPHTTPResponse {
        // A cancelled caller (the RPC dispatcher's budget ran out) ends the exchange at once.
        try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            promise.fail(UPnPDMError(.deadlineExceeded, "the request to \(target.hostHeader) was cancelled",
                                     underlying: CancellationError()))
            channel?.close(promise: nil)
        }
    }

    /// `name` is "Host" in any case, without a lowercased copy per header.
    private static func isHost(_ name: String) -> Bool {
        name.utf8.count == 4 && name.utf8.elementsEqual("host".utf8, by: { ($0 | 0x20) == $1 })
    }

    static func makeHead(_ request: UPnPHTTPRequest, target: UPnPHTTPTarget, userAgent: String,
                         keepAlive: Bool = false) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(request.headers.count + 5)   // one allocation, not one per doubling
        headers.add(name: "Host", value: target.hostHeader)
        for (name, value) in request.headers where !Self.isHost(name) { headers.add(name: name, value: value) }
        // HTTP/1.1 keeps the connection by default; some HTTP/1.0-minded devices need to be told.
        if !headers.contains(name: "Connection") { headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close") }
        if !headers.contains(name: "User-Agent") { headers.add(name: "User-Agent", value: userAgent) }
        // Always an explicit length when there is a body (or for POST): without one HTTPRequestEncoder would
        // switch to chunked, which many devices cannot read.
        if !request.body.isEmpty || request.method == .POST {
            headers.replaceOrAdd(name: "Content-Length", value: String(request.body.count))
        }
        return HTTPRequestHead(version: .http1_1, method: request.method, uri: target.requestTarget, headers: headers)
    }
}

/// The last URLs taken apart, so each action does not run the RFC 3986 parser again (per GetValues it cost about as
/// much as reading the answer's HTTP head). Bounded: past `capacity` entries it starts over, so a client fed
/// endless distinct URLs (a hostile description) holds at most that many.
final class UPnPHTTPTargetCache: Sendable {
    private let entries = NIOLockedValueBox([String: UPnPHTTPTarget]())
    let capacity: Int

    init(capacity: Int = 256) { self.capacity = capacity }

    func target(for url: String) throws(UPnPDMError) -> UPnPHTTPTarget {
        if let target = entries.withLockedValue({ $0[url] }) { return target }
        let target = try UPnPHTTPTarget(url: url)   // errors are not cached: a bad URL is rare and cheap to refuse
        entries.withLockedValue { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[url] = target
        }
        return target
    }

    var count: Int { entries.withLockedValue { $0.count } }
}

/// What one exchange sends and how its response is read.
struct UPnPHTTPExchange: Sendable {
    var head: HTTPRequestHead
    var body: [UInt8]
    var limits: UPnPHTTPResponseParser.Limits
    var requestWasHead: Bool
}

/// A reused connection ended before any byte of the response arrived (internal: `execute` retries or converts it).
struct UPnPHTTPUnanswered: Error {
    /// False when the connection was found closed before the request was written.
    var requestWritten: Bool
    var underlying: (any Error)?
}

/// Idle keep-alive connections by device, shared by the copies of one `UPnPHTTPClient`. The lock guards only the
/// lists; each connection's handler is touched on its event loop only. Idle connections close themselves after
/// the idle timeout, so a pool that is dropped leaks nothing for longer than that.
final class UPnPHTTPConnectionPool: Sendable {
    struct Key: Hashable, Sendable {
        var host: String
        var port: Int
        init(_ target: UPnPHTTPTarget) {
            host = target.host
            port = target.port
        }
    }

    struct Connection: Sendable {
        let channel: any Channel
        let handler: NIOLoopBound<UPnPHTTPClientHandler>
    }

    private struct State {
        var idle: [Key: [Connection]] = [:]
        var count = 0
    }

    private let state = NIOLockedValueBox(State())
    let maximumIdlePerDevice: Int
    let maximumIdle: Int
    let idleTimeout: TimeAmount

    init(maximumIdlePerDevice: Int, maximumIdle: Int, idleTimeout: TimeAmount) {
        self.maximumIdlePerDevice = maximumIdlePerDevice
        self.maximumIdle = maximumIdle
        self.idleTimeout = idleTimeout
    }

    /// The most recently pooled idle connection to the device, taken out of the pool.
    func acquire(_ key: Key) -> Connection? {
        state.withLockedValue { state in
            guard let connection = state.idle[key]?.popLast() else { return nil }
            state.count -= 1
            if state.idle[key]?.isEmpty == true { state.idle[key] = nil }
            return connection
        }
    }

    /// Pools an idle connection; false when the pool is full (the caller closes it).
    func release(_ connection: Connection, key: Key) -> Bool {
        state.withLockedValue { state in
            guard state.count < maximumIdle, state.idle[key, default: []].count < maximumIdlePerDevice else { return false }
            state.idle[key, default: []].append(connection)
            state.count += 1
            return true
        }
    }

    /// Forgets a connection that closed (idle expiry, the device's close).
    func remove(_ channel: any Channel, key: Key) {
        state.withLockedValue { state in
            guard var list = state.idle[key], let index = list.firstIndex(where: { $0.channel === channel }) else { return }
            list.remove(at: index)
            state.count -= 1
            state.idle[key] = list.isEmpty ? nil : list
        }
    }

    func idleCount(_ key: Key) -> Int { state.withLockedValue { $0.idle[key]?.count ?? 0 } }

    func closeAll() {
        let all = state.withLockedValue { state in
            defer { state = State() }
            return state.idle.values.flatMap { $0 }
        }
        for connection in all { connection.channel.close(mode: .all, promise: nil) }
    }
}

/// The I/O shell of one connection: writes each exchange's request, feeds every read to that exchange's parser,
/// completes its promise with the parser's verdict, and then either pools the connection (idle, with an expiry
/// timer) or closes it. Event-loop confined.
final class UPnPHTTPClientHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = HTTPClientRequestPart

    private enum State {
        /// Waiting for channelActive to write the first request.
        case connecting(UPnPHTTPExchange, EventLoopPromise<UPnPHTTPResponse>)
        /// A request is out; `reused` when the connection served an earlier exchange, `answering` once a response
        /// byte arrived.
        case exchanging(UPnPHTTPResponseParser, EventLoopPromise<UPnPHTTPResponse>, reused: Bool, answering: Bool)
        /// In the pool since that instant; `idleCheck` closes it once it has been idle for the pool's timeout.
        case idle(since: NIODeadline)
        case closed
    }

    /// The deadline of an exchange on a reused connection (a new connection's is bound in `runOnNewConnection`,
    /// as it also covers the connect).
    struct Deadline: Sendable {
        var at: NIODeadline
        var total: TimeAmount
        var hostHeader: String
    }

    private var state: State
    private var context: ChannelHandlerContext?
    /// The running exchange's deadline, checked by `deadlineCheck`.
    private var deadline: Deadline?
    /// Timers are per connection and lazy: an exchange (every few hundred microseconds on a busy device) does not
    /// schedule and cancel its own. A check that fires early re-arms for what is due; one that finds nothing due
    /// lapses. Cancelled when the connection closes.
    private var deadlineCheck: (at: NIODeadline, task: Scheduled<Void>)?
    private var idleCheck: Scheduled<Void>?
    private let pool: UPnPHTTPConnectionPool?
    private let key: UPnPHTTPConnectionPool.Key

    init(first exchange: UPnPHTTPExchange, promise: EventLoopPromise<UPnPHTTPResponse>,
         pool: UPnPHTTPConnectionPool?, key: UPnPHTTPConnectionPool.Key) {
        self.state = .connecting(exchange, promise)
        self.pool = pool
        self.key = key
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { channelActive(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .connecting(let exchange, let promise) = state {
            write(exchange, promise: promise, reused: false, context: context)
        }
        context.fireChannelActive()
    }

    /// The next exchange on this pooled connection. Fails with `UPnPHTTPUnanswered` (nothing written) when the
    /// connection closed or expired in the meantime.
    func start(_ exchange: UPnPHTTPExchange, promise: EventLoopPromise<UPnPHTTPResponse>, deadline: Deadline) {
        guard case .idle = state, let context, context.channel.isActive else {
            promise.fail(UPnPHTTPUnanswered(requestWritten: false, underlying: nil))
            return
        }
        self.deadline = deadline
        armDeadlineCheck(deadline.at, context: context)
        write(exchange, promise: promise, reused: true, context: context)
    }

    private func armDeadlineCheck(_ at: NIODeadline, context: ChannelHandlerContext) {
        if let check = deadlineCheck {
            if check.at <= at { return }   // fires first and re-arms for `at`
            check.task.cancel()
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadlineCheck = (at, context.eventLoop.scheduleTask(deadline: at) {
            loopBound.value.0.deadlineCheckFired(context: loopBound.value.1)
        })
    }

    private func deadlineCheckFired(context: ChannelHandlerContext) {
        deadlineCheck = nil
        guard case .exchanging(_, let promise, _, _) = state, let deadline else { return }
        guard NIODeadline.now() >= deadline.at else {
            armDeadlineCheck(deadline.at, context: context)
            return
        }
        close(context: context)
        promise.fail(UPnPDMError(.deadlineExceeded, "no complete response from \(deadline.hostHeader) within "
                                 + "\(deadline.total.nanoseconds / 1_000_000) ms"))
    }

    private func armIdleCheck(_ at: NIODeadline, context: ChannelHandlerContext) {
        guard idleCheck == nil else { return }   // fires first and re-arms for what is due
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleCheck = context.eventLoop.scheduleTask(deadline: at) {
            loopBound.value.0.idleCheckFired(context: loopBound.value.1)
        }
    }

    private func idleCheckFired(context: ChannelHandlerContext) {
        idleCheck = nil
        guard case .idle(let since) = state, let pool else { return }
        let expiry = since + pool.idleTimeout
        if NIODeadline.now() >= expiry {
            close(context: context)
        } else {
            armIdleCheck(expiry, context: context)
        }
    }

    private func cancelTimers() {
        deadlineCheck?.task.cancel()
        deadlineCheck = nil
        idleCheck?.cancel()
        idleCheck = nil
        deadline = nil
    }

    private func write(_ exchange: UPnPHTTPExchange, promise: EventLoopPromise<UPnPHTTPResponse>, reused: Bool,
                       context: ChannelHandlerContext) {
        state = .exchanging(UPnPHTTPResponseParser(limits: exchange.limits, requestWasHead: exchange.requestWasHead),
                            promise, reused: reused, answering: false)
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if !exchange.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: exchange.body)))),
                          promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .exchanging(var parser, let promise, let reused, _) = state else {
            // Bytes while idle are no answer to anything: the connection cannot be trusted any more.
            if case .idle = state { close(context: context) }
            return
        }
        let buffer = unwrapInboundIn(data)
        state = .closed  // avoid a copy of the parser while it is mutated
        let action = buffer.withUnsafeReadableBytes { parser.feed($0) }
        state = .exchanging(parser, promise, reused: reused, answering: true)
        run(action, parser: parser, promise: promise, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        ended(error: nil, context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        ended(error: error, context: context)
        context.close(promise: nil)
    }

    /// The connection closed or failed: the exchange in progress gets the parser's verdict on what arrived.
    private func ended(error: (any Error)?, context: ChannelHandlerContext) {
        switch state {
        case .connecting(_, let promise):
            state = .closed
            promise.fail(UPnPDMError(.connectionClosed, "the connection closed before the request was sent",
                                     underlying: error))
        case .exchanging(var parser, let promise, let reused, let answering):
            state = .closed
            cancelTimers()
            if reused && !answering {
                promise.fail(UPnPHTTPUnanswered(requestWritten: true, underlying: error))
                return
            }
            switch parser.endOfInput() {
            case .complete(let response):
                promise.succeed(response)
            case .fail(let failure):
                // A reset after part of the response fails like a close would; a clean close keeps its reason.
                promise.fail(error == nil ? failure : UPnPDMError(.connectionClosed,
                             "the connection failed before a response arrived", underlying: error))
            case .needMoreData:
                promise.fail(UPnPDMError(.connectionClosed, "the connection failed before a response arrived",
                                         underlying: error))
            }
        case .idle:
            state = .closed
            cancelTimers()
            pool?.remove(context.channel, key: key)
        case .closed:
            cancelTimers()
        }
    }

    private func run(_ action: UPnPHTTPResponseParser.Action, parser: UPnPHTTPResponseParser,
                     promise: EventLoopPromise<UPnPHTTPResponse>, context: ChannelHandlerContext) {
        switch action {
        case .needMoreData:
            break
        case .complete(let response):
            deadline = nil
            if let pool, parser.endedByFraming, Self.keepsAlive(response), context.channel.isActive,
               pool.release(.init(channel: context.channel, handler: NIOLoopBound(self, eventLoop: context.eventLoop)),
                            key: key) {
                let now = NIODeadline.now()
                state = .idle(since: now)
                armIdleCheck(now + pool.idleTimeout, context: context)
            } else {
                close(context: context)
            }
            promise.succeed(response)
        case .fail(let error):
            close(context: context)
            promise.fail(error)
        }
    }

    private func close(context: ChannelHandlerContext) {
        if case .idle = state { pool?.remove(context.channel, key: key) }
        cancelTimers()
        state = .closed
        context.close(promise: nil)
    }

    /// Whether the device lets the connection be used again: HTTP/1.1 unless it says `Connection: close`,
    /// HTTP/1.0 only with `Connection: keep-alive`, and never after a tolerated framing fault.
    static func keepsAlive(_ response: UPnPHTTPResponse) -> Bool {
        guard response.anomalies.isEmpty else { return false }
        var close = false
        var keepAlive = false
        for value in response.headers["connection"] {
            for token in value.split(separator: ",") {
                switch token.trimmingWhitespace().lowercased() {
                case "close": close = true
                case "keep-alive": keepAlive = true
                default: break
                }
            }
        }
        if close { return false }
        return response.version.minor >= 1 || keepAlive
    }
}
