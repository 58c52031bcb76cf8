import Foundation  // Process (gzip, openssl): tests only; Sources never import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import Logging
import Testing
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

        init(_ status: HTTPResponseStatus, headers: [(String, String)] = [], body: [UInt8] = [], close: Bool = false,
             hang: Bool = false) {
            self.status = status
            self.headers = headers
            self.body = body
            self.close = close
            self.hang = hang
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
    /// "https" when the server speaks TLS.
    let scheme: String

    var requests: [Request] { core.state.withLock { $0.requests } }
    /// TCP connections accepted so far.
    var connections: Int { core.state.withLock { $0.connections } }
    /// TCP connections the client (or the server) closed so far.
    var closedConnections: Int { core.state.withLock { $0.closed } }

    init(tls: NIOSSLContext? = nil, handler: @escaping Handler) async throws {
        let core = Core(handler: handler)
        self.core = core
        self.scheme = tls == nil ? "http" : "https"
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

    var url: String { url("/acs") }
    func url(_ path: String) -> String { "\(scheme)://127.0.0.1:\(port)\(path)" }

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

/// One throw-away PKI for the whole test process (ACSTransportTLSTests.PKI), loaded into memory; its files are
/// removed as soon as they are read.
struct SharedTestPKI: Sendable {
    let caCertificates: [NIOSSLCertificate]
    let serverContext: NIOSSLContext

    static let shared: Result<SharedTestPKI, any Error> = Result {
        let pki = try ACSTransportTLSTests.PKI()
        defer { pki.remove() }
        return SharedTestPKI(caCertificates: try NIOSSLCertificate.fromPEMFile(pki.caBundle),
                             serverContext: try pki.serverContext())
    }
}

/// The transports the wire tests run on: the session rules (cookies, 401s, redirects and the credential reset on
/// a new origin, Retry-After, gzip) must hold on each, because the daemon uses AHC for http and NIO for https.
enum WireTransport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// ACSHTTPTransport's http path: one AsyncHTTPClient per session.
    case asyncHTTPClient
    /// NIOACSTransport over plain http (the agent tests' transport).
    case nio
    /// NIOACSTransport over https, trusting the test CA: ACSHTTPTransport's https path.
    case nioTLS

    static let plainHTTP: [WireTransport] = [.asyncHTTPClient, .nio]

    var testDescription: String { rawValue }

    struct Options: Sendable {
        var connectTimeout: Duration = .seconds(10)
        var maximumResponseBytes = 4 << 20
        var allowsBasicOverPlainHTTP = false
        var acceptsCompressedResponses = true
    }

    func transport(_ options: Options = Options(), logger: Logger = Logger(label: "test")) throws -> any ACSTransport {
        switch self {
        case .asyncHTTPClient:
            return try ACSHTTPTransport(
                configuration: .init(connectTimeout: options.connectTimeout,
                                     maximumResponseBytes: options.maximumResponseBytes,
                                     allowsBasicOverPlainHTTP: options.allowsBasicOverPlainHTTP,
                                     acceptsCompressedResponses: options.acceptsCompressedResponses),
                logger: logger)
        case .nio, .nioTLS:
            var tls: TLSConfiguration?
            if self == .nioTLS {
                tls = TLSConfiguration.makeClientConfiguration()
                tls?.certificateVerification = .fullVerification
                tls?.trustRoots = .certificates(try SharedTestPKI.shared.get().caCertificates)
            }
            return NIOACSTransport(
                configuration: .init(connectTimeout: options.connectTimeout,
                                     maximumResponseBytes: options.maximumResponseBytes,
                                     allowsBasicOverPlainHTTP: options.allowsBasicOverPlainHTTP,
                                     acceptsCompressedResponses: options.acceptsCompressedResponses),
                tlsConfiguration: tls, logger: logger)
        }
    }

    /// A test server this transport reaches: TLS for `.nioTLS`.
    func server(_ handler: @escaping TestHTTPServer.Handler) async throws -> TestHTTPServer {
        try await TestHTTPServer(tls: self == .nioTLS ? try SharedTestPKI.shared.get().serverContext : nil,
                                 handler: handler)
    }
}
