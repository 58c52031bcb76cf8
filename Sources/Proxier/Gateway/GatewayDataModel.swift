// The composition root of the gateway's own Device:2 tree: the supported part of TR-181, the providers that serve
// it, and the engine they are mounted on. The daemon and the tests build the gateway the same way, here.
//
//   Device.                      GatewayDeviceProvider   RootDataModelVersion, Time, LANConfigSecurity, GatewayInfo, Hosts
//   Device.DeviceInfo.           DeviceInfoProvider      identity + /proc (uptime, memory, CPU, processes)
//   Device.ManagementServer.     ManagementServerProvider settings, observer, proxy tables
//   Device.IP. / Device.Ethernet. NetworkInterfaceProvider /sys/class/net
//
// DeviceInfo.ProxierInfo is deliberately absent: it identifies the proxier inside a *virtual* device's tree
// (TR-069 Annex J.2), not in the proxier's own.

/// What the integrator (or a test) may replace in the gateway's view of its host.
public struct GatewayHooks: Sendable {
    /// Where /proc and /sys are (tests use fabricated trees).
    public var paths: HostPaths
    /// Changes interfaces on the ACS's behalf; `nil` refuses changes with 9001.
    public var interfaceAdministration: (any NetworkInterfaceAdministration)?
    /// At most this many processes in `DeviceInfo.ProcessStatus.Process.` (the proxier's own is always listed).
    public var maximumProcesses: Int
    /// Whether the clock is synchronised (`Time.Status`); `nil` checks systemd-timesyncd's flag file.
    public var isTimeSynchronized: (@Sendable () -> Bool)?
    /// Seconds since 1970 for `Time.CurrentLocalTime`; `nil` reads the real-time clock.
    public var now: (@Sendable () -> Int64)?
    /// Subtrees served by other modules (UPnP discovery, ...): their objects join the gateway's schema only when
    /// they are mounted, so an unconfigured feature does not show empty tables to the ACS.
    public var additionalMounts: [GatewayMount]

    public init(paths: HostPaths = HostPaths(), interfaceAdministration: (any NetworkInterfaceAdministration)? = nil,
                maximumProcesses: Int = 512, isTimeSynchronized: (@Sendable () -> Bool)? = nil,
                now: (@Sendable () -> Int64)? = nil, additionalMounts: [GatewayMount] = []) {
        self.paths = paths
        self.interfaceAdministration = interfaceAdministration
        self.maximumProcesses = maximumProcesses
        self.isTimeSynchronized = isTimeSynchronized
        self.now = now
        self.additionalMounts = additionalMounts
    }
}

/// A provider of another module mounted into the gateway's tree, with the template paths it serves (as in
/// `GatewayDataModel.supportedPaths`: objects end with a dot and bring all their parameters).
public struct GatewayMount: Sendable {
    public var path: String
    public var supportedPaths: Set<String>
    public var provider: any DataModelProvider

    public init(path: String, supportedPaths: Set<String>, provider: any DataModelProvider) {
        self.path = path
        self.supportedPaths = supportedPaths
        self.provider = provider
    }
}

/// The gateway's data model and the handles the agent needs on it.
public struct GatewayDataModel: Sendable {
    /// The engine to answer the ACS's parameter RPCs with.
    public let model: DataModel
    /// Settings, their change stream (`changes()`), ConnectionRequestURL, and the proxy tables for the registry.
    public let managementServer: ManagementServerProvider
    /// ProvisioningCode, LocalTimeZone, ConfigPassword, with their change stream, for persistence.
    public let localSettings: GatewayLocalSettingsStore
    public let deviceInfo: DeviceInfoProvider
    public let device: GatewayDeviceProvider
    public let interfaces: NetworkInterfaceProvider

    /// The engine's options, matching what ManagementServer reports (AliasBasedAddressing true,
    /// InstanceWildcardsSupported false).
    public static let configuration = DataModel.Configuration(aliasBasedAddressing: true, instanceWildcards: false)

    /// Template paths the gateway serves (objects end with a dot and bring all their parameters).
    public static let supportedPaths: Set<String> = {
        var paths: Set<String> = ["Device.RootDataModelVersion"]
        func add(_ object: String, _ names: [String]) { for name in names { paths.insert(object + name) } }
        add("Device.DeviceInfo.", ["Manufacturer", "ManufacturerOUI", "ModelName", "Description", "ProductClass", "SerialNumber",
                                   "HardwareVersion", "SoftwareVersion", "ProvisioningCode", "UpTime",
                                   "SupportedDataModelNumberOfEntries", "VendorConfigFileNumberOfEntries"])
        paths.insert("Device.DeviceInfo.VendorConfigFile.{i}.")
        add("Device.DeviceInfo.MemoryStatus.", ["Total", "Free"])
        add("Device.DeviceInfo.ProcessStatus.", ["CPUUsage", "ProcessNumberOfEntries"])
        paths.insert("Device.DeviceInfo.ProcessStatus.Process.{i}.")
        add("Device.DeviceInfo.SupportedDataModel.{i}.", ["Alias", "URL", "URN", "Features"])

        add("Device.ManagementServer.", Array(ManagementServerSettings.fields.keys.filter { !$0.contains(".") }) + [
            "ParameterKey", "ConnectionRequestURL", "UDPConnectionRequestAddress", "NATDetected", "AliasBasedAddressing",
            "ManageableDeviceNumberOfEntries", "EmbeddedDeviceNumberOfEntries", "VirtualDeviceNumberOfEntries",
            "SupportedConnReqMethods", "HTTPCompressionSupported", "InstanceWildcardsSupported", "InformParameterNumberOfEntries",
        ])
        for object in ["AutonomousTransferCompletePolicy.", "HeartbeatPolicy.", "InformParameter.{i}.", "EmbeddedDevice.{i}.",
                       "VirtualDevice.{i}.", "ManageableDevice.{i}."] {
            paths.insert("Device.ManagementServer." + object)
        }

        paths.insert("Device.GatewayInfo.")
        add("Device.Time.", ["Status", "CurrentLocalTime", "LocalTimeZone"])
        paths.insert("Device.LANConfigSecurity.")
        add("Device.Hosts.", ["HostNumberOfEntries"])
        add("Device.Hosts.Host.{i}.", ["PhysAddress", "IPAddress", "HostName", "Active"])

        let stats = ["BytesSent", "BytesReceived", "PacketsSent", "PacketsReceived", "ErrorsSent", "ErrorsReceived",
                     "DiscardPacketsSent", "DiscardPacketsReceived", "MulticastPacketsReceived"]
        add("Device.IP.", ["InterfaceNumberOfEntries"])
        add("Device.IP.Interface.{i}.", ["Enable", "Status", "Alias", "Name", "Type", "MaxMTUSize"])
        add("Device.IP.Interface.{i}.Stats.", stats)
        add("Device.Ethernet.", ["InterfaceNumberOfEntries"])
        add("Device.Ethernet.Interface.{i}.", ["Enable", "Status", "Alias", "Name", "Upstream", "MACAddress", "MaxBitRate",
                                               "CurrentBitRate"])
        add("Device.Ethernet.Interface.{i}.Stats.", stats + ["Collisions"])
        return paths
    }()

    /// The gateway's schema: TR-181 cut down to `supportedPaths`. IP.Interface is a writable table in TR-181; the
    /// gateway's interfaces are the host's, so the ACS can neither add nor delete them and the table is read-only.
    public static let schema: SchemaTree = schema(adding: [])

    /// The gateway's schema with the subtrees of additional mounts.
    public static func schema(adding additionalPaths: Set<String>) -> SchemaTree {
        var objects = Array(DataModelSchema.tr181.restricted(to: supportedPaths.union(additionalPaths)).objects.values)
        for index in objects.indices where objects[index].path == "Device.IP.Interface.{i}." {
            objects[index].access = .readOnly
        }
        return SchemaTree(DataModelSchema(objects: objects))
    }

    /// Records that the connection-request server listens on a new URL: served as ConnectionRequestURL and reported
    /// to the ACS (it has active notification by default).
    public func setConnectionRequestURL(_ url: String) async {
        let old = await managementServer.connectionRequestURL
        await managementServer.setConnectionRequestURL(url)
        if old != url { await model.recordValueChanges(["Device.ManagementServer.ConnectionRequestURL"]) }
    }
}

/// Builds the gateway's data model: checks the identity and settings, creates the providers and mounts them.
/// `localSettings` are the stored ProvisioningCode, LocalTimeZone and ConfigPassword (the identity's ProvisioningCode
/// when there are none); `state` is the engine's stored state (instance numbers, attributes, ParameterKey).
/// `factoryDefaults`: what a FactoryReset restores (the configuration's settings); `settings` when nil.
public func makeGatewayDataModel(identity: GatewayIdentity, settings: ManagementServerSettings,
                                 factoryDefaults: ManagementServerSettings? = nil,
                                 localSettings: GatewayLocalSettings? = nil, hooks: GatewayHooks = GatewayHooks(),
                                 state: DataModelState = DataModelState()) async throws(ProxierError) -> GatewayDataModel {
    let additionalPaths = hooks.additionalMounts.reduce(into: Set<String>()) { $0.formUnion($1.supportedPaths) }
    let tree = additionalPaths.isEmpty ? GatewayDataModel.schema : GatewayDataModel.schema(adding: additionalPaths)
    try identity.validate(against: tree)
    let store = GatewayLocalSettingsStore(localSettings ?? GatewayLocalSettings(provisioningCode: identity.provisioningCode))
    let configuration = GatewayDataModel.configuration
    let managementServer = try ManagementServerProvider(
        settings: settings, factoryDefaults: factoryDefaults, schema: tree,
        capabilities: ManagementServerCapabilities(aliasBasedAddressing: configuration.aliasBasedAddressing,
                                                   instanceWildcardsSupported: configuration.instanceWildcards))
    let deviceInfo = DeviceInfoProvider(identity: identity, localSettings: store, paths: hooks.paths,
                                        maximumProcesses: hooks.maximumProcesses)
    let device = GatewayDeviceProvider(localSettings: store, paths: hooks.paths, isTimeSynchronized: hooks.isTimeSynchronized,
                                       now: hooks.now)
    let interfaces = NetworkInterfaceProvider(paths: hooks.paths, administration: hooks.interfaceAdministration)

    let model = DataModel(schema: tree, configuration: configuration, state: state)
    try await model.mount(device, at: GatewayDeviceProvider.mountPath)
    try await model.mount(deviceInfo, at: DeviceInfoProvider.mountPath)
    try await model.mount(managementServer, at: ManagementServerProvider.mountPath)
    try await model.mount(interfaces, at: NetworkInterfaceProvider.ipMountPath)
    try await model.mount(interfaces, at: NetworkInterfaceProvider.ethernetMountPath)
    for mount in hooks.additionalMounts { try await model.mount(mount.provider, at: mount.path) }
    return GatewayDataModel(model: model, managementServer: managementServer, localSettings: store, deviceInfo: deviceInfo,
                            device: device, interfaces: interfaces)
}
