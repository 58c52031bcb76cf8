// The network-namespace harness end to end: the async-upnp-client device runs inside a namespace the test creates,
// and its description is fetched over HTTP from the root namespace through the veth, with the client socket bound
// to the root-side veth address (nothing touches eth0).
import CWMPTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@Suite(.enabled(if: UPnPDMPeer.isAvailable, "\(UPnPDMPeer.unavailableReason ?? "")"))
struct PeerHarnessTests {
    @Test func deviceDescriptionIsFetchedAcrossTheVeth() async throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let peer = try UPnPDMPeer.device(in: namespace)
        defer { peer.stop() }

        let device = try #require(peer.devices.first)
        #expect(device.location.hasPrefix("http://\(namespace.namespaceAddress):"))
        let (status, body) = try await HTTPGet.fetch(device.location, from: namespace.hostAddress)
        #expect(status == .ok)
        #expect(body.contains("<deviceType>urn:schemas-upnp-org:device:ManageableDevice:2</deviceType>"))
        #expect(body.contains("<UDN>\(device.udn)</UDN>"))
        #expect(body.contains("urn:schemas-upnp-org:service:SoftwareManagement:2"))
    }

    @Test func controlCommandsReachTheDevice() async throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let peer = try UPnPDMPeer.device(in: namespace, arguments: ["--reboot-downtime", "0.2"])
        defer { peer.stop() }

        try peer.set("/UPnP/DM/DeviceInfo/FriendlyName", "renamed by the test")
        #expect(try peer.status()["config_version"] as? Int == 2)
        let before = try #require(peer.devices.first)
        let after = try peer.reboot()
        #expect(after.bootID == before.bootID + 1)
        #expect(after.udn == before.udn)
        let (status, _) = try await HTTPGet.fetch(after.location, from: namespace.hostAddress)
        #expect(status == .ok)

        let target = "urn:schemas-upnp-org:service:BasicManagement:2"
        let rebooted = try SSDPProbe.search(target, from: namespace.hostAddress)
        #expect(rebooted.map { $0.headers["BOOTID.UPNP.ORG"] } == ["2"])
        try peer.silence()
        #expect(try SSDPProbe.search(target, from: namespace.hostAddress).isEmpty)
        try peer.resume()
        #expect(try SSDPProbe.search(target, from: namespace.hostAddress).map(\.udn) == [after.udn])
    }

    @Test func fiftyDevicesAnswerOneSearchAcrossTheVeth() throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let peer = try UPnPDMPeer.device(in: namespace, count: 50)
        defer { peer.stop() }

        #expect(Set(peer.devices.map(\.udn)).count == 50)
        let replies = try SSDPProbe.search("urn:schemas-upnp-org:device:ManageableDevice:2",
                                           from: namespace.hostAddress, mx: 1)
        #expect(Set(replies.map(\.udn)) == Set(peer.devices.map(\.udn)))
        #expect(replies.allSatisfy { $0.headers["BOOTID.UPNP.ORG"] == "1" })
    }

    @Test(.enabled(if: NetworkNamespace.hasIPv6, "the kernel has no IPv6"))
    func ipv6DeviceAnswersOnFF02C() async throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let peer = try UPnPDMPeer.device(in: namespace, ipv6: true)
        defer { peer.stop() }

        let device = try #require(peer.devices.first)
        #expect(device.location.hasPrefix("http://[\(namespace.namespaceAddress6)]:"))
        let replies = try SSDPProbe.search6("urn:schemas-upnp-org:service:ConfigurationManagement:2",
                                            from: namespace.hostAddress6, interfaceIndex: namespace.hostInterfaceIndex)
        #expect(replies.map(\.udn) == [device.udn])
        #expect(replies.first?.headers["LOCATION"] == device.location)
    }

    @Test func sloppyAndHostilePeersAnswerAcrossTheVeth() async throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let sloppy = try UPnPDMPeer.sloppy(in: namespace, quirks: ["padded-values", "ssdp-no-space"])
        defer { sloppy.stop() }
        let hostile = try UPnPDMPeer.hostile(in: namespace, mode: "xxe")
        defer { hostile.stop() }

        let sloppyDevice = try #require(sloppy.devices.first)
        let replies = try SSDPProbe.search("urn:schemas-upnp-org:service:ConfigurationManagement:2",
                                           from: namespace.hostAddress, mx: 1)
        let sloppyReply = try #require(replies.first { $0.udn == sloppyDevice.udn })
        #expect(sloppyReply.text.contains("\r\nST:urn:schemas-upnp-org:service:ConfigurationManagement:2\r\n"))
        #expect(replies.contains { $0.udn == hostile.devices.first?.udn })
        let (status, _) = try await HTTPGet.fetch(sloppyDevice.location, from: namespace.hostAddress)
        #expect(status == .ok)
        try sloppy.command("quirks 0 none")

        let hostileDevice = try #require(hostile.devices.first)
        let (_, body) = try await HTTPGet.fetch(hostileDevice.location, from: namespace.hostAddress)
        #expect(body.contains("<!ENTITY xxe SYSTEM \"file:///etc/passwd\">"))
        try hostile.command("mode 0 deep-nesting soap")
    }

    @Test(.enabled(if: UPnPDMPeer.rygelUnavailableReason == nil, "\(UPnPDMPeer.rygelUnavailableReason ?? "")"))
    func rygelIsABasicManagementPeerInTheNamespace() async throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let rygel = try UPnPDMPeer.rygel(in: namespace)
        defer { rygel.stop() }

        let device = try #require(rygel.devices.first)
        let (status, body) = try await HTTPGet.fetch(device.location, from: namespace.hostAddress)
        #expect(status == .ok)
        #expect(body.contains("urn:schemas-upnp-org:service:BasicManagement:2"))
        let replies = try SSDPProbe.search("urn:schemas-upnp-org:service:BasicManagement:2",
                                           from: namespace.hostAddress, mx: 1)
        #expect(replies.contains { $0.udn == device.udn })
    }

    @Test func aDeadPeerGivesAnErrorNotACrash() throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let peer = try UPnPDMPeer.device(in: namespace)
        defer { peer.stop() }

        signalChild(peer.process.process, SIGKILL)
        peer.process.process.waitUntilExit()
        // A clear error naming the request and how the peer ended, not a SIGPIPE that ends the test process.
        let error = #expect(throws: NamespaceProcessEnded.self) { try peer.command("status 0", timeout: 5) }
        #expect(error?.termination == "killed by signal \(SIGKILL)")
        #expect(error?.request.hasPrefix("`status 0`") == true)
    }

    @Test func namespaceIsGoneAfterShutdown() throws {
        let namespace = try NetworkNamespace()
        let name = namespace.name
        let interface = namespace.hostInterface
        #expect(try NetworkNamespace.ip(["netns", "list"]).contains(name))
        namespace.shutdown()
        #expect(try !NetworkNamespace.ip(["netns", "list"]).contains(name))
        #expect(try !NetworkNamespace.ip(["-o", "link", "show"]).contains("\(interface)@"))
    }
}

/// A one-shot HTTP/1.1 GET on plain NIO, with the client socket bound to `localAddress`.
enum HTTPGet {
    static func fetch(_ url: String, from localAddress: String) async throws -> (HTTPResponseStatus, String) {
        let parts = try #require(URLComponents(string: url))
        let host = try #require(parts.host)
        let port = parts.port ?? 80
        let path = parts.path.isEmpty ? "/" : parts.path
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: localAddress, port: 0))
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
                    head.headers.add(name: "Host", value: "\(host):\(port)")
                    head.headers.add(name: "Connection", value: "close")
                    try channel.pipeline.syncOperations.addHandler(RequestOnConnect(head: head))
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return try await withThrowingTaskGroup(of: (HTTPResponseStatus, String).self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, _ in
                    var status = HTTPResponseStatus.imATeapot
                    var body = ByteBuffer()
                    for try await part in inbound {
                        switch part {
                        case .head(let response): status = response.status
                        case .body(var chunk): body.writeBuffer(&chunk)
                        case .end: return (status, String(buffer: body))
                        }
                    }
                    return (status, String(buffer: body))
                }
            }
            group.addTask {
                // A bound, not an assertion on time: generous for a loaded machine.
                try await Task.sleep(for: .seconds(30))
                throw CancellationError()
            }
            let result = try await group.next()!
            group.cancelAll()
            return result
        }
    }
}

/// Sends the request from the event loop as soon as the connection is up (head and end in one flush: a peer that
/// answers and closes once it has the headers must not find a second write). Not from the test's task: on a loaded
/// run the concurrency pool resumed that task over a minute after the connect, the peer had given up waiting for a
/// request and closed, and the write failed with "I/O on closed channel".
private final class RequestOnConnect: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    let head: HTTPRequestHead
    init(head: HTTPRequestHead) { self.head = head }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { send(context) }  // added after the connect: channelActive will not come
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context)
        context.fireChannelActive()
    }

    private func send(_ context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// GENA across the veth: the device in the namespace calls back to a listener on the root-namespace address.
@Suite(.enabled(if: UPnPDMPeer.isAvailable, "\(UPnPDMPeer.unavailableReason ?? "")"))
struct PeerHarnessEventTests {
    @Test func notifyReachesACallbackOnTheHostAddress() async throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let peer = try UPnPDMPeer.device(in: namespace)
        defer { peer.stop() }
        let device = try #require(peer.devices.first)

        let listener = try RawSocket.listen(on: namespace.hostAddress)
        defer { close(listener.fd) }
        let subscribe = "SUBSCRIBE /upnp/event/cms HTTP/1.1\r\nHOST: \(namespace.namespaceAddress):\(device.httpPort)\r\n"
            + "CALLBACK: <http://\(namespace.hostAddress):\(listener.port)/gena>\r\nNT: upnp:event\r\n"
            + "TIMEOUT: Second-60\r\nConnection: close\r\n\r\n"
        let answer = try RawSocket.exchange(subscribe, host: namespace.namespaceAddress, port: device.httpPort,
                                            from: namespace.hostAddress)
        #expect(answer.hasPrefix("HTTP/1.1 200"))
        #expect(answer.contains("SID: uuid:"))
        #expect(answer.contains("TIMEOUT: Second-60"))

        let initial = try #require(try RawSocket.acceptOneRequest(listener.fd, timeout: 10))
        #expect(initial.hasPrefix("NOTIFY /gena HTTP/1.1"))
        #expect(initial.contains("SEQ: 0"))
        try peer.set("/BBF/Time/NTPServer1", "ntp.changed")
        let change = try #require(try RawSocket.acceptOneRequest(listener.fd, timeout: 10))
        #expect(change.contains("SEQ: 1"))
        #expect(change.contains("<ConfigurationUpdate>2,"))
    }
}

/// Blocking BSD sockets with bounded waits, bound to a given local address.
enum RawSocket {
    static func address(_ ip: String, _ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(ip)
        return address
    }

    static func bind(_ fd: Int32, _ ip: String, _ port: Int) throws {
        var local = address(ip, port)
        let result = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw NetworkNamespaceUnavailable("bind \(ip): errno \(errno)") }
    }

    static func listen(on ip: String) throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try bind(fd, ip, 0)
        guard Glibc.listen(fd, 8) == 0 else { throw NetworkNamespaceUnavailable("listen: errno \(errno)") }
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: bound.sin_port)))
    }

    static func setTimeout(_ fd: Int32, _ seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    static func readAll(_ fd: Int32, until stop: (String) -> Bool = { _ in false }) -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            data += buffer[0..<count]
            if stop(String(decoding: data, as: UTF8.self)) { break }
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Sends `request` from `local` and reads the answer until the peer closes (10 s at most per read).
    static func exchange(_ request: String, host: String, port: Int, from local: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        try bind(fd, local, 0)
        setTimeout(fd, 10)
        var remote = address(host, port)
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw NetworkNamespaceUnavailable("connect \(host):\(port): errno \(errno)") }
        _ = Array(request.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        return readAll(fd)
    }

    /// Accepts one connection (waiting at most `timeout` seconds), reads one request with its body, answers 200.
    static func acceptOneRequest(_ listener: Int32, timeout: Int32) throws -> String? {
        var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeout * 1000) == 1 else { return nil }
        let fd = accept(listener, nil, nil)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        setTimeout(fd, 10)
        let request = readAll(fd) { text in
            guard let end = text.range(of: "\r\n\r\n") else { return false }
            let head = text[..<end.lowerBound].lowercased()
            let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            return text.utf8.count - text[..<end.upperBound].utf8.count >= length
        }
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        _ = Array(ok.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        return request
    }
}
