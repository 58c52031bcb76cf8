// A small SSDP responder for the live tests: it plays N root devices with one ConfigurationManagement:2 service
// each, answers M-SEARCHes after a random delay within MX (as UDA asks of devices), and sends NOTIFYs on request.
// Its sockets are pinned like the proxier's: the listener joins 239.255.255.250 on the given address only, the
// sender has IP_MULTICAST_IF = that address (on the test machines 127.0.0.1: nothing reaches eth0).
//
// It is deliberately not the project's UPnP DM peer (async-upnp-client, Tests/Peers/upnp-dm): these tests need
// only SSDP, and precise control of BOOTID, max-age and byebye without a description server.
#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import UPnPDM

enum SSDPTestDevicesError: Error {
    case noAddress
}

final class SSDPTestDevices: Sendable {
    struct State {
        var bootID: UInt32 = 1
        var maxAge = 1800
        var answering = true
        /// ST and MX of every M-SEARCH received, and whether it was UDA-conformant (MAN, HOST).
        var searches: [(target: String, mx: String, conformant: Bool)] = []
        /// When the first M-SEARCH arrived: where "discovery within MX + 1 s" is measured from.
        var firstSearch: ContinuousClock.Instant?
        /// Devices whose last NOTIFY was a byebye: like real devices they answer no M-SEARCH until their next alive.
        var departed: Set<String> = []
        /// Byebyes sent per device. A search response scheduled before a byebye is dropped if it is not sent by
        /// then: otherwise its random delay (up to MX) could put it after the byebye on a loaded machine, and the
        /// control point would rightly find the device again (the race behind byebyeRemovesTheDevice's flakiness).
        var byebyes: [String: Int] = [:]
    }

    let uuids: [String]
    /// The address devices are reached at (LOCATION), and the group NOTIFYs go to.
    let address: String
    let group: SocketAddress
    let hostHeader: String
    let state = NIOLockedValueBox(State())
    let listener: any Channel
    let sender: any Channel

    /// UUIDs unique to this run: tests run in parallel and other processes may advertise on the same group.
    static func makeUUIDs(count: Int) -> [String] {
        let run = UInt32.random(in: 0...UInt32.max)
        let hex = String(run, radix: 16)
        let prefix = String(repeating: "0", count: 8 - hex.count) + hex
        return (0..<count).map { index in
            let suffix = String(index, radix: 16)
            return "\(prefix)-5eed-4000-8000-" + String(repeating: "0", count: 12 - suffix.count) + suffix
        }
    }

    /// IPv4 devices on the interface with this address (239.255.255.250).
    convenience init(count: Int, address: String = "127.0.0.1", port: Int = 1900) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let device = try #require(try System.enumerateDevices().first { $0.address?.ipAddress == address })
        guard case .v4(let interfaceAddress) = device.address else { throw SSDPTestDevicesError.noAddress }
        let sender = try await DatagramBootstrap(group: group).bind(host: address, port: 0).get()
        let provider = sender as! any SocketOptionProvider
        try await provider.setIPMulticastIF(interfaceAddress.address.sin_addr).get()
        try await provider.setIPMulticastTTL(2).get()

        let handler = SearchHandler()
        let listener = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(ChannelOptions.Types.SocketOption(level: .ip, name: NIOBSDSocket.Option(rawValue: CInt(IP_MULTICAST_ALL))),
                           value: 0)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .bind(host: "239.255.255.250", port: port).get()
        // Set directly: NIO's joinGroup refuses loopback, which has no MULTICAST flag (the kernel accepts it).
        let groupAddress = try SocketAddress(ipAddress: "239.255.255.250", port: port)
        guard case .v4(let group4) = groupAddress else { throw SSDPTestDevicesError.noAddress }
        let request = ip_mreq(imr_multiaddr: group4.address.sin_addr, imr_interface: interfaceAddress.address.sin_addr)
        try await (listener as! any SocketOptionProvider).unsafeSetSocketOption(
            level: SocketOptionLevel(IPPROTO_IP), name: SocketOptionName(IP_ADD_MEMBERSHIP), value: request).get()
        self.init(count: count, address: address, group: groupAddress, hostHeader: "239.255.255.250:1900", listener: listener,
                  sender: sender, handler: handler)
    }

    /// IPv6 devices on the named interface's link-local address (FF02::C, scoped to the interface). The M-SEARCH
    /// of a control point pinned to the same interface reaches them through multicast loopback.
    convenience init(count: Int, ipv6Interface name: String, port: Int = 1900) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let device = try #require(try System.enumerateDevices().first {
            $0.name == name && $0.address?.protocol == .inet6 && ($0.address?.ipAddress ?? "").hasPrefix("fe80")
        })
        let sender = try await DatagramBootstrap(group: group).bind(to: try #require(device.address)).get()
        let provider = sender as! any SocketOptionProvider
        try await provider.setIPv6MulticastIF(CUnsignedInt(device.interfaceIndex)).get()
        try await provider.setIPv6MulticastHops(2).get()
        let groupAddress = SSDPDiscovery.ipv6Address(SSDPDiscovery.ipv6Group, port: port, scope: device.interfaceIndex)
        let handler = SearchHandler()
        let listener = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .bind(to: groupAddress).get()
        guard case .v6(let group6) = groupAddress else { throw SSDPTestDevicesError.noAddress }
        let request = ipv6_mreq(ipv6mr_multiaddr: group6.address.sin6_addr, ipv6mr_interface: UInt32(device.interfaceIndex))
        try await (listener as! any SocketOptionProvider).unsafeSetSocketOption(
            level: SocketOptionLevel(IPPROTO_IPV6), name: SocketOptionName(IPV6_ADD_MEMBERSHIP), value: request).get()
        self.init(count: count, address: "[\(device.address?.ipAddress ?? "")]", group: groupAddress, hostHeader: "[FF02::C]:1900",
                  listener: listener, sender: sender, handler: handler)
    }

    private init(count: Int, address: String, group: SocketAddress, hostHeader: String, listener: any Channel, sender: any Channel,
                 handler: SearchHandler) {
        self.uuids = Self.makeUUIDs(count: count)
        self.address = address
        self.group = group
        self.hostHeader = hostHeader
        self.listener = listener
        self.sender = sender
        handler.devices.withLockedValue { $0 = self }
    }

    func close() async {
        try? await listener.close()
        try? await sender.close()
    }

    var location: String { "http://\(address):49152/\(uuids.first ?? "")/d.xml" }

    func location(of uuid: String) -> String { "http://\(address):49152/\(uuid)/d.xml" }

    /// The USN suffixes each device advertises: the root, its type and its CMS.
    static let suffixes: [String?] = [
        "upnp:rootdevice", nil, "urn:schemas-upnp-org:device:ManageableDevice:2", "urn:schemas-upnp-org:service:ConfigurationManagement:2",
    ]

    func headers(uuid: String, suffix: String?, state: State) -> [(String, String)] {
        [("CACHE-CONTROL", "max-age=\(state.maxAge)"), ("LOCATION", location(of: uuid)), ("SERVER", "Linux/6 UPnP/1.1 ssdp-test/1"),
         ("USN", "uuid:\(uuid)" + (suffix.map { "::" + $0 } ?? "")), ("BOOTID.UPNP.ORG", String(state.bootID)),
         ("CONFIGID.UPNP.ORG", "1")]
    }

    /// Answers one M-SEARCH: every device whose USNs match ST, each after its own random delay within MX.
    func answer(_ search: SSDPMessage, from source: SocketAddress) {
        let conformant = search.headers["MAN"] == "\"ssdp:discover\"" && search.headers["HOST"] == hostHeader
        let current = state.withLockedValue { state in
            state.searches.append((search.headers["ST"] ?? "", search.headers["MX"] ?? "", conformant))
            state.firstSearch = state.firstSearch ?? .now
            return state
        }
        guard current.answering, let target = search.headers["ST"] else { return }
        let mx = min(max(Int(search.headers["MX"] ?? "1") ?? 1, 1), 5)
        for uuid in uuids where !current.departed.contains(uuid) {
            let byebyes = current.byebyes[uuid, default: 0]
            for suffix in Self.suffixes where target == "ssdp:all" || target == (suffix ?? "uuid:\(uuid)") {
                let message = SSDPMessage(.response(statusCode: 200), headers: SSDPHeaders(
                    [("EXT", ""), ("ST", target)] + headers(uuid: uuid, suffix: suffix, state: current)))
                let delay = TimeAmount.milliseconds(Int64.random(in: 0..<Int64(mx * 1000 - 100)))
                sender.eventLoop.scheduleTask(in: delay) {
                    guard self.state.withLockedValue({ $0.byebyes[uuid, default: 0] }) == byebyes else { return }
                    self.sender.writeAndFlush(AddressedEnvelope(remoteAddress: source, data: ByteBuffer(bytes: message.serialized())),
                                              promise: nil)
                }
            }
        }
    }

    /// Multicasts a NOTIFY of every USN of the given devices.
    func notify(_ nts: String, devices: [String]? = nil) async throws {
        // Recorded before the first NOTIFY is written, so no search response can follow a byebye.
        let current = state.withLockedValue { state in
            for uuid in devices ?? uuids {
                switch nts {
                case "ssdp:byebye":
                    state.departed.insert(uuid)
                    state.byebyes[uuid, default: 0] += 1
                case "ssdp:alive": state.departed.remove(uuid)
                default: break
                }
            }
            return state
        }
        for uuid in devices ?? uuids {
            for suffix in Self.suffixes {
                var fields: [(String, String)] = [("HOST", hostHeader), ("NT", suffix ?? "uuid:\(uuid)"), ("NTS", nts)]
                fields += headers(uuid: uuid, suffix: suffix, state: current)
                let message = SSDPMessage(.notify, headers: SSDPHeaders(fields))
                try await sender.writeAndFlush(AddressedEnvelope(remoteAddress: group, data: ByteBuffer(bytes: message.serialized()))).get()
            }
        }
    }

    final class SearchHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let devices = NIOLockedValueBox<SSDPTestDevices?>(nil)

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            guard let message = try? SSDPMessage(parsing: envelope.data.readableBytesView), message.startLine == .search else { return }
            devices.withLockedValue { $0 }?.answer(message, from: envelope.remoteAddress)
        }
    }
}
