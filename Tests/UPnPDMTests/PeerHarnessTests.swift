// The network-namespace harness end to end: the async-upnp-client device runs inside a namespace the test creates,
// and its description is fetched over HTTP from the root namespace through the veth, with the client socket bound
// to the root-side veth address (nothing touches eth0).
import CWMPTestSupport
import Foundation
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
            .connectTimeout(.seconds(5))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return try await withThrowingTaskGroup(of: (HTTPResponseStatus, String).self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
                    head.headers.add(name: "Host", value: "\(host):\(port)")
                    head.headers.add(name: "Connection", value: "close")
                    try await outbound.write(.head(head))
                    try await outbound.write(.end(nil))
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
                try await Task.sleep(for: .seconds(10))
                throw CancellationError()
            }
            let result = try await group.next()!
            group.cancelAll()
            return result
        }
    }
}
