// Tiny in-test HTTP servers on 127.0.0.1 (port 0) that misbehave on purpose: wrong lengths, no lengths, endless
// bodies, a byte at a time, silence. Each connection reads one request (head plus Content-Length body) and then
// runs the test's script on the channel's event loop.

import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// What a misbehaving server does once it has read a request.
struct ServerScript: Sendable {
    enum Step: Sendable {
        case write([UInt8])
        case writeString(String)
        /// Writes this chunk again and again, forever (until the client goes away).
        case endless([UInt8])
        /// Writes the bytes one at a time, `interval` apart.
        case trickle([UInt8], interval: TimeAmount)
        case pause(TimeAmount)
        case close
        /// Does nothing more (the connection stays open until the client closes it).
        case hang
    }

    var steps: [Step]

    init(_ steps: [Step]) { self.steps = steps }

    /// A raw response followed by a close.
    static func respond(_ text: String) -> ServerScript { ServerScript([.writeString(text), .close]) }
}

final class MisbehavingServer: Sendable {
    let channel: any Channel
    private let requests = NIOLockedValueBox<[[UInt8]]>([])
    private let peers = NIOLockedValueBox<[String]>([])

    var port: Int { channel.localAddress!.port! }
    func url(_ path: String = "/") -> String { "http://127.0.0.1:\(port)\(path)" }
    /// The raw bytes of every request received so far.
    var receivedRequests: [[UInt8]] { requests.withLockedValue { $0 } }
    /// The remote address (IP) of every connection so far.
    var peerAddresses: [String] { peers.withLockedValue { $0 } }

    init(script: ServerScript) async throws {
        let requests = self.requests
        let peers = self.peers
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                if let ip = child.remoteAddress?.ipAddress { peers.withLockedValue { $0.append(ip) } }
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(ScriptHandler(script: script, requests: requests))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func shutdown() async {
        try? await channel.close()
    }
}

private final class ScriptHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let script: ServerScript
    let requests: NIOLockedValueBox<[[UInt8]]>
    var received: [UInt8] = []
    var started = false
    var closed = false

    init(script: ServerScript, requests: NIOLockedValueBox<[[UInt8]]>) {
        self.script = script
        self.requests = requests
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !started else { return }
        received += Array(buffer: unwrapInboundIn(data))
        guard let end = received.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
        let head = String(decoding: received[..<end.lowerBound], as: UTF8.self).lowercased()
        var length = 0
        for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
            length = Int(String(line.dropFirst(15).filter { $0 != " " })) ?? 0
        }
        guard received.count >= end.upperBound + length else { return }
        started = true
        requests.withLockedValue { $0.append(received) }
        run(script.steps[...], context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        closed = true
        context.close(promise: nil)
    }

    /// Writes `buffer` again each time the previous write completed, until the connection is gone.
    private func writeForever(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        guard !closed, context.channel.isActive else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(buffer)).whenSuccess {
            let (handler, context) = loopBound.value
            handler.writeForever(buffer, context: context)
        }
    }

    private func run(_ steps: ArraySlice<ScriptServerStep>, context: ChannelHandlerContext) {
        guard !closed, let step = steps.first else { return }
        let rest = steps.dropFirst()
        switch step {
        case .write(let bytes):
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
            run(rest, context: context)
        case .writeString(let text):
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text)), promise: nil)
            run(rest, context: context)
        case .endless(let chunk):
            writeForever(context.channel.allocator.buffer(bytes: chunk), context: context)
        case .trickle(let bytes, let interval):
            guard let first = bytes.first else { return run(rest, context: context) }
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: [first])), promise: nil)
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: interval) {
                let (handler, context) = loopBound.value
                handler.run([.trickle(Array(bytes.dropFirst()), interval: interval)] + rest, context: context)
            }
        case .pause(let amount):
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: amount) {
                let (handler, context) = loopBound.value
                handler.run(rest, context: context)
            }
        case .close:
            context.close(promise: nil)
        case .hang:
            break
        }
    }
}

typealias ScriptServerStep = ServerScript.Step

extension String {
    /// A body's length in bytes, for writing Content-Length headers in scripts.
    var utf8Count: Int { utf8.count }
}

/// Starts a server, runs `body`, shuts the server down whatever happens.
@discardableResult
func withMisbehavingServer<T>(_ script: ServerScript,
                              _ body: (MisbehavingServer) async throws -> T) async throws -> T {
    let server = try await MisbehavingServer(script: script)
    do {
        let result = try await body(server)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}
