// How the measured window keeps every agent busy: each session's end triggers that agent's next session, so there
// is about one trigger per session and no agent idles (a closed loop; the gate keeps the rest waiting).
//
// * `ClosingObserver` wraps the agents' ACSTransport and reports which agent's session just closed. Agents are told
//   apart by their ACS username ("cap<index>"): the minimal peer never challenges, so it never reaches the wire.
// * `ConnectionRequestSender` is the ACS side of `--trigger cr`: a real HTTP Connection Request per trigger, as an
//   ACS sends it (GET, 401 with a Digest challenge, GET with Authorization on the same connection, then close), to
//   the agent's ConnectionRequestURL on the process's ConnectionRequestServer. It runs AsyncHTTPClient on its own
//   one-thread event loop group, so its CPU shows as its own thread group in the scheduler figures.
import AsyncHTTPClient
import CWMPClient
import Proxier
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// What happens when agent `index`'s session closes during the window.
protocol SessionClosedHandler: Sendable {
    func sessionClosed(agent index: Int)
}

final class ClosingObserver: ACSTransport {
    let inner: any ACSTransport
    /// nil until the window's driver starts: the first sessions (BOOTSTRAP) must not trigger anything.
    /// An existential, not a closure: a function value read through `Mutex.withLock`'s inout is reabstracted and
    /// written back on every access, so a stored closure grows a chain of thunks per call (seen with perf: after a
    /// few thousand sessions most of the CPU went to nested `…TRTA` thunks).
    private let handler = Mutex<(any SessionClosedHandler)?>(nil)

    init(_ inner: any ACSTransport) { self.inner = inner }

    func arm(_ handler: any SessionClosedHandler) { self.handler.withLock { $0 = handler } }

    func disarm() { handler.withLock { $0 = nil } }

    fileprivate func closed(_ index: Int) {
        handler.withLock { $0 }?.sessionClosed(agent: index)
    }

    func openSession(url: String, credentials: HTTPCredentials?) async throws -> any ACSSession {
        let index = credentials.flatMap { Int($0.username.dropFirst(3)) }
        do {
            let session = try await inner.openSession(url: url, credentials: credentials)
            guard let index else { return session }
            return Session(inner: session, index: index, observer: self)
        } catch {
            // A session that never opened still ended: keep the loop going for this agent.
            if let index { closed(index) }
            throw error
        }
    }

    struct Session: ACSSession {
        let inner: any ACSSession
        let index: Int
        let observer: ClosingObserver

        func post(body: [UInt8]?, timeout: Duration) async throws -> ACSHTTPResponse {
            try await inner.post(body: body, timeout: timeout)
        }

        func close() async {
            await inner.close()
            observer.closed(index)
        }
    }
}

/// State confined to `loop` (every method hops there first), hence `@unchecked Sendable`.
final class ConnectionRequestSender: SessionClosedHandler, @unchecked Sendable {
    struct Target: Sendable {
        var url: String
        var path: String
        var credentials: HTTPCredentials
    }

    struct Counts: Sendable {
        var sent = 0
        var accepted = 0
        /// Final status → count, for anything but 200/204.
        var refused: [Int: Int] = [:]
        var failed = 0
    }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let loop: any EventLoop
    let client: HTTPClient
    let targets: [Target]
    let maximumInFlight: Int
    private var queue: [Int] = []
    private var queueHead = 0
    private var inFlight = 0
    private var counts = Counts()

    init(targets: [Target], maximumInFlight: Int) {
        self.targets = targets
        self.maximumInFlight = maximumInFlight
        self.loop = group.next()
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                     timeout: .init(connect: .seconds(2), read: .seconds(5)))
        configuration.connectionPool = .init(idleTimeout: .seconds(10),
                                             concurrentHTTP1ConnectionsPerHostSoftLimit: maximumInFlight)
        configuration.httpVersion = .http1Only
        self.client = HTTPClient(eventLoopGroup: group, configuration: configuration)
    }

    /// Queues a Connection Request to agent `index`; safe from any thread.
    func send(_ index: Int) {
        loop.execute { self.enqueue(index) }
    }

    func sessionClosed(agent index: Int) { send(index) }

    func counts() async -> Counts {
        (try? await loop.submit { self.counts }.get()) ?? Counts()
    }

    func shutdown() async {
        try? await client.shutdown()
        try? await group.shutdownGracefully()
    }

    private func enqueue(_ index: Int) {
        queue.append(index)
        pump()
    }

    private func pump() {
        while inFlight < maximumInFlight, queueHead < queue.count {
            let index = queue[queueHead]
            queueHead += 1
            if queueHead > 4096, queueHead * 2 > queue.count {
                queue.removeFirst(queueHead)
                queueHead = 0
            }
            inFlight += 1
            counts.sent += 1
            exchange(index)
        }
    }

    private func exchange(_ index: Int) {
        let target = targets[index]
        get(target, authorization: nil).flatMap { first -> EventLoopFuture<HTTPClient.Response> in
            guard first.status == .unauthorized else { return self.loop.makeSucceededFuture(first) }
            var authenticator = HTTPClientAuthenticator(credentials: target.credentials, allowsBasic: false)
            guard case .retry = authenticator.received401(wwwAuthenticate: first.headers["WWW-Authenticate"]),
                  let authorization = authenticator.authorization(method: "GET", uri: target.path) else {
                return self.loop.makeSucceededFuture(first)
            }
            return self.get(target, authorization: authorization)
        }.whenComplete { result in
            self.inFlight -= 1
            switch result {
            case .success(let response) where response.status == .ok || response.status == .noContent:
                self.counts.accepted += 1
            case .success(let response):
                self.counts.refused[Int(response.status.code), default: 0] += 1
                self.retryLater(index)
            case .failure:
                self.counts.failed += 1
                self.retryLater(index)
            }
            self.pump()
        }
    }

    /// A refused or failed request leaves the agent without a trigger: try again shortly.
    private func retryLater(_ index: Int) {
        loop.scheduleTask(in: .milliseconds(20)) { self.enqueue(index) }
    }

    private func get(_ target: Target, authorization: String?) -> EventLoopFuture<HTTPClient.Response> {
        do {
            var request = try HTTPClient.Request(url: target.url, method: .GET)
            if let authorization {
                request.headers.add(name: "Authorization", value: authorization)
                // One TCP connection per Connection Request, as an ACS does (challenge and answer on it, then close).
                request.headers.add(name: "Connection", value: "close")
            }
            return client.execute(request: request, eventLoop: .delegateAndChannel(on: loop))
        } catch {
            return loop.makeFailedFuture(error)
        }
    }
}

/// `--trigger direct`: what the listener calls once a Connection Request is authenticated, without the HTTP.
struct DirectTrigger: SessionClosedHandler {
    let agents: [CWMPAgent]
    func sessionClosed(agent index: Int) { _ = agents[index].connectionRequestReceived() }
}
