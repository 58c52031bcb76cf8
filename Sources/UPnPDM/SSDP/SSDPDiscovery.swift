// The I/O shell of SSDP discovery: NIO datagram sockets around `SSDPDiscoveryStateMachine`.
//
// Per configured interface (a name such as `br-lan`, resolved with getifaddrs through NIO's enumerateDevices, or an
// address), IPv4:
// * a search socket bound to the interface address on an ephemeral port: it sends the M-SEARCHes and receives the
//   unicast responses. IP_MULTICAST_IF is the interface address and the TTL is 2 (UDA 1.1), so an M-SEARCH can never
//   follow the default route out of another interface (on the test machines that would be eth0);
// * a NOTIFY socket bound to 239.255.255.250:1900 (SO_REUSEADDR, other control points on the host share the port)
//   that joins the group ON THE INTERFACE ADDRESS only. IP_MULTICAST_ALL is off so the kernel does not hand it
//   the group traffic of interfaces other sockets joined.
// IPv6, when the interface has an address: the same pair on FF02::C with IPV6_MULTICAST_IF = the interface index.
// An IPv6 failure is logged and discovery carries on over IPv4.
//
// All sockets live on one event loop, which is also where the state machine runs (datagrams and timers); a lock
// guards it only so that `snapshot()` can be read from anywhere.
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Runs SSDP discovery on the configured interfaces until graceful shutdown or cancellation.
public final class SSDPDiscovery: Service, Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Interface names (`br-lan`) or addresses (`192.168.1.1`, `127.0.0.1`). Never empty: discovery does not
        /// guess an interface, since an unpinned multicast socket follows the default route.
        public var interfaces: [String]
        public var discovery: SSDPDiscoveryStateMachine.Configuration
        /// Use FF02::C on interfaces that have an IPv6 address.
        public var ipv6: Bool
        public var multicastTTL: UInt8
        /// The SSDP port (1900); tests keep it.
        public var port: Int

        public init(interfaces: [String], discovery: SSDPDiscoveryStateMachine.Configuration = .init(), ipv6: Bool = true,
                    multicastTTL: UInt8 = 2, port: Int = 1900) {
            self.interfaces = interfaces
            self.discovery = discovery
            self.ipv6 = ipv6
            self.multicastTTL = multicastTTL
            self.port = port
        }
    }

    /// An interface as resolved at start.
    struct ResolvedInterface: Sendable {
        var name: String
        var ipv4: NIONetworkDevice?
        var ipv6: NIONetworkDevice?
    }

    struct SearchSocket: Sendable {
        var channel: any Channel
        var destination: SocketAddress
        var host: String
        var interface: String
    }

    struct State: Sendable {
        var machine: SSDPDiscoveryStateMachine
        var subscribers: [Int: AsyncStream<SSDPDiscoveryEvent>.Continuation] = [:]
        var nextSubscriber = 0
        var searchSockets: [SearchSocket] = []
        var timer: Scheduled<Void>?
        var started = false
        var running = false
        var stopped = false
    }

    public static let ipv4Group = "239.255.255.250"
    public static let ipv6Group = "ff02::c"

    public let configuration: Configuration
    let eventLoop: any EventLoop
    let logger: Logger
    let state: NIOLockedValueBox<State>

    public init(configuration: Configuration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "cwmp-proxy.ssdp")) {
        self.configuration = configuration
        self.eventLoop = eventLoopGroup.next()
        self.logger = logger
        self.state = NIOLockedValueBox(State(machine: SSDPDiscoveryStateMachine(configuration: configuration.discovery)))
    }

    // MARK: Public API

    /// A stream of discovery events from now on. `replayingActiveDevices` first yields `found` for every device
    /// already known, so a late subscriber (the CLI, a restarted subscriber) starts with the full picture.
    public func events(replayingActiveDevices: Bool = true) -> AsyncStream<SSDPDiscoveryEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: SSDPDiscoveryEvent.self, bufferingPolicy: .bufferingNewest(16_384))
        let id: Int? = state.withLockedValue { state in
            if replayingActiveDevices {
                for device in state.machine.activeDevices { continuation.yield(.found(device)) }
            }
            guard !state.stopped else { return nil }
            let id = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// The Discovery tables' rows now.
    public func snapshot() -> SSDPDiscoverySnapshot {
        state.withLockedValue { $0.machine.snapshot(now: .now) }
    }

    /// The active devices now.
    public var activeDevices: [SSDPDevice] { state.withLockedValue { $0.machine.activeDevices } }

    /// Starts a search burst now (the CLI's `discover`, or after a LAN interface came back).
    public func search() {
        eventLoop.execute {
            let actions = self.state.withLockedValue { $0.running ? $0.machine.search(now: .now) : [] }
            self.perform(actions)
        }
    }

    /// Binds the sockets, searches, and listens until graceful shutdown (or cancellation); then closes everything.
    public func run() async throws {
        // One run per instance: a second would bind a second set of sockets to the same state machine.
        let first = state.withLockedValue { state in
            defer { state.started = true }
            return !state.started
        }
        guard first else { throw UPnPDMError(.invalidArgument, "SSDP discovery runs once per instance") }
        var channels: [any Channel] = []
        do {
            let interfaces = try resolveInterfaces()
            var searchSockets: [SearchSocket] = []
            for interface in interfaces {
                if let device = interface.ipv4 {
                    let search = try await bindIPv4Search(device, interface: interface.name)
                    channels.append(search.channel)
                    searchSockets.append(search)
                    channels.append(try await bindIPv4Notify(device, interface: interface.name))
                }
                if configuration.ipv6, let device = interface.ipv6 {
                    do {
                        let search = try await bindIPv6Search(device, interface: interface.name)
                        channels.append(search.channel)
                        searchSockets.append(search)
                        channels.append(try await bindIPv6Notify(device, interface: interface.name))
                    } catch {
                        logger.warning("SSDP over IPv6 unavailable on interface", metadata: [
                            "ssdp.interface": .string(interface.name), "error": .string(String(describing: error)),
                        ])
                    }
                }
            }
            let sockets = searchSockets
            try await eventLoop.submit {
                let actions = self.state.withLockedValue { state in
                    state.searchSockets = sockets
                    state.running = true
                    return state.machine.start(now: .now)
                }
                self.perform(actions)
            }.get()
            logger.info("SSDP discovery started", metadata: [
                "ssdp.interfaces": .string(interfaces.map(\.name).joined(separator: ",")),
                "ssdp.sockets": .stringConvertible(channels.count),
            ])
        } catch {
            // Subscribers' streams end too, so nobody waits for events that will never come.
            await close(channels)
            throw error
        }
        // Returns on graceful shutdown, throws on cancellation: either way the sockets close.
        do {
            try await gracefulShutdown()
        } catch {}
        await close(channels)
        logger.info("SSDP discovery stopped")
    }

    // MARK: Event loop side

    /// Runs the state machine's actions; on the event loop.
    func perform(_ actions: [SSDPDiscoveryStateMachine.Action]) {
        eventLoop.assertInEventLoop()
        let (sockets, subscribers) = state.withLockedValue { ($0.searchSockets, Array($0.subscribers.values)) }
        for action in actions {
            switch action {
            case .sendSearch(let target, let mx):
                for socket in sockets {
                    let bytes = SSDPMessage.search(target: target, mx: mx, host: socket.host).serialized()
                    let envelope = AddressedEnvelope(remoteAddress: socket.destination, data: ByteBuffer(bytes: bytes))
                    socket.channel.writeAndFlush(envelope).whenFailure { error in
                        self.logger.debug("M-SEARCH not sent", metadata: [
                            "ssdp.interface": .string(socket.interface), "error": .string(String(describing: error)),
                        ])
                    }
                }
            case .deliver(let event):
                log(event)
                for subscriber in subscribers { subscriber.yield(event) }
            }
        }
        rearmTimer()
    }

    func rearmTimer() {
        let deadline: ContinuousClock.Instant? = state.withLockedValue { state in
            state.timer?.cancel()
            state.timer = nil
            return state.running ? state.machine.nextDeadline : nil
        }
        guard let deadline else { return }
        let wait = max(deadline - .now, .zero)
        let (seconds, attoseconds) = wait.components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000 + 1_000_000
        let task = eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            let actions = self.state.withLockedValue { $0.running ? $0.machine.timerFired(now: .now) : [] }
            self.perform(actions)
        }
        state.withLockedValue { $0.timer = task }
    }

    func received(_ envelope: AddressedEnvelope<ByteBuffer>, interface: String) {
        let source = envelope.remoteAddress.ipAddress ?? ""
        let advertisement: SSDPAdvertisement
        do {
            let message = try SSDPMessage(parsing: envelope.data.readableBytesView)
            // Other control points' M-SEARCHes (and our own, looped back) arrive on the NOTIFY socket.
            if message.startLine == .search { return }
            advertisement = try SSDPAdvertisement(message)
        } catch {
            logger.debug("SSDP datagram ignored", metadata: [
                "ssdp.interface": .string(interface), "ssdp.source": .string(source), "error": .string(String(describing: error)),
            ])
            return
        }
        let actions = state.withLockedValue { $0.running ? $0.machine.received(advertisement, from: source, now: .now) : [] }
        perform(actions)
    }

    func log(_ event: SSDPDiscoveryEvent) {
        switch event {
        case .found(let device):
            logger.info("UPnP device found", metadata: ["upnp.udn": .string(device.uuid), "upnp.location": .string(device.location)])
        case .changed(let device):
            logger.debug("UPnP device changed", metadata: ["upnp.udn": .string(device.uuid)])
        case .rebooted(let device, let previous):
            logger.info("UPnP device rebooted", metadata: [
                "upnp.udn": .string(device.uuid), "upnp.boot_id": .stringConvertible(device.bootID ?? 0),
                "upnp.previous_boot_id": .stringConvertible(previous),
            ])
        case .configurationChanged(let device, _):
            logger.info("UPnP device configuration changed", metadata: ["upnp.udn": .string(device.uuid)])
        case .left(let uuid, let reason):
            logger.info("UPnP device left", metadata: ["upnp.udn": .string(uuid), "upnp.reason": .string("\(reason)")])
        }
    }

    // MARK: Sockets

    func close(_ channels: [any Channel]) async {
        let subscribers = state.withLockedValue { state in
            state.running = false
            state.stopped = true
            state.timer?.cancel()
            state.timer = nil
            state.searchSockets = []
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
        for channel in channels { try? await channel.close() }
    }

    func resolveInterfaces() throws -> [ResolvedInterface] {
        guard !configuration.interfaces.isEmpty else {
            throw UPnPDMError(.invalidArgument, "SSDP discovery needs at least one interface")
        }
        let devices: [NIONetworkDevice]
        do {
            devices = try System.enumerateDevices()
        } catch {
            throw UPnPDMError(.interfaceUnavailable, "listing the network interfaces failed", underlying: error)
        }
        return try configuration.interfaces.map { (selector: String) throws(UPnPDMError) -> ResolvedInterface in
            let name: String
            if let byAddress = devices.first(where: { $0.address?.ipAddress == selector }) {
                name = byAddress.name
            } else if devices.contains(where: { $0.name == selector }) {
                name = selector
            } else {
                throw UPnPDMError(.interfaceUnavailable, "no interface is named or has the address \(selector)")
            }
            let own = devices.filter { $0.name == name }
            // The configured address itself, else the interface's first IPv4 address.
            let ipv4 = own.first { $0.address?.ipAddress == selector && $0.address?.protocol == .inet }
                ?? own.first { $0.address?.protocol == .inet }
            // FF02::C is link-local scope: a link-local source address suits it best.
            let ipv6 = own.first { $0.address?.protocol == .inet6 && ($0.address?.ipAddress ?? "").hasPrefix("fe80") }
                ?? own.first { $0.address?.protocol == .inet6 }
            guard ipv4 != nil || ipv6 != nil else {
                throw UPnPDMError(.interfaceUnavailable, "interface \(name) has no IP address")
            }
            return ResolvedInterface(name: name, ipv4: ipv4, ipv6: ipv6)
        }
    }

    func bootstrap(interface: String, reuseAddress: Bool) -> DatagramBootstrap {
        DatagramBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: reuseAddress ? 1 : 0)
            // Fifty devices answer one M-SEARCH burst within MX seconds with a few hundred datagrams: a larger
            // buffer keeps a busy moment from dropping them (the kernel caps it at net.core.rmem_max).
            .channelOption(.socketOption(.so_rcvbuf), value: 1 << 20)
            .channelOption(.maxMessagesPerRead, value: 64)
            // One datagram per read, a byte more than the parser accepts so that an oversized one is refused rather
            // than silently truncated into something that parses.
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: SSDPMessage.maximumSize + 1))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SSDPReceiveHandler(discovery: self, interface: interface))
                }
            }
    }

    func bindIPv4Search(_ device: NIONetworkDevice, interface: String) async throws -> SearchSocket {
        guard case .v4(let address) = device.address, let ip = device.address?.ipAddress else {
            throw UPnPDMError(.interfaceUnavailable, "interface \(interface) has no IPv4 address")
        }
        do {
            let channel = try await bootstrap(interface: interface, reuseAddress: false).bind(host: ip, port: 0).get()
            do {
                let provider = try socketOptions(channel)
                try await provider.setIPMulticastIF(address.address.sin_addr).get()
                try await provider.setIPMulticastTTL(configuration.multicastTTL).get()
            } catch {
                try? await channel.close()
                throw error
            }
            let destination = try SocketAddress(ipAddress: Self.ipv4Group, port: configuration.port)
            return SearchSocket(channel: channel, destination: destination, host: SSDPMessage.ipv4Host, interface: interface)
        } catch let error as UPnPDMError {
            throw error
        } catch {
            throw UPnPDMError(.socketFailure, "binding the SSDP search socket on \(ip) failed", underlying: error)
        }
    }

    func bindIPv4Notify(_ device: NIONetworkDevice, interface: String) async throws -> any Channel {
        do {
            let channel = try await bootstrap(interface: interface, reuseAddress: true)
                .channelOption(ChannelOptions.Types.SocketOption(level: .ip, name: NIOBSDSocket.Option(rawValue: CInt(IP_MULTICAST_ALL))), value: 0)
                .bind(host: Self.ipv4Group, port: configuration.port).get()
            do {
                // IP_ADD_MEMBERSHIP on the interface address, set directly: NIO's joinGroup(_:device:) refuses an
                // interface without the MULTICAST flag, and loopback (where the tests run) has none, though the kernel
                // accepts the membership and delivers on it.
                guard case .v4(let interfaceAddress) = device.address, case .v4(let group) = try SocketAddress(
                    ipAddress: Self.ipv4Group, port: configuration.port) else {
                    throw UPnPDMError(.interfaceUnavailable, "interface \(interface) has no IPv4 address")
                }
                let request = ip_mreq(imr_multiaddr: group.address.sin_addr, imr_interface: interfaceAddress.address.sin_addr)
                try await socketOptions(channel).unsafeSetSocketOption(
                    level: SocketOptionLevel(IPPROTO_IP), name: SocketOptionName(IP_ADD_MEMBERSHIP), value: request).get()
            } catch {
                try? await channel.close()
                throw error
            }
            return channel
        } catch {
            throw UPnPDMError(.socketFailure, "joining \(Self.ipv4Group) on \(device.address?.ipAddress ?? interface) failed",
                              underlying: error)
        }
    }

    func bindIPv6Search(_ device: NIONetworkDevice, interface: String) async throws -> SearchSocket {
        guard let address = device.address else { throw UPnPDMError(.interfaceUnavailable, "interface \(interface) has no IPv6 address") }
        let channel = try await bootstrap(interface: interface, reuseAddress: false).bind(to: address.withPort(0)).get()
        do {
            let provider = try socketOptions(channel)
            try await provider.setIPv6MulticastIF(CUnsignedInt(device.interfaceIndex)).get()
            try await provider.setIPv6MulticastHops(CInt(configuration.multicastTTL)).get()
        } catch {
            try? await channel.close()
            throw error
        }
        let destination = Self.ipv6Address(Self.ipv6Group, port: configuration.port, scope: device.interfaceIndex)
        return SearchSocket(channel: channel, destination: destination, host: SSDPMessage.ipv6Host, interface: interface)
    }

    func bindIPv6Notify(_ device: NIONetworkDevice, interface: String) async throws -> any Channel {
        let group = Self.ipv6Address(Self.ipv6Group, port: configuration.port, scope: device.interfaceIndex)
        let channel = try await bootstrap(interface: interface, reuseAddress: true)
            .channelOption(ChannelOptions.Types.SocketOption(level: .ipv6, name: NIOBSDSocket.Option(rawValue: CInt(IPV6_MULTICAST_ALL))), value: 0)
            .bind(to: group).get()
        do {
            // IPV6_JOIN_GROUP by interface index, set directly for the same reason as IPv4's membership.
            guard case .v6(let group6) = group else { throw UPnPDMError(.invalidArgument, "not an IPv6 group") }
            let request = ipv6_mreq(ipv6mr_multiaddr: group6.address.sin6_addr, ipv6mr_interface: UInt32(device.interfaceIndex))
            try await socketOptions(channel).unsafeSetSocketOption(
                level: SocketOptionLevel(IPPROTO_IPV6), name: SocketOptionName(IPV6_ADD_MEMBERSHIP), value: request).get()
        } catch {
            try? await channel.close()
            throw error
        }
        return channel
    }

    func socketOptions(_ channel: any Channel) throws -> any SocketOptionProvider {
        guard let provider = channel as? any SocketOptionProvider else {
            throw UPnPDMError(.socketFailure, "the datagram channel offers no socket options")
        }
        return provider
    }

    /// An IPv6 socket address with a scope (interface index): link-local multicast needs one.
    static func ipv6Address(_ text: String, port: Int, scope: Int) -> SocketAddress {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = in_port_t(UInt16(port)).bigEndian
        _ = inet_pton(AF_INET6, text, &address.sin6_addr)
        address.sin6_scope_id = UInt32(scope)
        return SocketAddress(address, host: text)
    }
}

extension SocketAddress {
    fileprivate func withPort(_ port: Int) -> SocketAddress {
        var copy = self
        copy.port = port
        return copy
    }
}

/// Hands each datagram of one socket to the discovery.
final class SSDPReceiveHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let discovery: SSDPDiscovery
    let interface: String

    init(discovery: SSDPDiscovery, interface: String) {
        self.discovery = discovery
        self.interface = interface
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        discovery.received(unwrapInboundIn(data), interface: interface)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A datagram socket reports ICMP errors (port unreachable after a send); the socket stays usable.
        discovery.logger.debug("SSDP socket error", metadata: ["ssdp.interface": .string(interface), "error": .string(String(describing: error))])
    }
}
