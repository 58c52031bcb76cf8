import NIOHTTP1

/// One TCP connection of the Connection Request listener, as a pure state machine: it sees request parts and
/// limits, and says when to answer and when to close. A Connection Request usually takes two requests on one
/// connection (the bare GET, its 401, then the GET with credentials), so keep-alive is honoured, but only
/// for a few requests.
struct ConnectionRequestConnectionStateMachine: Sendable {
    struct Limits: Sendable, Hashable {
        var maxHeaderCount: Int
        var maxURILength: Int
        var maxRequestsPerConnection: Int
    }

    enum Action: Sendable, Equatable {
        case none
        /// The request is complete: work out the response, then write it and close if `close`.
        case dispatch(ConnectionRequestHTTPRequest, close: Bool)
        /// Answer without dispatching (a limit was hit) and close.
        case respondAndClose(ConnectionRequestResponse)
        case close
    }

    private enum State: Sendable {
        case awaitingHead
        case receivingBody(ConnectionRequestHTTPRequest, keepAlive: Bool)
        /// A limit was hit: ignore everything until the connection is gone.
        case closing
    }

    let limits: Limits
    private var state: State = .awaitingHead
    private var requestCount = 0

    init(limits: Limits) { self.limits = limits }

    mutating func headReceived(_ head: HTTPRequestHead) -> Action {
        switch state {
        case .closing, .receivingBody:
            // A head before the previous end cannot come from NIO's decoder; refuse rather than assume.
            state = .closing
            return .close
        case .awaitingHead:
            requestCount += 1
            if head.uri.utf8.count > limits.maxURILength {
                state = .closing
                return .respondAndClose(.init(.uriTooLong))
            }
            if head.headers.count > limits.maxHeaderCount {
                state = .closing
                return .respondAndClose(.init(.requestHeaderFieldsTooLarge))
            }
            let authorization = head.headers["Authorization"]
            // Two Authorization headers: which one would a proxy have checked? Take none.
            let request = ConnectionRequestHTTPRequest(method: head.method, uri: head.uri,
                                                       authorization: authorization.count == 1 ? authorization[0] : nil)
            state = .receivingBody(request, keepAlive: head.isKeepAlive)
            return .none
        }
    }

    mutating func endReceived() -> Action {
        switch state {
        case .receivingBody(let request, let keepAlive):
            let close = !keepAlive || requestCount >= limits.maxRequestsPerConnection
            state = close ? .closing : .awaitingHead
            return .dispatch(request, close: close)
        case .awaitingHead, .closing:
            return .none
        }
    }

    /// Too many bytes since the last response (see `ConnectionRequestInboundLimitHandler`).
    mutating func inboundLimitExceeded() -> Action {
        switch state {
        case .closing:
            return .none
        case .awaitingHead, .receivingBody:
            state = .closing
            return .respondAndClose(.init(.payloadTooLarge))
        }
    }

    /// The request was not complete within `requestReadTimeout` (see `ConnectionRequestInboundLimitHandler`).
    /// `requestStarted`: some of its bytes came in, so there is someone to tell with a 408.
    mutating func requestReadTimedOut(requestStarted: Bool) -> Action {
        switch state {
        case .closing:
            return .none
        case .awaitingHead, .receivingBody:
            state = .closing
            return requestStarted ? .respondAndClose(.init(.requestTimeout)) : .close
        }
    }

    /// The idle timer fired: a slow or silent client is not worth a file descriptor.
    mutating func idleTimeout() -> Action {
        state = .closing
        return .close
    }
}
