// Keep-alive in UPnPHTTPClient over real loopback sockets: reuse of one connection, the device's ways of ending a
// connection (Connection: close, HTTP/1.0, a close while idle), the retry rule (idempotent requests only, once,
// only when no response byte arrived) and idle expiry (the client closes what it pooled: the server sees the FIN).
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import UPnPDM

/// An in-test HTTP/1.1 server on 127.0.0.1 (port 0) that answers each request as `reply` says, numbering
/// connections and the requests on each, and records what it saw.
final class KeepAliveServer: Sendable {
    enum Reply: Sendable {
        /// Writes the bytes and keeps the connection.
        case respond(String)
        /// Writes the bytes, then closes.
        case respondAndClose(String)
        /// Closes without a byte of response.
        case close
    }

    struct Seen: Sendable {
        var connectionsAccepted = 0
        var connectionsClosed = 0
        /// (connection number from 1, request number on that connection from 1, the request's head).
        var requests: [(connection: Int, index: Int, head: String)] = []
    }

    let channel: any Channel
    private let box = NIOLockedValueBox(Seen())
    var port: Int { channel.localAddress!.port! }
    func url(_ path: String = "/") -> String { "http://127.0.0.1:\(port)\(path)" }
    var seen: Seen { box.withLockedValue { $0 } }

    static func ok(_ body: String = "<ok/>", extraHeaders: String = "") -> String {
        "HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\(extraHeaders)\r\n\(body)"
    }

    init(reply: @escaping @Sendable (_ connection: Int, _ index: Int) -> Reply) async throws {
        let box = self.box
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                let number = box.withLockedValue { seen in
                    seen.connectionsAccepted += 1
                    return seen.connectionsAccepted
                }
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(
                        KeepAliveServerHandler(connection: number, box: box, reply: reply))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func shutdown() async { try? await channel.close() }

    /// Polls until `condition` holds, for at most `seconds` (a bounded wait, not a timing assertion).
    func wait(seconds: Int = 10, until condition: (Seen) -> Bool) async throws -> Bool {
        for _ in 0..<(seconds * 100) {
            if condition(seen) { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition(seen)
    }
}

private final class KeepAliveServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let connection: Int
    let box: NIOLockedValueBox<KeepAliveServer.Seen>
    let reply: @Sendable (Int, Int) -> KeepAliveServer.Reply
    var received: [UInt8] = []
    var index = 0

    init(connection: Int, box: NIOLockedValueBox<KeepAliveServer.Seen>,
         reply: @escaping @Sendable (Int, Int) -> KeepAliveServer.Reply) {
        self.connection = connection
        self.box = box
        self.reply = reply
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += Array(buffer: unwrapInboundIn(data))
        // Every complete request in the buffer (head plus Content-Length body), in order.
        while let end = received.firstRange(of: Array("\r\n\r\n".utf8)) {
            let head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
            var length = 0
            for line in head.lowercased().split(separator: "\r\n") where line.hasPrefix("content-length:") {
                length = Int(String(line.dropFirst(15).filter { $0 != " " })) ?? 0
            }
            guard received.count >= end.upperBound + length else { return }
            received.removeFirst(end.upperBound + length)
            index += 1
            let (connection, index) = (connection, index)
            box.withLockedValue { $0.requests.append((connection, index, head)) }
            switch reply(connection, index) {
            case .respond(let text):
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text)), promise: nil)
            case .respondAndClose(let text):
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text)), promise: nil)
                context.close(promise: nil)
                return
            case .close:
                context.close(promise: nil)
                return
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        box.withLockedValue { $0.connectionsClosed += 1 }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

func withKeepAliveServer<T>(reply: @escaping @Sendable (Int, Int) -> KeepAliveServer.Reply,
                            _ body: (KeepAliveServer) async throws -> T) async throws -> T {
    let server = try await KeepAliveServer(reply: reply)
    do {
        let result = try await body(server)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}

@Suite struct KeepAliveTests {
    // A long idle timeout: on a loaded machine seconds can pass between two requests of a test, and an expiry
    // there would look like a missed reuse. `serve` closes what is left at the end of each test.
    // Generous connect and total deadlines for the same reason: only the deadline test relies on one (its own).
    let client = UPnPHTTPClient(configuration: .init(connectTimeout: .seconds(10), timeout: .seconds(20),
                                                     idleConnectionTimeout: .seconds(120)))

    func withKeepAliveServer<T>(reply: @escaping @Sendable (Int, Int) -> KeepAliveServer.Reply,
                                _ body: (KeepAliveServer) async throws -> T) async throws -> T {
        defer { client.closeIdleConnections() }
        return try await UPnPDMTests.withKeepAliveServer(reply: reply, body)
    }

    @Test func sequentialRequestsShareOneConnection() async throws {
        try await withKeepAliveServer(reply: { _, _ in .respond(KeepAliveServer.ok()) }) { server in
            for _ in 0..<5 {
                let response = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url("/d.xml")))
                #expect(response.body == Array("<ok/>".utf8))
            }
            #expect(server.seen.connectionsAccepted == 1)
            #expect(server.seen.requests.map(\.index) == [1, 2, 3, 4, 5])
            #expect(server.seen.requests.allSatisfy { $0.head.contains("\r\nConnection: keep-alive") })
            #expect(client.idleConnectionCount(for: server.url()) == 1)
            client.closeIdleConnections()
            #expect(try await server.wait { $0.connectionsClosed == 1 })
        }
    }

    @Test func keepAliveOffSendsConnectionCloseAndNeverReuses() async throws {
        let closing = UPnPHTTPClient(configuration: .init(timeout: .seconds(5), maximumIdleConnectionsPerDevice: 0))
        try await withKeepAliveServer(reply: { _, _ in .respond(KeepAliveServer.ok()) }) { server in
            for _ in 0..<3 { _ = try await closing.execute(UPnPHTTPRequest(method: .GET, url: server.url())) }
            #expect(server.seen.connectionsAccepted == 3)
            #expect(server.seen.requests.allSatisfy { $0.head.contains("\r\nConnection: close") })
            #expect(try await server.wait { $0.connectionsClosed == 3 })
        }
    }

    @Test func connectionCloseFromTheDeviceIsHonoured() async throws {
        let reply = KeepAliveServer.ok(extraHeaders: "Connection: close\r\n")
        try await withKeepAliveServer(reply: { _, _ in .respond(reply) }) { server in
            for _ in 0..<3 { _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url())) }
            // The server never closed: the client did, after each response.
            #expect(server.seen.connectionsAccepted == 3)
            #expect(try await server.wait { $0.connectionsClosed == 3 })
            #expect(client.idleConnectionCount(for: server.url()) == 0)
        }
    }

    @Test func http10WithoutKeepAliveIsNotReused() async throws {
        try await withKeepAliveServer(reply: { _, _ in .respond("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok") }) { server in
            for _ in 0..<2 { _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url())) }
            #expect(server.seen.connectionsAccepted == 2)
            #expect(try await server.wait { $0.connectionsClosed == 2 })
        }
    }

    @Test func http10WithKeepAliveIsReused() async throws {
        let reply = "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok"
        try await withKeepAliveServer(reply: { _, _ in .respond(reply) }) { server in
            for _ in 0..<2 { _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url())) }
            #expect(server.seen.connectionsAccepted == 1)
        }
    }

    @Test func bytesBeyondTheFramingAreNotTrusted() async throws {
        // Content-Length says 2, three bytes come: the response is read, the connection is not used again.
        try await withKeepAliveServer(reply: { _, _ in .respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokX") }) { server in
            for _ in 0..<2 {
                let response = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
                #expect(response.body == Array("ok".utf8))
            }
            #expect(server.seen.connectionsAccepted == 2)
        }
    }

    @Test func closeDelimitedBodyIsNotReused() async throws {
        try await withKeepAliveServer(reply: { _, _ in .respondAndClose("HTTP/1.1 200 OK\r\n\r\n<a/>") }) { server in
            for _ in 0..<2 {
                let response = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
                #expect(response.body == Array("<a/>".utf8))
            }
            #expect(server.seen.connectionsAccepted == 2)
        }
    }

    /// The device closes a kept connection when the second request arrives on it, without a byte of answer (its
    /// keep-alive timeout crossed our request): an idempotent request is sent once more on a new connection.
    @Test func idempotentRequestIsRetriedOnceWhenAReusedConnectionDiesUnanswered() async throws {
        try await withKeepAliveServer(reply: { _, index in index == 1 ? .respond(KeepAliveServer.ok()) : .close }) { server in
            _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            let response = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            #expect(response.statusCode == 200)
            #expect(server.seen.connectionsAccepted == 2)
            #expect(server.seen.requests.map { [$0.connection, $0.index] } == [[1, 1], [1, 2], [2, 1]])
            // A SOAP action the caller marks idempotent (a Get… action) is retried the same way.
            let post = UPnPHTTPRequest(method: .POST, url: server.url("/ctl"), body: Array("<x/>".utf8), isIdempotent: true)
            let retried = try await client.execute(post)
            #expect(retried.statusCode == 200)
            #expect(server.seen.connectionsAccepted == 3)
            #expect(server.seen.requests.map { [$0.connection, $0.index] } == [[1, 1], [1, 2], [2, 1], [2, 2], [3, 1]])
        }
    }

    /// The retry happens once: when the new connection dies unanswered too, the caller gets connectionClosed.
    @Test func retryHappensOnlyOnce() async throws {
        try await withKeepAliveServer(reply: { connection, index in
            connection == 1 && index == 1 ? .respond(KeepAliveServer.ok()) : .close
        }) { server in
            _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            await #expect(throws: UPnPDMError(.connectionClosed, "")) {
                try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            }
            #expect(server.seen.requests.count == 3)
            #expect(server.seen.connectionsAccepted == 2)
        }
    }

    /// A non-idempotent request (a state-changing SOAP POST) never rides a reused connection, so it cannot die
    /// with an idle connection and is never sent twice; its own connection is pooled afterwards.
    @Test func nonIdempotentRequestTakesANewConnection() async throws {
        try await withKeepAliveServer(reply: { _, _ in .respond(KeepAliveServer.ok()) }) { server in
            _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            #expect(client.idleConnectionCount(for: server.url()) == 1)
            let post = UPnPHTTPRequest(method: .POST, url: server.url("/ctl"), body: Array("<set/>".utf8))
            #expect(!post.isIdempotent)
            _ = try await client.execute(post)
            #expect(server.seen.connectionsAccepted == 2)
            #expect(server.seen.requests.map { [$0.connection, $0.index] } == [[1, 1], [2, 1]])
            #expect(client.idleConnectionCount(for: server.url()) == 2)
            // The limit per device is 2: a third connection is closed after its response, not pooled.
            _ = try await client.execute(post)
            #expect(client.idleConnectionCount(for: server.url()) == 2)
            #expect(try await server.wait { $0.connectionsClosed == 1 })
            client.closeIdleConnections()
            #expect(try await server.wait { $0.connectionsClosed == 3 })
        }
    }

    /// A non-idempotent request on a new connection that dies unanswered fails; it is not sent again.
    @Test func nonIdempotentRequestIsNotRetried() async throws {
        try await withKeepAliveServer(reply: { _, _ in .close }) { server in
            await #expect(throws: UPnPDMError(.connectionClosed, "")) {
                try await client.execute(UPnPHTTPRequest(method: .POST, url: server.url(), body: [1]))
            }
            #expect(server.seen.requests.count == 1)
        }
    }

    /// Once a response byte arrived the device has answered: a cut-short response is an error, never a retry.
    @Test func responseCutAfterItsFirstByteIsNotRetried() async throws {
        try await withKeepAliveServer(reply: { _, index in
            index == 1 ? .respond(KeepAliveServer.ok()) : .respondAndClose("HT")
        }) { server in
            _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            await #expect(throws: UPnPDMError(.malformedHTTPResponse, "")) {
                try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            }
            #expect(server.seen.requests.count == 2)
            #expect(server.seen.connectionsAccepted == 1)
        }
    }

    /// The device closes idle connections right after answering (no Connection: close said): the pool forgets
    /// them as the FIN arrives, and any request that still meets one is retried; no request fails.
    @Test func deviceThatClosesAfterEveryResponse() async throws {
        try await withKeepAliveServer(reply: { _, _ in .respondAndClose(KeepAliveServer.ok()) }) { server in
            for _ in 0..<20 {
                let response = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
                #expect(response.statusCode == 200)
            }
            #expect(server.seen.connectionsAccepted == 20)
        }
    }

    @Test func idleConnectionsExpire() async throws {
        let quick = UPnPHTTPClient(configuration: .init(timeout: .seconds(5), idleConnectionTimeout: .milliseconds(100)))
        try await withKeepAliveServer(reply: { _, _ in .respond(KeepAliveServer.ok()) }) { server in
            _ = try await quick.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            // The client closes its idle socket (the server sees the FIN) and forgets it: no descriptor is kept.
            #expect(try await server.wait { $0.connectionsClosed == 1 })
            #expect(quick.idleConnectionCount(for: server.url()) == 0)
            _ = try await quick.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            #expect(server.seen.connectionsAccepted == 2)
        }
    }

    @Test func deadlineOnAReusedConnectionClosesIt() async throws {
        try await withKeepAliveServer(reply: { _, index in
            index == 1 ? .respond(KeepAliveServer.ok()) : .respond("")  // the second request gets no answer
        }) { server in
            _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            await #expect(throws: UPnPDMError(.deadlineExceeded, "")) {
                try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()), timeout: .milliseconds(300))
            }
            #expect(try await server.wait { $0.connectionsClosed == 1 })
            #expect(client.idleConnectionCount(for: server.url()) == 0)
        }
    }

    @Test func actionsThatAreIdempotent() {
        #expect(UPnPControlClient.isIdempotent(action: "GetValues"))
        #expect(UPnPControlClient.isIdempotent(action: "GetTestResult"))
        #expect(!UPnPControlClient.isIdempotent(action: "SetValues"))
        #expect(!UPnPControlClient.isIdempotent(action: "CreateInstance"))
        #expect(!UPnPControlClient.isIdempotent(action: "Reboot"))
    }
}
