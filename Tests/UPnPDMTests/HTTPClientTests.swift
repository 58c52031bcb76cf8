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
            #expect(request.contains("Connection: keep-alive\r\n"))
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

/// Descriptions fetched over loopback from servers that are sloppy or hostile.
@Suite struct DescriptionFetchTests {
    let client = UPnPHTTPClient(configuration: .init(connectTimeout: .seconds(2), timeout: .seconds(2)))

    static let description = """
        <?xml version="1.0"?>
        <root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
        <device><deviceType>urn:schemas-upnp-org:device:ManageableDevice:2</deviceType><friendlyName> x </friendlyName>
        <manufacturer>m</manufacturer><modelName>n</modelName><UDN>uuid:0000-1</UDN><serviceList><service>
        <serviceType>urn:schemas-upnp-org:service:BasicManagement:2</serviceType><serviceId>urn:upnp-org:serviceId:BMS</serviceId>
        <SCPDURL>bms.xml</SCPDURL><controlURL>/bms/control</controlURL><eventSubURL>/bms/event</eventSubURL></service>
        </serviceList></device></root>
        """

    @Test func gwsimStyleWrongContentLengthWithoutFinalCRLF() async throws {
        // The description claims more bytes than it sends and the server just closes.
        let script = ServerScript([.writeString("HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 1594\r\nCONTENT-TYPE: text/xml\r\n\r\n"
                                                + Self.description), .close])
        try await withMisbehavingServer(script) { server in
            let description = try await client.fetchDeviceDescription(location: server.url("/gw/desc.xml"))
            #expect(description.device.udn == "uuid:0000-1")
            #expect(description.device.friendlyName == "x")
            #expect(description.device.services.first?.scpdURL == server.url("/gw/bms.xml"))
            #expect(description.device.services.first?.controlURL == server.url("/bms/control"))
        }
    }

    @Test func notFoundIsAnUnexpectedStatus() async throws {
        try await withMisbehavingServer(.respond("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")) { server in
            await #expect(throws: UPnPDMError(.unexpectedHTTPStatus, "")) {
                try await client.fetchDeviceDescription(location: server.url("/missing.xml"))
            }
        }
    }

    @Test func hostileDescriptionIsRefused() async throws {
        try await withMisbehavingServer(.respond("HTTP/1.0 200 OK\r\n\r\n" + HostileXMLTests.billionLaughs)) { server in
            await #expect(throws: UPnPDMError(.forbiddenDocumentType, "")) {
                try await client.fetchDeviceDescription(location: server.url("/d.xml"))
            }
        }
    }

    @Test func deeplyNestedSCPDIsRefused() async throws {
        // 50,000 levels (350 KB, under the SCPD size cap, so the depth check is what stops it).
        let body = String(repeating: "<a>", count: 50_000) + String(repeating: "</a>", count: 50_000)
        let script = ServerScript.respond("HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8Count)\r\n\r\n" + body)
        try await withMisbehavingServer(script) { server in
            await #expect(throws: UPnPDMError(.documentTooDeep, "")) {
                try await client.fetchServiceDescription(url: server.url("/scpd.xml"))
            }
        }
        // 100,000 levels are over the size cap: refused before libxml2 reads them.
        let huge = String(repeating: "<a>", count: 100_000) + String(repeating: "</a>", count: 100_000)
        try await withMisbehavingServer(.respond("HTTP/1.0 200 OK\r\n\r\n" + huge)) { server in
            await #expect(throws: UPnPDMError(.documentTooLarge, "")) {
                try await client.fetchServiceDescription(url: server.url("/scpd.xml"))
            }
        }
    }
}

extension HTTPClientTests {
    @Test func cancellationEndsTheExchange() async throws {
        let slow = UPnPHTTPClient(configuration: .init(timeout: .seconds(60)))
        try await withMisbehavingServer(ServerScript([.hang])) { server in
            let task = Task { () async throws(UPnPDMError) -> UPnPHTTPResponse in
                try await slow.execute(UPnPHTTPRequest(method: .GET, url: server.url()))
            }
            // Wait until the request reached the server, then cancel; the 60 s deadline must not be what ends it.
            while server.receivedRequests.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            task.cancel()
            let result = await task.result
            guard case .failure(let failure) = result, let error = failure as? UPnPDMError else {
                Issue.record("expected a UPnPDMError, got \(result)")
                return
            }
            #expect(error.code == .deadlineExceeded)
            #expect(error.underlying is CancellationError)
        }
    }
}

@Suite struct HTTPTargetTests {
    @Test func partsOfAURL() throws {
        let target = try UPnPHTTPTarget(url: " http://10.77.0.2:49152/ctl/CMS?x=1 ")
        #expect(target.host == "10.77.0.2")
        #expect(target.port == 49152)
        #expect(target.requestTarget == "/ctl/CMS?x=1")
        #expect(target.hostHeader == "10.77.0.2:49152")
    }

    @Test func defaultPortAndPath() throws {
        let target = try UPnPHTTPTarget(url: "http://printer.lan")
        #expect(target.port == 80)
        #expect(target.requestTarget == "/")
        #expect(target.hostHeader == "printer.lan:80")
    }

    @Test func ipv6LiteralGetsBracketsInTheHostHeader() throws {
        let target = try UPnPHTTPTarget(url: "http://[fe80::1%25eth1]:8080/desc.xml")
        #expect(target.port == 8080)
        #expect(target.requestTarget == "/desc.xml")
        #expect(target.hostHeader.hasPrefix("[fe80::1"))
        #expect(target.hostHeader.hasSuffix("]:8080"))
    }
}
