import CWMPTestSupport
import Crypto
import Foundation  // Process, FileManager: tests only; Sources never import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
@testable import CWMPClient

/// Peers that are not ours. Each test is skipped, with the reason, when its tool is not installed
/// (`scripts/install-deps --tests` installs them).
enum InteropTools {
    static func find(_ name: String, in directories: [String]? = nil) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let candidates = directories ?? path.split(separator: ":").map(String.init)
        for directory in candidates + ["/usr/sbin", "/usr/bin"] {
            let file = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: file) { return file }
        }
        return nil
    }

    static let curl = find("curl")
    static let python3 = find("python3")
    static let lighttpd = find("lighttpd")

    /// Runs a program to completion and returns its standard output.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// The real NIO Connection Request listener on loopback, driven by curl and Python's urllib.
@Suite(.serialized) struct ConnectionRequestInteropTests {
    func withServer(algorithms: [DigestAlgorithm],
                    _ body: (_ url: String, _ agent: TestAgent) throws -> Void) async throws {
        let server = ConnectionRequestServer(
            configuration: .init(host: "127.0.0.1", port: 0, digestAlgorithms: algorithms),
            logger: Logger(label: "cr-interop"))
        let agent = TestAgent(username: "acs", password: "cr secret")
        let path = server.register(agent: agent)
        let address = try await server.start()
        let url = ConnectionRequestServer.connectionRequestURL(host: "127.0.0.1", port: address.port ?? 0, path: path)
        do {
            try body(url, agent)
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
    }

    func curlStatus(_ url: String, password: String) throws -> String {
        try InteropTools.run(InteropTools.curl!, ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--digest",
                                                  "-u", "acs:\(password)", "--max-time", "10", url]).output
    }

    @Test(.enabled(if: InteropTools.curl != nil, "curl is not installed: skipping curl --digest interop"),
          arguments: [DigestAlgorithm.md5, .sha256])
    func curlDigest(algorithm: DigestAlgorithm) async throws {
        try await withServer(algorithms: [algorithm]) { url, agent in
            let good = try curlStatus(url, password: "cr secret")
            #expect(good == "200")
            #expect(agent.received == 1)
            let bad = try curlStatus(url, password: "wrong")
            #expect(bad == "401")
            #expect(agent.received == 1)
            let unknown = try curlStatus(url + "x", password: "cr secret")
            #expect(unknown == "404")
        }
    }

    @Test(.enabled(if: InteropTools.python3 != nil, "python3 is not installed: skipping urllib interop"))
    func pythonURLLibDigestMD5() async throws {
        let script = """
            import sys, urllib.request, urllib.error
            url, user, password = sys.argv[1:4]
            manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            manager.add_password(None, url, user, password)
            opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(manager))
            try:
                print(opener.open(url, timeout=10).status)
            except urllib.error.HTTPError as error:
                print(error.code)
            """
        try await withServer(algorithms: [.md5]) { url, agent in
            let good = try InteropTools.run(InteropTools.python3!, ["-c", script, url, "acs", "cr secret"])
            #expect(good.output.trimmingCharacters(in: .whitespacesAndNewlines) == "200")
            #expect(agent.received == 1)
            let bad = try InteropTools.run(InteropTools.python3!, ["-c", script, url, "acs", "nope"])
            #expect(bad.output.trimmingCharacters(in: .whitespacesAndNewlines) == "401")
            #expect(agent.received == 1)
        }
    }
}

/// Our Digest client against lighttpd's mod_auth (htdigest backend), MD5 and SHA-256.
@Suite(.serialized) struct DigestClientInteropTests {
    /// A lighttpd on a free loopback port, with one MD5 and one SHA-256 protected folder.
    final class Lighttpd {
        let directory: URL
        let port: Int
        let process = Process()

        init(executable: String) async throws {
            directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("digest-cr-lighttpd-\(UInt64.random(in: 0...UInt64.max))")
            for folder in ["www/md5", "www/sha"] {
                try FileManager.default.createDirectory(at: directory.appendingPathComponent(folder),
                                                        withIntermediateDirectories: true)
            }
            try "md5 content\n".write(to: directory.appendingPathComponent("www/md5/index.html"), atomically: true,
                                      encoding: .utf8)
            try "sha content\n".write(to: directory.appendingPathComponent("www/sha/index.html"), atomically: true,
                                      encoding: .utf8)
            // htdigest lines are user:realm:H(user:realm:password); lighttpd tells MD5 and SHA-256 apart by length.
            let md5 = DigestAlgorithm.md5.hexHash("cpe:md5-realm:pass word")
            let sha = DigestAlgorithm.sha256.hexHash("cpe:sha-realm:pass word")
            try "cpe:md5-realm:\(md5)\ncpe:sha-realm:\(sha)\n"
                .write(to: directory.appendingPathComponent("htdigest"), atomically: true, encoding: .utf8)
            port = try await Self.freePort()
            let root = directory.path
            let config = """
                server.document-root = "\(root)/www"
                server.bind = "127.0.0.1"
                server.port = \(port)
                server.errorlog = "\(root)/error.log"
                server.modules = ("mod_auth", "mod_authn_file")
                auth.backend = "htdigest"
                auth.backend.htdigest.userfile = "\(root)/htdigest"
                auth.require = (
                    "/md5/" => ("method" => "digest", "realm" => "md5-realm", "require" => "valid-user",
                                "algorithm" => "MD5"),
                    "/sha/" => ("method" => "digest", "realm" => "sha-realm", "require" => "valid-user",
                                "algorithm" => "SHA-256"),
                )
                """
            try config.write(to: directory.appendingPathComponent("lighttpd.conf"), atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["-D", "-f", directory.appendingPathComponent("lighttpd.conf").path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Wait until it accepts connections (a few hundred ms at most).
            for _ in 0..<100 {
                if (try? await RawHTTPClient.send(port: port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                    != nil { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            stop()
            throw CWMPError(.invalidArgument, "lighttpd did not start on port \(port)")
        }

        func stop() {
            if process.isRunning {
                // SIGKILL, not terminate(): the child inherits the test runner's blocked signal mask, SIGTERM
                // included, and would never exit.
                killChild(process)
            }
            try? FileManager.default.removeItem(at: directory)
        }

        /// Binds port 0 on loopback, reads the port, and lets it go for lighttpd.
        static func freePort() async throws -> Int {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0).get()
            let port = channel.localAddress?.port ?? 0
            try await channel.close()
            return port
        }
    }

    func get(_ port: Int, _ uri: String, authorization: String?) async throws -> RawHTTPResponse {
        var request = "GET \(uri) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let authorization { request += "Authorization: \(authorization)\r\n" }
        let text = try await RawHTTPClient.send(port: port, request + "\r\n")
        return try #require(RawHTTPResponse.parse(text)?.0)
    }

    @Test(.enabled(if: InteropTools.lighttpd != nil,
                   "lighttpd is not installed (apt-get install lighttpd): skipping Digest client interop"),
          arguments: [("/md5/index.html", DigestAlgorithm.md5, "md5 content"),
                      ("/sha/index.html", DigestAlgorithm.sha256, "sha content")])
    func digestClientAgainstLighttpd(uri: String, algorithm: DigestAlgorithm, content: String) async throws {
        let lighttpd = try await Lighttpd(executable: InteropTools.lighttpd!)
        defer { lighttpd.stop() }

        let bare = try await get(lighttpd.port, uri, authorization: nil)
        #expect(bare.status == 401)
        var client = HTTPClientAuthenticator(credentials: .init(username: "cpe", password: "pass word"))
        #expect(client.received401(wwwAuthenticate: bare.values("WWW-Authenticate")) == .retry)
        #expect(client.digestChallenge?.algorithm == algorithm)

        let first = try await get(lighttpd.port, uri, authorization: client.authorization(method: "GET", uri: uri))
        #expect(first.status == 200)
        #expect(first.body == content + "\n")
        // The same nonce with nc=2: lighttpd checks the whole digest again.
        let second = try await get(lighttpd.port, uri, authorization: client.authorization(method: "GET", uri: uri))
        #expect(second.status == 200)

        var wrong = HTTPClientAuthenticator(credentials: .init(username: "cpe", password: "wrong"))
        #expect(wrong.received401(wwwAuthenticate: bare.values("WWW-Authenticate")) == .retry)
        let refused = try await get(lighttpd.port, uri, authorization: wrong.authorization(method: "GET", uri: uri))
        #expect(refused.status == 401)
        #expect(wrong.received401(wwwAuthenticate: refused.values("WWW-Authenticate")) == .rejected)
    }
}

/// A minimal HTTP/1.1 client: writes the request bytes and reads until the server closes.
enum RawHTTPClient {
    static func send(port: Int, _ request: String) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var text = ""
            for try await buffer in inbound { text += String(buffer: buffer) }
            return text
        }
    }

    /// Like `send`, but the bytes are written by the channel's own event loop the moment the connection is up,
    /// not after the test task is scheduled again: a server timer counted from the accept cannot win that race
    /// on a loaded machine (it did: "I/O on closed channel" from the write).
    static func sendOnConnect(port: Int, _ request: String) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(WriteOnActiveHandler(bytes: ByteBuffer(string: request)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, _ in
            var text = ""
            for try await buffer in inbound { text += String(buffer: buffer) }
            return text
        }
    }
}

/// Writes fixed bytes when the connection becomes active, on the event loop.
final class WriteOnActiveHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let bytes: ByteBuffer

    init(bytes: ByteBuffer) { self.bytes = bytes }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
        context.fireChannelActive()
    }
}

/// The idle timer on a real socket: a client that sends half a request and then nothing is dropped.
@Suite struct ConnectionRequestTimeoutTests {
    @Test func slowClientIsDisconnected() async throws {
        let server = ConnectionRequestServer(
            // Only the idle timer can close this connection within the test's bounds (the request-read timer is
            // far beyond them), so a close proves that the idle timer fired after the half request was read.
            configuration: .init(host: "127.0.0.1", port: 0, idleTimeout: .seconds(2), requestReadTimeout: .minutes(10)),
            logger: Logger(label: "cr-timeout"))
        let path = server.register(agent: TestAgent())
        let address = try await server.start()
        let port = try #require(address.port)
        let reply = try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask { try await RawHTTPClient.sendOnConnect(port: port, "GET \(path) HTTP/1.1\r\nHost: x\r\nX-Slow: ") }
            group.addTask {
                try await Task.sleep(for: .seconds(60))  // guards against a hang only
                return nil  // the server never hung up
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        try await server.stop()
        #expect(reply == "", "the server should close without answering")
    }
}
