import Foundation  // Process (gzip, openssl): tests only; Sources never import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
@testable import CWMPClient

/// An in-process HTTP/1.1 server for wire-exact transport tests: every request is recorded with the number of the
/// TCP connection it came on, and a closure chooses each answer.
final class TestHTTPServer: Sendable {
    struct Request: Sendable {
        var connection: Int
        var uri: String
        var method: HTTPMethod
        var headers: HTTPHeaders
        var body: [UInt8]

        func header(_ name: String) -> String? { headers.first(name: name) }
        var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    struct Reply: Sendable {
        var status: HTTPResponseStatus
        var headers: [(String, String)] = []
        var body: [UInt8] = []
        /// Close the connection after this answer.
        var close = false
        /// Never answer (a hung ACS).
        var hang = false
        /// Send the head (with the whole body's Content-Length) and half the body, then nothing more: an ACS that
        /// stalls in the middle of its answer.
        var stallInBody = false

        init(_ status: HTTPResponseStatus, headers: [(String, String)] = [], body: [UInt8] = [], close: Bool = false,
             hang: Bool = false, stallInBody: Bool = false) {
            self.status = status
            self.headers = headers
            self.body = body
            self.close = close
            self.hang = hang
            self.stallInBody = stallInBody
        }

        static func ok(_ text: String = "", headers: [(String, String)] = []) -> Reply {
            Reply(.ok, headers: headers, body: Array(text.utf8))
        }
    }

    typealias Handler = @Sendable (Request) -> Reply

    /// What the connections share; a class of its own so the bootstrap can capture it before `port` is known.
    fileprivate final class Core: Sendable {
        let state = Mutex((requests: [Request](), connections: 0, closed: 0))
        let handler: Handler
        init(handler: @escaping Handler) { self.handler = handler }

        func received(_ request: Request) -> Reply {
            state.withLock { $0.requests.append(request) }
            return handler(request)
        }
    }

    private let core: Core
    private let channel: any Channel
    let port: Int

    var requests: [Request] { core.state.withLock { $0.requests } }
    /// TCP connections accepted so far.
    var connections: Int { core.state.withLock { $0.connections } }
    /// TCP connections the client (or the server) closed so far.
    var closedConnections: Int { core.state.withLock { $0.closed } }

    init(tls: NIOSSLContext? = nil, handler: @escaping Handler) async throws {
        let core = Core(handler: handler)
        self.core = core
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let number = core.state.withLock { state in
                        state.connections += 1
                        return state.connections
                    }
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(Connection(core: core, number: number))
                }
            }
        channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    var url: String { "http://127.0.0.1:\(port)/acs" }

    func stop() async {
        try? await channel.close()
    }

    private final class Connection: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let core: Core
        let number: Int
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(core: Core, number: Int) {
            self.core = core
            self.number = number
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let head else { return }
                let reply = core.received(Request(connection: number, uri: head.uri, method: head.method,
                                                    headers: head.headers, body: body))
                if reply.hang { return }
                var headers = HTTPHeaders(reply.headers)
                if reply.status != .noContent { headers.replaceOrAdd(name: "Content-Length", value: "\(reply.body.count)") }
                if reply.close { headers.replaceOrAdd(name: "Connection", value: "close") }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: reply.status,
                                                                     headers: headers))), promise: nil)
                if reply.stallInBody {
                    let half = reply.body.prefix(reply.body.count / 2)
                    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: half)))), promise: nil)
                    return
                }
                if !reply.body.isEmpty {
                    context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: reply.body)))), promise: nil)
                }
                let close = reply.close
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                    if close { loopBound.value.close(promise: nil) }
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            core.state.withLock { $0.closed += 1 }
            context.fireChannelInactive()
        }
    }
}

/// Runs a command-line tool to completion (gzip, openssl).
enum Tool {
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], input: [UInt8]? = nil) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        // A write to a tool that has already died must fail with EPIPE, not end the test process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let inputPipe = Pipe()
        if input != nil { process.standardInput = inputPipe }
        try process.run()
        if let input {
            inputPipe.fileHandleForWriting.write(Data(input))
            try inputPipe.fileHandleForWriting.close()
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CWMPError(.transportFailed, "\(executable) \(arguments.first ?? "") exited \(process.terminationStatus)")
        }
        return Array(data)
    }

    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] { try run("/bin/gzip", ["-c"], input: bytes) }
}

/// A minimal CWMP envelope pair for the wire tests.
enum TransportSamples {
    static func inform(id: String = "inf-1") throws -> [UInt8] {
        let inform = Inform(
            deviceId: DeviceId(manufacturer: "Example", oui: "00D09E", productClass: "Proxier", serialNumber: "SN0001"),
            events: [EventStruct(eventCode: "1 BOOT")], maxEnvelopes: 1,
            currentTime: CWMPDateTime(rawValue: "2026-11-23T14:33:23Z"), retryCount: 0,
            parameterList: [ParameterValueStruct(name: "Device.DeviceInfo.SoftwareVersion", value: "1.0", type: .string)])
        return try CWMPEncoder().encode(CWMPEnvelope(namespace: .cwmp12, header: CWMPHeader(id: id),
                                                     message: .inform(inform)))
    }
}
