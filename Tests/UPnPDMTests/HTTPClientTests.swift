import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import UPnPDM

/// `UPnPHTTPClient` over real loopback sockets against in-test servers that misbehave.
@Suite struct HTTPClientTests {
    let client = UPnPHTTPClient(configuration: .init(connectTimeout: .seconds(2), timeout: .seconds(2),
                                                     limits: .init(maximumBodyBytes: 256 * 1024)))

    func expectError(_ code: UPnPDMError.ErrorCode, _ body: () async throws(UPnPDMError) -> Void,
                     sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            try await body()
            Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func getWithContentLength() async throws {
        try await withMisbehavingServer(.respond("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n<root/>")) { server in
            let response = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url("/desc.xml?x=1")))
            #expect(response.statusCode == 200)
            #expect(response.body == Array("<root/>".utf8))
            let request = String(decoding: try #require(server.receivedRequests.first), as: UTF8.self)
            #expect(request.hasPrefix("GET /desc.xml?x=1 HTTP/1.1\r\n"))
            #expect(request.contains("Host: 127.0.0.1:\(server.port)\r\n"))
            #expect(request.contains("Connection: close\r\n"))
            #expect(!request.lowercased().contains("transfer-encoding"))
        }
    }

    @Test func customMethodWithHeaders() async throws {
        try await withMisbehavingServer(.respond("HTTP/1.1 200 OK\r\nSID: uuid:1\r\nTIMEOUT: Second-300\r\nContent-Length: 0\r\n\r\n")) { server in
            var headers = HTTPHeaders()
            headers.add(name: "CALLBACK", value: "<http://127.0.0.1:1/cb>")
            headers.add(name: "NT", value: "upnp:event")
            let response = try await client.execute(UPnPHTTPRequest(method: .SUBSCRIBE, url: server.url("/evt"),
                                                                     headers: headers))
            #expect(response.headers.first(name: "sid") == "uuid:1")
            let request = String(decoding: try #require(server.receivedRequests.first), as: UTF8.self)
            #expect(request.hasPrefix("SUBSCRIBE /evt HTTP/1.1\r\n"))
            #expect(request.contains("CALLBACK: <http://127.0.0.1:1/cb>\r\n"))
            #expect(!request.lowercased().contains("content-length"))
            #expect(!request.lowercased().contains("transfer-encoding"))
        }
    }

    @Test func shortBodyThenCloseKeepsWhatArrived() async throws {
        let script = ServerScript([.writeString("HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 1594\r\n\r\n<root>short</root>"), .close])
        try await withMisbehavingServer(script) { server in
            let response = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            #expect(response.body == Array("<root>short</root>".utf8))
            #expect(response.anomalies == [.bodyShorterThanContentLength(expected: 1594, received: 18)])
        }
    }

    @Test func http10CloseDelimitedInPieces() async throws {
        let script = ServerScript([.writeString("HTTP/1.0 200 OK\r\n\r\n<a>"), .pause(.milliseconds(20)),
                                   .writeString("</a>"), .close])
        try await withMisbehavingServer(script) { server in
            let response = try await client.execute(UPnPHTTPRequest(method: .POST, url: server.url(), body: [1, 2]))
            #expect(response.body == Array("<a></a>".utf8))
            let request = try #require(server.receivedRequests.first)
            #expect(String(decoding: request, as: UTF8.self).contains("Content-Length: 2\r\n"))
            #expect(Array(request.suffix(2)) == [1, 2])
        }
    }

    @Test func endlessBodyHitsTheCap() async throws {
        let script = ServerScript([.writeString("HTTP/1.0 200 OK\r\n\r\n"), .endless(Array(repeating: 0x41, count: 8192))])
        try await withMisbehavingServer(script) { server in
            await expectError(.responseTooLarge) { () async throws(UPnPDMError) in
                _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            }
        }
    }

    @Test func hugeAnnouncedBodyIsRefusedAtTheHead() async throws {
        // 64 MiB announced; the server would send it but the client stops at the head.
        let script = ServerScript([.writeString("HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n"),
                                   .endless(Array(repeating: 0x41, count: 65536))])
        try await withMisbehavingServer(script) { server in
            await expectError(.responseTooLarge) { () async throws(UPnPDMError) in
                _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            }
        }
    }

    @Test func slowlorisHitsTheDeadline() async throws {
        let script = ServerScript([.trickle(Array("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n".utf8),
                                            interval: .milliseconds(100))])
        try await withMisbehavingServer(script) { server in
            await expectError(.deadlineExceeded) { () async throws(UPnPDMError) in
                _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()), timeout: .milliseconds(500))
            }
        }
    }

    @Test func silentServerHitsTheDeadline() async throws {
        try await withMisbehavingServer(ServerScript([.hang])) { server in
            await expectError(.deadlineExceeded) { () async throws(UPnPDMError) in
                _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()), timeout: .milliseconds(300))
            }
        }
    }

    @Test func closeWithoutResponse() async throws {
        try await withMisbehavingServer(ServerScript([.close])) { server in
            await expectError(.connectionClosed) { () async throws(UPnPDMError) in
                _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            }
        }
    }

    @Test func refusedConnection() async throws {
        // A port that was just bound and released: nothing listens there.
        let server = try await MisbehavingServer(script: ServerScript([.close]))
        let url = server.url()
        await server.shutdown()
        await expectError(.connectFailed) { () async throws(UPnPDMError) in
            _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: url))
        }
    }

    @Test(arguments: ["https://127.0.0.1/x", "/relative", "http://", "not a url", "http://127.0.0.1:70000/"])
    func invalidURLs(_ url: String) async {
        await expectError(.invalidURL) { () async throws(UPnPDMError) in
            _ = try await client.execute(UPnPHTTPRequest(method: .GET, url: url))
        }
    }

    @Test func localAddressIsPinned() async throws {
        var configuration = client.configuration
        configuration.localAddress = try SocketAddress(ipAddress: "127.0.0.2", port: 0)
        let pinned = UPnPHTTPClient(configuration: configuration)
        try await withMisbehavingServer(.respond("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")) { server in
            _ = try await pinned.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            #expect(server.peerAddresses == ["127.0.0.2"])
        }
    }

    @Test func unavailableLocalAddressIsAConnectFailure() async throws {
        var configuration = client.configuration
        configuration.localAddress = try SocketAddress(ipAddress: "203.0.113.7", port: 0)  // TEST-NET-3, on no interface here
        let pinned = UPnPHTTPClient(configuration: configuration)
        try await withMisbehavingServer(.respond("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")) { server in
            await expectError(.connectFailed) { () async throws(UPnPDMError) in
                _ = try await pinned.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            }
        }
    }
}
