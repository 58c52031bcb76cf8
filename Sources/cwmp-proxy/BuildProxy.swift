import CWMPClient
import FoundationEssentials
import Logging
import NIOCore
import Proxier
import ServiceLifecycle
import UnixSignals
import UPnPDM

#if canImport(Glibc)
import Glibc
#endif

/// A built proxier: its services, ready to run, and the handles tests look at.
struct CWMPProxy: Sendable {
    let serviceGroup: ServiceGroup
    let host: AgentHost
    let gateway: GatewayDataModel
    let gatewayAgentID: String
    /// Where the Connection Request listener is bound (port resolved when configured as 0).
    let connectionRequestAddress: SocketAddress

    /// Runs until SIGTERM or SIGINT (graceful), or until the group is cancelled.
    func run() async throws { try await serviceGroup.run() }
}

/// Builds the whole proxier from its configuration; `cwmp-proxy run` and the tests both call this.
///
/// The Connection Request listener is bound here, before any agent exists, because every agent's
/// ConnectionRequestURL names its port and the first Inform carries that URL.
/// `reloadConfiguration` is what SIGHUP calls (nil: SIGHUP is not handled); a reloaded `logLevel` is set on
/// `logLevel`, which the caller's loggers follow (`DaemonLogHandler`; nil: a reloaded level changes nothing).
func buildProxy(configuration: ProxyConfiguration, logger: Logger, logLevel: LogLevelSwitch? = nil,
                reloadConfiguration: (@Sendable () throws -> ProxyConfiguration)? = nil) async throws -> CWMPProxy {
    let store = try await AgentStore.open(directory: absolutePath(configuration.stateDirectory),
                                          logger: logger.withLabelSuffix("store"))
    let listener = ConnectionRequestServer(
        configuration: .init(configuration.connectionRequest),
        logger: logger)
    let address: SocketAddress
    do {
        address = try await listener.start()
    } catch {
        try? await store.close()
        throw error
    }
    let advertisedHost = configuration.connectionRequest.advertisedHost
        ?? advertisedAddress(boundTo: configuration.connectionRequest.address)

    let identity = GatewayIdentity(
        manufacturer: configuration.gateway.manufacturer, manufacturerOUI: configuration.gateway.manufacturerOUI,
        productClass: configuration.gateway.productClass,
        serialNumber: configuration.gateway.serialNumber ?? machineSerialNumber(),
        modelName: configuration.gateway.modelName, softwareVersion: CWMPProxyVersion.current)
    let agentID = "\(identity.manufacturerOUI)-\(identity.productClass)-\(identity.serialNumber)"
    // UPnP discovery, when configured, serves Device.UPnP.Discovery. in the gateway's tree.
    let discovery = configuration.upnp.interfaces.isEmpty ? nil : SSDPDiscovery(
        configuration: .init(interfaces: configuration.upnp.interfaces,
                             discovery: .init(searchTargets: configuration.upnp.searchTargets, mx: configuration.upnp.mx)),
        logger: logger.withLabelSuffix("ssdp"))
    // The configuration gives the factory defaults; what the ACS set before the restart is laid over them.
    let gateway: GatewayDataModel
    do {
        try await store.createAgent(agentID)
        let stored = try await store.load(agentID)?.parameterValues ?? [:]
        let restored = managementServerSettings(configuration).restoring(stored)
        if !restored.ignored.isEmpty {
            logger.warning("stored ManagementServer values ignored", metadata: [
                "cwmp.settings.ignored": .string(restored.ignored.joined(separator: ",")),
            ])
        }
        // The gateway's agent writes every change of these settings to the store (ManagementServerProvider keeps
        // them until it has): an ACS change with the RPC that made it, before its response; a reload as it happens.
        let mounts = discovery.map { [UPnPDiscoveryProvider(discovery: $0).gatewayMount] } ?? []
        gateway = try await makeGatewayDataModel(identity: identity, settings: restored.settings,
                                                 factoryDefaults: managementServerSettings(configuration),
                                                 hooks: GatewayHooks(additionalMounts: mounts))
    } catch {
        try? await listener.stop()
        try? await store.close()
        throw error
    }

    // AsyncHTTPClient, one client (and so one TCP connection) per session: what ACSs that key a session to its
    // socket need. The CA bundle, when configured, replaces the system trust store; a reload can replace it.
    let transport: ReloadableACSTransport
    do {
        transport = ReloadableACSTransport(try ReloadableACSTransport.make(caBundlePath: configuration.acs.caBundlePath,
                                                                           logger: logger))
    } catch {
        try? await listener.stop()
        try? await store.close()
        throw error
    }
    let host = AgentHost(store: store, transport: transport, connectionRequestServer: listener,
                         connectionRequestHost: advertisedHost, connectionRequestPort: address.port ?? 0, logger: logger)
    let deviceId = DeviceId(manufacturer: identity.manufacturer, oui: identity.manufacturerOUI,
                            productClass: identity.productClass, serialNumber: identity.serialNumber)
    // The gateway informs soon after start; only virtual devices, started by the thousand, need a wide window.
    // Download: fetched into the state directory, applied by the FileType's configured hook.
    let downloads = DownloadActions(
        configuration: .init(directory: absolutePath(configuration.stateDirectory) + "/downloads",
                             hooks: configuration.downloads.hooks,
                             maximumFileSize: configuration.downloads.maximumFileSize,
                             timeLimit: .seconds(configuration.downloads.timeLimitSeconds),
                             // File servers are usually the ACS operator's: the ACS's CA bundle serves both.
                             caBundlePath: configuration.acs.caBundlePath),
        logger: logger)
    let gatewaySetup = AgentHost.AgentSetup(agentID: agentID) { environment in
        let agent = CWMPAgent(configuration: .init(agentID: agentID, deviceId: deviceId, startupJitterWindow: .seconds(2)),
                              gateway: gateway, actions: downloads,
                              hooks: agentHooks(configuration.gateway, logger: logger), environment: environment)
        downloads.attach(agent)
        return agent
    }

    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
        .init(service: AgentHostService(host: host, setups: [gatewaySetup], store: store, listener: listener,
                                        logger: logger, started: { await downloads.reportInterruptedTransfers() })),
    ]
    if let discovery {
        // Discovery failing (a LAN interface missing) must not stop the gateway's own management: logged, not fatal.
        services.append(.init(service: UPnPDiscoveryService(discovery: discovery, logger: logger),
                              successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
    }
    if let reloadConfiguration {
        services.append(.init(service: ConfigurationReloadService(
            gateway: gateway, transport: transport, logLevel: logLevel ?? LogLevelSwitch(configuration.logLevel),
            started: configuration, reload: reloadConfiguration, logger: logger)))
    }
    let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                  logger: logger))
    logger.info("cwmp-proxy built", metadata: [
        "device.id": .string(agentID),
        "cwmp.connection_request.port": .stringConvertible(address.port ?? 0),
        "cwmp.acs.configured": .stringConvertible(configuration.acs.url != nil),
    ])
    return CWMPProxy(serviceGroup: group, host: host, gateway: gateway, gatewayAgentID: agentID,
                     connectionRequestAddress: address)
}

/// The agents and everything they share: started together, stopped together on graceful shutdown.
struct AgentHostService: Service {
    let host: AgentHost
    let setups: [AgentHost.AgentSetup]
    let store: AgentStore
    let listener: ConnectionRequestServer
    let logger: Logger
    /// Runs once the agents have started (what needs a started agent: reporting transfers cut short by a restart).
    var started: @Sendable () async -> Void = {}

    func run() async throws {
        do {
            try await host.start(setups)
            logger.info("agents started", metadata: ["cwmp.agents.count": .stringConvertible(host.agentCount)])
            await started()
            try? await gracefulShutdown()
        } catch {
            logger.error("agents failed to start", metadata: ["error": .string(String(describing: error))])
            await shutDown()
            throw error
        }
        await shutDown()
    }

    private func shutDown() async {
        // Listener first: no Connection Request may reach an agent that is stopping.
        try? await listener.stop()
        // Each agent writes what is left of its state (a settings change made just before) as it stops; then the
        // store closes.
        await host.stop()
        try? await store.close()
        logger.info("agents stopped")
    }
}

/// Runs SSDP discovery and logs why it stopped, if it failed.
struct UPnPDiscoveryService: Service {
    let discovery: SSDPDiscovery
    let logger: Logger

    func run() async throws {
        do {
            try await discovery.run()
        } catch {
            logger.error("UPnP discovery failed", metadata: ["error": .string(String(describing: error))])
        }
    }
}

/// The Reboot / FactoryReset hooks the configuration names (none: the agent only restarts its own state).
func agentHooks(_ gateway: ProxyConfiguration.Gateway, logger: Logger) -> AgentHooks {
    let timeout = Duration.seconds(Int64(gateway.hookTimeoutSeconds))
    return AgentHooks.commands(reboot: gateway.rebootCommand.map { HookCommand($0, timeout: timeout) },
                               factoryReset: gateway.factoryResetCommand.map { HookCommand($0, timeout: timeout) },
                               logger: logger.withLabelSuffix("hooks"))
}

/// The configuration's ACS-facing values as the gateway's ManagementServer settings.
func managementServerSettings(_ configuration: ProxyConfiguration) -> ManagementServerSettings {
    ManagementServerSettings(
        url: configuration.acs.url ?? "", username: configuration.acs.username,
        password: configuration.acs.password.revealed,
        periodicInformEnable: configuration.acs.periodicInformEnable,
        periodicInformInterval: configuration.acs.periodicInformInterval,
        connectionRequestUsername: configuration.connectionRequest.username,
        connectionRequestPassword: configuration.connectionRequest.password.revealed)
}

/// The state directory as an absolute path (the store requires one; a relative `--state-dir` is the user's
/// working directory's).
func absolutePath(_ path: String) -> String {
    if path.hasPrefix("/") { return path }
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard getcwd(&buffer, buffer.count) != nil else { return "/" + path }
    let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return (cwd.hasSuffix("/") ? cwd : cwd + "/") + path
}

/// The first 16 characters of /etc/machine-id: stable per installation and unique across gateways.
func machineSerialNumber() -> String {
    let id = (try? readTextFile("/etc/machine-id"))?.filter { $0.isHexDigit } ?? ""
    return id.isEmpty ? "UNKNOWN" : String(id.prefix(16)).uppercased()
}

/// What to put in ConnectionRequestURL when the listener binds a wildcard address: the first non-loopback IPv4
/// address of the host (the ACS cannot reach 0.0.0.0), or the bound address itself otherwise.
func advertisedAddress(boundTo address: String) -> String {
    guard address == "0.0.0.0" || address == "::" else { return address }
    var interfaces: UnsafeMutablePointer<ifaddrs>?
    guard getifaddrs(&interfaces) == 0, let first = interfaces else { return "127.0.0.1" }
    defer { freeifaddrs(interfaces) }
    var candidate: UnsafeMutablePointer<ifaddrs>? = first
    while let entry = candidate {
        defer { candidate = entry.pointee.ifa_next }
        guard let socketAddress = entry.pointee.ifa_addr, socketAddress.pointee.sa_family == sa_family_t(AF_INET),
              entry.pointee.ifa_flags & UInt32(IFF_LOOPBACK) == 0, entry.pointee.ifa_flags & UInt32(IFF_UP) != 0
        else { continue }
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        let ok = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { ipv4 in
            var inAddress = ipv4.pointee.sin_addr
            return inet_ntop(AF_INET, &inAddress, &text, socklen_t(text.count)) != nil
        }
        if ok { return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    }
    return "127.0.0.1"
}

extension Logger {
    fileprivate func withLabelSuffix(_ suffix: String) -> Logger {
        var logger = Logger(label: "\(label).\(suffix)")
        logger.logLevel = logLevel
        return logger
    }
}

extension ConnectionRequestServer.Configuration {
    /// The listener's settings from the configuration file; what the file does not name keeps the listener's default.
    init(_ connectionRequest: ProxyConfiguration.ConnectionRequest) {
        self.init(host: connectionRequest.address, port: connectionRequest.port,
                  digestAlgorithms: connectionRequest.digestAlgorithms,
                  agentBurst: connectionRequest.perDeviceBurst,
                  agentRefillInterval: .seconds(Int64(connectionRequest.perDeviceRefillSeconds)),
                  globalBurst: connectionRequest.globalBurst,
                  globalRefillInterval: .milliseconds(Int64(connectionRequest.globalRefillMilliseconds)),
                  requestReadTimeout: .seconds(Int64(connectionRequest.requestReadTimeoutSeconds)),
                  maxConnections: connectionRequest.maxConnections)
    }
}
