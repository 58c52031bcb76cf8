// `Device.ManagementServer.` of the gateway.
//
// Writable parameters live in one `ManagementServerSettings` value. A SetParameterValues, AddObject or DeleteObject
// is checked as a whole (the engine has already checked the schema's types and facets; this adds the rules the
// schema cannot say: an absolute http(s) ACS URL, unsupported options, unique InformParameter names), applied to a
// copy, and only then committed and published to every `changes()` stream, before the RPC answers. The agent
// subscribes and acts: re-arms periodic informs, sends BOOTSTRAP to a new ACS URL, gives the connection-request
// server new credentials. Acting on a change is the agent's business (a new URL is used from the next session,
// as TR-069 asks), the provider only guarantees that nothing is committed that the agent would have to refuse.
//
// Read-only parameters are computed: ConnectionRequestURL is set by the agent (`setConnectionRequestURL`), the
// proxy tables (EmbeddedDevice, VirtualDevice) are filled by the registry through `addEmbeddedDevice` /
// `addVirtualDevice`, and their NumberOfEntries are counted by the engine from the rows listed here, so counts and
// rows never disagree. ParameterKey and every Alias belong to the engine and are not served here.
//
// Secured parameters (Password, ConnectionRequestPassword) are read as "" by the engine without asking the
// provider (`ParameterSchema.isSecured`); `values(of:)` answers "" for them too, so no other caller can read them.
import CWMPClient

/// A row of `Device.ManagementServer.EmbeddedDevice.{i}.` (TR-069 Annex J.3), unique by ControllerID+ProxiedDeviceID.
public struct EmbeddedDeviceEntry: Hashable, Sendable {
    public enum CommandProcessed: String, Hashable, Sendable {
        case pending = "Pending", retrying = "Retrying", success = "Success", error = "Error"
    }

    public var controllerID: String
    public var proxiedDeviceID: String
    /// The path of the instance created for the device (`Device.X_…Thing.3`), or empty.
    public var reference: String
    /// Paths of `Device.DeviceInfo.SupportedDataModel.{i}` rows.
    public var supportedDataModel: [String]
    /// Paths of `Device.Hosts.Host.{i}` rows.
    public var host: [String]
    /// Z-Wave, ZigBee, UPnP-DM, ETSI-M2M.
    public var proxyProtocol: String
    public var proxyProtocolReference: String
    public var discoveryProtocol: [String]
    public var discoveryProtocolReference: [String]
    public var commandProcessed: CommandProcessed
    public var commandProcessingErrMsg: String
    /// A dateTime; Unknown Time until the first synchronisation since the proxier started.
    public var lastSyncTime: String

    public init(controllerID: String = "", proxiedDeviceID: String, reference: String = "", supportedDataModel: [String] = [],
                host: [String] = [], proxyProtocol: String, proxyProtocolReference: String = "", discoveryProtocol: [String] = [],
                discoveryProtocolReference: [String] = [], commandProcessed: CommandProcessed = .success,
                commandProcessingErrMsg: String = "", lastSyncTime: String = ParameterSchema.unknownTime) {
        self.controllerID = controllerID
        self.proxiedDeviceID = proxiedDeviceID
        self.reference = reference
        self.supportedDataModel = supportedDataModel
        self.host = host
        self.proxyProtocol = proxyProtocol
        self.proxyProtocolReference = proxyProtocolReference
        self.discoveryProtocol = discoveryProtocol
        self.discoveryProtocolReference = discoveryProtocolReference
        self.commandProcessed = commandProcessed
        self.commandProcessingErrMsg = commandProcessingErrMsg
        self.lastSyncTime = lastSyncTime
    }

    /// The provider key: the unique key, each part escaped so that the separator cannot occur inside it.
    public var key: String { ManagementServerProvider.joinKey([controllerID, proxiedDeviceID]) }

    var values: [String: String] {
        ["ControllerID": controllerID, "ProxiedDeviceID": proxiedDeviceID, "Reference": reference,
         "SupportedDataModel": supportedDataModel.joined(separator: ","), "Host": host.joined(separator: ","),
         "ProxyProtocol": proxyProtocol, "ProxyProtocolReference": proxyProtocolReference,
         "DiscoveryProtocol": discoveryProtocol.joined(separator: ","),
         "DiscoveryProtocolReference": discoveryProtocolReference.joined(separator: ","),
         "CommandProcessed": commandProcessed.rawValue, "CommandProcessingErrMsg": commandProcessingErrMsg,
         "LastSyncTime": lastSyncTime]
    }
}

/// A row of `Device.ManagementServer.VirtualDevice.{i}.` (TR-069 Annex J.2), unique by OUI+ProductClass+SerialNumber.
public struct VirtualDeviceEntry: Hashable, Sendable {
    public var manufacturerOUI: String
    public var productClass: String
    public var serialNumber: String
    public var host: [String]
    public var proxyProtocol: String
    public var proxyProtocolReference: String
    public var discoveryProtocol: [String]
    public var discoveryProtocolReference: [String]

    public init(manufacturerOUI: String, productClass: String, serialNumber: String, host: [String] = [],
                proxyProtocol: String, proxyProtocolReference: String = "", discoveryProtocol: [String] = [],
                discoveryProtocolReference: [String] = []) {
        self.manufacturerOUI = manufacturerOUI
        self.productClass = productClass
        self.serialNumber = serialNumber
        self.host = host
        self.proxyProtocol = proxyProtocol
        self.proxyProtocolReference = proxyProtocolReference
        self.discoveryProtocol = discoveryProtocol
        self.discoveryProtocolReference = discoveryProtocolReference
    }

    public var key: String { ManagementServerProvider.joinKey([manufacturerOUI, productClass, serialNumber]) }

    var values: [String: String] {
        ["ManufacturerOUI": manufacturerOUI, "ProductClass": productClass, "SerialNumber": serialNumber,
         "Host": host.joined(separator: ","), "ProxyProtocol": proxyProtocol, "ProxyProtocolReference": proxyProtocolReference,
         "DiscoveryProtocol": discoveryProtocol.joined(separator: ","),
         "DiscoveryProtocolReference": discoveryProtocolReference.joined(separator: ",")]
    }
}

/// What the gateway's CWMP stack supports, served as ManagementServer's read-only capability parameters. The
/// builder derives them from the engine's configuration so the two cannot disagree.
public struct ManagementServerCapabilities: Hashable, Sendable {
    public var aliasBasedAddressing: Bool
    public var instanceWildcardsSupported: Bool
    /// `SupportedConnReqMethods`: HTTP only (no STUN, no XMPP).
    public var supportedConnReqMethods: [String]
    /// `HTTPCompressionSupported`: none, the HTTP client does not compress requests.
    public var httpCompressionSupported: [String]

    public init(aliasBasedAddressing: Bool = true, instanceWildcardsSupported: Bool = false,
                supportedConnReqMethods: [String] = ["HTTP"], httpCompressionSupported: [String] = []) {
        self.aliasBasedAddressing = aliasBasedAddressing
        self.instanceWildcardsSupported = instanceWildcardsSupported
        self.supportedConnReqMethods = supportedConnReqMethods
        self.httpCompressionSupported = httpCompressionSupported
    }
}

public actor ManagementServerProvider: DataModelProvider {
    public static let mountPath = "Device.ManagementServer."
    static let prefix = "Device.ManagementServer."

    private let tree: SchemaTree
    private let capabilities: ManagementServerCapabilities
    private let broadcaster = ChangeBroadcaster<ManagementServerSettingsChange>()
    public private(set) var settings: ManagementServerSettings
    /// The settings a FactoryReset goes back to: the configuration's, without anything the ACS set
    /// (`resetToFactoryDefaults`).
    public private(set) var factoryDefaults: ManagementServerSettings
    /// `ConnectionRequestURL` as the connection-request server reports it.
    public private(set) var connectionRequestURL: String = ""
    /// Changes committed and not yet reported written to the store, oldest first (see `unpersistedChanges`).
    private var unpersisted: [ManagementServerSettingsChange] = []
    private var embeddedDevices: [EmbeddedDeviceEntry] = []
    private var virtualDevices: [VirtualDeviceEntry] = []

    /// `settings` (and `factoryDefaults`, which default to `settings`) must pass `ManagementServerSettings.validate()`.
    /// The daemon passes the configuration's settings with the stored ACS values laid over them as `settings`, and
    /// the configuration's alone as `factoryDefaults`.
    public init(settings: ManagementServerSettings, factoryDefaults: ManagementServerSettings? = nil, schema tree: SchemaTree,
                capabilities: ManagementServerCapabilities = ManagementServerCapabilities()) throws(ProxierError) {
        try settings.validate()
        try factoryDefaults?.validate()
        self.settings = settings
        self.factoryDefaults = factoryDefaults ?? settings
        self.tree = tree
        self.capabilities = capabilities
    }

    // MARK: Observer API

    /// Every change of the settings from now on, in order, each delivered before the RPC (or `update`) that made it
    /// returns. Iterate it from the agent; the stream ends when the iterating task stops or the provider goes away.
    public nonisolated func changes() -> AsyncStream<ManagementServerSettingsChange> { broadcaster.subscribe() }

    /// Changes settings from the gateway's side (configuration reload, DHCP-provided ACS URL), with the same
    /// checks as an ACS write; publishes a change with origin `.local` when anything changed.
    public func update(_ body: (inout ManagementServerSettings) -> Void) throws(ProxierError) {
        var copy = settings
        body(&copy)
        try copy.validate()
        commit(copy, origin: .local)
    }

    /// New factory defaults (a configuration reload); the settings in effect are not changed by this.
    public func setFactoryDefaults(_ defaults: ManagementServerSettings) throws(ProxierError) {
        try defaults.validate()
        factoryDefaults = defaults
    }

    /// FactoryReset: the settings go back to `factoryDefaults`, published with origin `.factoryReset` (stored as a
    /// local change: the stored values of what changed are forgotten; the agent that called this applies the
    /// restored settings as part of its reset, not as a new change, so a restored URL raises no second BOOTSTRAP). The owning agent removes every other
    /// stored ManagementServer value itself (`ManagementServerSettings.isSettingsPath`): a value the ACS set equal
    /// to the default is no change here but must not survive the reset either.
    public func resetToFactoryDefaults() {
        commit(factoryDefaults, origin: .factoryReset)
    }

    /// Every change committed since the last `acknowledgePersisted`, oldest first: what the owning agent still has
    /// to write to its store. The agent writes an ACS change in the same transaction as the rest of the RPC, before
    /// the response goes out, so a `kill -9` after the ACS saw "applied" cannot lose it; it writes a local change
    /// (configuration reload) when it is told about it. One writer drains the journal in order, so a local change
    /// and a later ACS change of the same parameter reach the store in the order they were made.
    public var unpersistedChanges: [ManagementServerSettingsChange] { unpersisted }

    /// The first `count` entries of `unpersistedChanges` are in the store.
    public func acknowledgePersisted(_ count: Int) {
        unpersisted.removeFirst(min(max(count, 0), unpersisted.count))
    }

    /// The owning agent could not store the ACS's latest changes, so the RPC that made them failed and they must
    /// not take effect (TR-069: a method that does not complete leaves nothing changed): the settings go back to
    /// what they were before the unpersisted ACS changes at the end of the journal, which leave the journal, and
    /// observers see the way back as one more change (not journaled: the store holds those values already).
    public func rollBackUnpersistedACSChanges() {
        var first = unpersisted.endIndex
        while first > unpersisted.startIndex, unpersisted[first - 1].origin == .acs { first -= 1 }
        guard first < unpersisted.endIndex else { return }
        let restored = unpersisted[first].previous
        unpersisted.removeSubrange(first...)
        let old = settings
        guard restored != old else { return }
        settings = restored
        broadcaster.publish(ManagementServerSettingsChange(previous: old, current: restored, origin: .acs,
                                                           changedParameters: restored.changedParameters(comparedTo: old)))
    }

    /// The agent's connection-request server tells the URL it listens on (read-only for the ACS). The caller
    /// records the value change with the engine (`GatewayDataModel.setConnectionRequestURL` does both).
    public func setConnectionRequestURL(_ url: String) { connectionRequestURL = url }

    private func commit(_ new: ManagementServerSettings, origin: ManagementServerSettingsChange.Origin) {
        let old = settings
        guard new != old else { return }
        settings = new
        let change = ManagementServerSettingsChange(previous: old, current: new, origin: origin,
                                                    changedParameters: new.changedParameters(comparedTo: old))
        unpersisted.append(change)
        broadcaster.publish(change)
    }

    // MARK: Proxy tables (for the registry)

    /// Adds or replaces (same ControllerID+ProxiedDeviceID) an EmbeddedDevice row; returns its key. Every value is
    /// checked against the schema, so the ACS never reads a value its parser would refuse.
    @discardableResult
    public func addEmbeddedDevice(_ entry: EmbeddedDeviceEntry) throws(ProxierError) -> String {
        try check(entry.values, object: "Device.ManagementServer.EmbeddedDevice.{i}.")
        if let index = embeddedDevices.firstIndex(where: { $0.key == entry.key }) {
            embeddedDevices[index] = entry
        } else {
            embeddedDevices.append(entry)
        }
        return entry.key
    }

    /// Removes the EmbeddedDevice row with this key; returns whether there was one.
    @discardableResult
    public func removeEmbeddedDevice(key: String) -> Bool {
        let count = embeddedDevices.count
        embeddedDevices.removeAll { $0.key == key }
        return embeddedDevices.count != count
    }

    /// Adds or replaces (same OUI+ProductClass+SerialNumber) a VirtualDevice row; returns its key.
    @discardableResult
    public func addVirtualDevice(_ entry: VirtualDeviceEntry) throws(ProxierError) -> String {
        try check(entry.values, object: "Device.ManagementServer.VirtualDevice.{i}.")
        if let index = virtualDevices.firstIndex(where: { $0.key == entry.key }) {
            virtualDevices[index] = entry
        } else {
            virtualDevices.append(entry)
        }
        return entry.key
    }

    @discardableResult
    public func removeVirtualDevice(key: String) -> Bool {
        let count = virtualDevices.count
        virtualDevices.removeAll { $0.key == key }
        return virtualDevices.count != count
    }

    public var embeddedDeviceEntries: [EmbeddedDeviceEntry] { embeddedDevices }
    public var virtualDeviceEntries: [VirtualDeviceEntry] { virtualDevices }

    private func check(_ values: [String: String], object: String) throws(ProxierError) {
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            guard let parameter = tree.parameter(atTemplate: object + name) else { continue }
            do throws(ProxierError) {
                _ = try parameter.validate(value, declaredType: nil)
            } catch {
                throw ProxierError(.invalidValue, "\(object)\(name): \(error.reason)")
            }
        }
    }

    /// Joins parts of a unique key; `%` and `/` inside parts are escaped so different rows never share a key.
    static func joinKey(_ parts: [String]) -> String {
        parts.map { $0.replacing("%", with: "%25").replacing("/", with: "%2F") }.joined(separator: "/")
    }

    // MARK: DataModelProvider

    public func instances(of tables: [ProviderPath]) async throws -> [[ProviderInstance]] {
        tables.map { table in
            switch table.template {
            case "Device.ManagementServer.InformParameter.": settings.informParameters.map { ProviderInstance(key: $0.key) }
            case "Device.ManagementServer.EmbeddedDevice.": embeddedDevices.map { ProviderInstance(key: $0.key) }
            case "Device.ManagementServer.VirtualDevice.": virtualDevices.map { ProviderInstance(key: $0.key) }
            default: [] // ManageableDevice (no TR-111 devices yet) and anything else.
            }
        }
    }

    public func values(of parameters: [ProviderPath]) async throws -> [String] {
        var result: [String] = []
        result.reserveCapacity(parameters.count)
        for parameter in parameters {
            guard parameter.template.hasPrefix(Self.prefix) else { throw ProxierError(.unknownPath, "\(parameter) is not served here") }
            let name = String(parameter.template.dropFirst(Self.prefix.count))
            guard let value = value(named: name, key: parameter.instanceKeys.last) else {
                throw ProxierError(.unknownPath, "\(parameter) is not served by the gateway's ManagementServer")
            }
            result.append(value)
        }
        return result
    }

    private func value(named name: String, key: String?) -> String? {
        if ManagementServerSettings.securedFields.contains(name) { return "" }
        if let field = ManagementServerSettings.fields[name] { return field.get(settings) }
        switch name {
        case "ConnectionRequestURL": return settings.httpConnectionRequestEnable ? connectionRequestURL : ""
        case "AliasBasedAddressing": return String(capabilities.aliasBasedAddressing)
        case "InstanceWildcardsSupported": return String(capabilities.instanceWildcardsSupported)
        case "SupportedConnReqMethods": return capabilities.supportedConnReqMethods.joined(separator: ",")
        case "HTTPCompressionSupported": return capabilities.httpCompressionSupported.joined(separator: ",")
        case "NATDetected": return "false"
        case "UDPConnectionRequestAddress": return ""
        default: break
        }
        let tablePrefixes = ["InformParameter.{i}.", "EmbeddedDevice.{i}.", "VirtualDevice.{i}."]
        guard let key, let table = tablePrefixes.first(where: { name.hasPrefix($0) }) else { return nil }
        let field = String(name.dropFirst(table.count))
        switch table {
        case "InformParameter.{i}.":
            return settings.informParameters.first { $0.key == key }.flatMap { ManagementServerSettings.informParameterValue(field, of: $0) }
        case "EmbeddedDevice.{i}.": return embeddedDevices.first { $0.key == key }?.values[field]
        default: return virtualDevices.first { $0.key == key }?.values[field]
        }
    }

    /// Applies values to a copy of the settings; the copy and any refusals, by index.
    private func applying(_ values: [ProviderParameterValue]) -> (ManagementServerSettings, [ProviderSetValuesError.Entry]) {
        var copy = settings
        var entries: [ProviderSetValuesError.Entry] = []
        var rowOfValue: [Int: String] = [:]
        for (index, value) in values.enumerated() {
            let name = String(value.path.template.dropFirst(Self.prefix.count))
            func refuse(_ code: CWMPFault.Code, _ reason: String) {
                entries.append(.init(index: index, faultCode: code, reason: "ManagementServer.\(name) \(reason)"))
            }
            if let field = ManagementServerSettings.fields[name], value.path.template.hasPrefix(Self.prefix) {
                if let reason = field.set(&copy, value.value) { refuse(.invalidParameterValue, reason) }
            } else if name.hasPrefix("InformParameter.{i}."), let key = value.path.instanceKeys.last,
                      let row = copy.informParameters.firstIndex(where: { $0.key == key }) {
                rowOfValue[index] = key
                let field = String(name.dropFirst("InformParameter.{i}.".count))
                if let reason = ManagementServerSettings.setInformParameter(field, of: &copy.informParameters[row], to: value.value) {
                    refuse(ManagementServerSettings.informParameterFields.contains(field) ? .invalidParameterValue
                           : .attemptToSetNonWritableParameter, reason)
                }
            } else {
                refuse(.invalidParameterName, "is not writable on the gateway")
            }
        }
        let duplicates = Set(copy.duplicateInformParameterKeys())
        if !duplicates.isEmpty {
            for (index, key) in rowOfValue.sorted(by: { $0.key < $1.key }) where duplicates.contains(key) {
                entries.append(.init(index: index, faultCode: .invalidParameterValue,
                                     reason: "another enabled InformParameter row names the same parameter"))
            }
            if entries.isEmpty, let first = rowOfValue.keys.min() {
                entries.append(.init(index: first, faultCode: .invalidParameterValue,
                                     reason: "another enabled InformParameter row names the same parameter"))
            }
        }
        return (copy, entries)
    }

    public func validateValues(_ values: [ProviderParameterValue]) async throws {
        let (_, entries) = applying(values)
        if !entries.isEmpty { throw ProviderSetValuesError(entries: entries) }
    }

    public func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus {
        let (copy, entries) = applying(values)
        if !entries.isEmpty { throw ProviderSetValuesError(entries: entries) }
        commit(copy, origin: .acs)
        return .applied
    }

    public func addInstance(to table: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus) {
        guard table.template == "Device.ManagementServer.InformParameter." else {
            throw ProxierError(.unknownPath, "\(table) is not a table the ACS can add to")
        }
        // The instance number is a fine key: numbers are never reused, so neither are keys.
        var key = String(instanceNumber)
        while settings.informParameters.contains(where: { $0.key == key }) { key += "+" }
        var copy = settings
        copy.informParameters.append(ManagementServerSettings.InformParameter(key: key))
        commit(copy, origin: .acs)
        return (key, .applied)
    }

    public func deleteInstance(_ instance: ProviderPath) async throws -> ApplyStatus {
        guard instance.template == "Device.ManagementServer.InformParameter.{i}.", let key = instance.instanceKeys.last,
              settings.informParameters.contains(where: { $0.key == key }) else {
            throw ProxierError(.unknownPath, "\(instance) is not an instance the ACS can delete")
        }
        var copy = settings
        copy.informParameters.removeAll { $0.key == key }
        commit(copy, origin: .acs)
        return .applied
    }
}
