// `Device.IP.Interface.{i}.` and `Device.Ethernet.Interface.{i}.` of the gateway, from /sys/class/net.
//
// Every Linux network device is an IP interface; those of ARPHRD_ETHER type (1), loopback excluded, are also
// Ethernet interfaces. Instances are keyed by the interface name (TR-181's unique key Name): a renamed device is a
// new instance. Neither table can be added to or deleted from by the ACS (the gateway's schema makes them
// read-only tables), and LowerLayers is not served because a provider cannot know the instance numbers the engine
// gives the Ethernet rows.
//
// Writable parameters (Enable, MaxMTUSize, MaxBitRate) change the host only through a
// `NetworkInterfaceAdministration` hook. Without one, writing the current value is accepted (a no-op, so an ACS
// that re-applies a whole configuration succeeds) and any other value is refused with 9001 Request denied: the
// proxier must not take the host's links down on an ACS's word unless the integrator chose to allow it.
//
// Status: operstate up/down/dormant/notpresent/lowerlayerdown map one to one; "unknown" (loopback, many virtual
// devices) maps to Up when the device is administratively up, Down otherwise; "testing" to Unknown. An interface
// that disappears between the listing and the read reads as NotPresent with zero counters. Statistics are the
// kernel's 64-bit counters; StatsCounter32 parameters wrap modulo 2^32 as TR-181 counters do.
#if canImport(Glibc)
import Glibc
#endif
import CWMPClient

/// Changes the host's network interfaces on behalf of the ACS; the integrator decides whether that is allowed.
public protocol NetworkInterfaceAdministration: Sendable {
    /// Brings an interface administratively up or down (`ip link set dev NAME up|down`).
    func setEnable(_ enable: Bool, interface: String) async throws
    /// Sets the MTU (`ip link set dev NAME mtu N`).
    func setMaxMTUSize(_ mtu: UInt32, interface: String) async throws
}

/// One network device as read from sysfs.
struct NetworkInterfaceReading: Hashable, Sendable {
    var name: String
    var present: Bool
    var flags: UInt32
    var operState: String
    var mtu: UInt64
    var address: String
    var type: UInt32
    /// Mbit/s; `nil` when the driver does not know (virtual devices, link down).
    var speed: Int64?
    var statistics: [String: UInt64]

    var isUp: Bool { flags & 0x1 != 0 }
    var isLoopback: Bool { flags & 0x8 != 0 || type == 772 }
    var isEthernet: Bool { type == 1 && !isLoopback }

    var status: String {
        guard present else { return "NotPresent" }
        switch operState {
        case "up": return "Up"
        case "down": return "Down"
        case "dormant": return "Dormant"
        case "notpresent": return "NotPresent"
        case "lowerlayerdown": return "LowerLayerDown"
        case "testing": return "Unknown"
        default: return isUp ? "Up" : "Down"
        }
    }

    /// TR-181 IP.Interface Type.
    var ipType: String {
        if isLoopback { return "Loopback" }
        // ARPHRD_TUNNEL, TUNNEL6, SIT, IPGRE, IP6GRE, NONE (tun devices).
        return [768, 769, 776, 778, 823, 65534].contains(type) ? "Tunnel" : "Normal"
    }

    /// MaxMTUSize is 64…65535 in TR-181; loopback's 65536 is reported as the maximum.
    var maxMTUSize: UInt32 { UInt32(min(65535, max(64, mtu))) }

    /// Lower-case MAC address, or empty when the device has none of the 6-octet kind.
    var macAddress: String {
        let lowered = address.lowercased()
        return ProcParsers.isMACAddress(lowered) ? lowered : ""
    }

    static func absent(_ name: String) -> NetworkInterfaceReading {
        NetworkInterfaceReading(name: name, present: false, flags: 0, operState: "notpresent", mtu: 1500, address: "", type: 0,
                                speed: nil, statistics: [:])
    }
}

public actor NetworkInterfaceProvider: DataModelProvider {
    public static let ipMountPath = "Device.IP."
    public static let ethernetMountPath = "Device.Ethernet."

    private let paths: HostPaths
    private let administration: (any NetworkInterfaceAdministration)?

    public init(paths: HostPaths = HostPaths(), administration: (any NetworkInterfaceAdministration)? = nil) {
        self.paths = paths
        self.administration = administration
    }

    /// Stats parameter → sysfs statistics file, and whether the parameter is a 32-bit counter.
    static let statistics: [String: (file: String, is32Bit: Bool)] = [
        "BytesSent": ("tx_bytes", false), "BytesReceived": ("rx_bytes", false),
        "PacketsSent": ("tx_packets", false), "PacketsReceived": ("rx_packets", false),
        "ErrorsSent": ("tx_errors", true), "ErrorsReceived": ("rx_errors", true),
        "DiscardPacketsSent": ("tx_dropped", true), "DiscardPacketsReceived": ("rx_dropped", true),
        "MulticastPacketsReceived": ("multicast", false), "Collisions": ("collisions", false),
    ]

    func interfaceNames() -> [String] {
        HostFiles.list(paths.sys + "/class/net").filter { !$0.contains("/") }.sorted()
    }

    func read(_ name: String) -> NetworkInterfaceReading {
        let directory = paths.sys + "/class/net/" + name
        guard !name.contains("/"), name != "..", let flagsText = HostFiles.line(directory + "/flags") else { return .absent(name) }
        let flags = UInt32(flagsText.hasPrefix("0x") ? String(flagsText.dropFirst(2)) : flagsText, radix: 16) ?? 0
        var statistics: [String: UInt64] = [:]
        for (file, _) in Self.statistics.values {
            statistics[file] = HostFiles.line(directory + "/statistics/" + file).flatMap { UInt64($0) } ?? 0
        }
        return NetworkInterfaceReading(
            name: name, present: true, flags: flags, operState: HostFiles.line(directory + "/operstate") ?? "unknown",
            mtu: HostFiles.line(directory + "/mtu").flatMap { UInt64($0) } ?? 0,
            address: HostFiles.line(directory + "/address") ?? "",
            type: HostFiles.line(directory + "/type").flatMap { UInt32($0) } ?? 0,
            // Reading speed fails (EINVAL) on virtual devices and links that are down.
            speed: HostFiles.line(directory + "/speed").flatMap { Int64($0) },
            statistics: statistics)
    }

    func upstreamInterfaces() -> Set<String> {
        HostFiles.read(paths.proc + "/net/route", limit: 1 << 20).map(ProcParsers.defaultRouteInterfaces) ?? []
    }

    // MARK: DataModelProvider

    public func instances(of tables: [ProviderPath]) async throws -> [[ProviderInstance]] {
        tables.map { table in
            switch table.template {
            case "Device.IP.Interface.": interfaceNames().map { ProviderInstance(key: $0) }
            case "Device.Ethernet.Interface.": interfaceNames().filter { read($0).isEthernet }.map { ProviderInstance(key: $0) }
            default: []
            }
        }
    }

    public func values(of parameters: [ProviderPath]) async throws -> [String] {
        var readings: [String: NetworkInterfaceReading] = [:]
        var upstream: Set<String>?
        var result: [String] = []
        result.reserveCapacity(parameters.count)
        for parameter in parameters {
            guard let name = parameter.instanceKeys.last else {
                throw ProxierError(.unknownPath, "\(parameter) is not served by the gateway's interfaces")
            }
            let reading = readings[name] ?? read(name)
            readings[name] = reading
            let template = parameter.template
            let field: Substring
            if template.hasPrefix("Device.IP.Interface.{i}.") {
                field = template.dropFirst("Device.IP.Interface.{i}.".count)
            } else if template.hasPrefix("Device.Ethernet.Interface.{i}.") {
                field = template.dropFirst("Device.Ethernet.Interface.{i}.".count)
            } else {
                throw ProxierError(.unknownPath, "\(parameter) is not served by the gateway's interfaces")
            }
            switch field {
            case "Enable": result.append(String(reading.isUp))
            case "Status": result.append(reading.status)
            case "Name": result.append(name)
            case "Type": result.append(reading.ipType)
            case "MaxMTUSize": result.append(String(reading.maxMTUSize))
            case "MACAddress": result.append(reading.macAddress)
            case "MaxBitRate": result.append("-1")
            case "CurrentBitRate": result.append(String(UInt32(clamping: max(0, reading.speed ?? 0))))
            case "Upstream":
                let routes = upstream ?? upstreamInterfaces()
                upstream = routes
                result.append(String(routes.contains(name)))
            default:
                guard field.hasPrefix("Stats."), let stat = Self.statistics[String(field.dropFirst(6))] else {
                    throw ProxierError(.unknownPath, "\(parameter) is not served by the gateway's interfaces")
                }
                let value = reading.statistics[stat.file] ?? 0
                result.append(stat.is32Bit ? String(UInt32(truncatingIfNeeded: value)) : String(value))
            }
        }
        return result
    }

    /// Per value: `nil` when it equals the current value (nothing to do), otherwise the change to make.
    private enum Change {
        case enable(Bool, String)
        case mtu(UInt32, String)
    }

    private func changes(_ values: [ProviderParameterValue]) throws -> [Change] {
        var entries: [ProviderSetValuesError.Entry] = []
        var changes: [Change] = []
        for (index, value) in values.enumerated() {
            guard let name = value.path.instanceKeys.last else {
                entries.append(.init(index: index, faultCode: .invalidParameterName, reason: "\(value.path) is not an interface parameter"))
                continue
            }
            let reading = read(name)
            switch value.path.template {
            case "Device.IP.Interface.{i}.Enable", "Device.Ethernet.Interface.{i}.Enable":
                let enable = value.value == "true" || value.value == "1"
                if enable != reading.isUp { changes.append(.enable(enable, name)) }
            case "Device.IP.Interface.{i}.MaxMTUSize":
                guard let mtu = UInt32(value.value) else {
                    entries.append(.init(index: index, faultCode: .invalidParameterValue, reason: "MaxMTUSize is not a number"))
                    continue
                }
                if mtu != reading.maxMTUSize { changes.append(.mtu(mtu, name)) }
            case "Device.Ethernet.Interface.{i}.MaxBitRate":
                // Only automatic selection (-1) is offered: the proxier does not force link speeds.
                if value.value != "-1" {
                    entries.append(.init(index: index, faultCode: .invalidParameterValue, reason: "only -1 (automatic) is supported"))
                }
            default:
                entries.append(.init(index: index, faultCode: .attemptToSetNonWritableParameter,
                                     reason: "\(value.path) is not writable on the gateway"))
            }
        }
        if !entries.isEmpty { throw ProviderSetValuesError(entries: entries) }
        if !changes.isEmpty, administration == nil {
            throw ProxierError(.requestDenied, "the gateway does not change its host's interfaces (no administration hook)")
        }
        return changes
    }

    public func validateValues(_ values: [ProviderParameterValue]) async throws {
        _ = try changes(values)
    }

    public func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus {
        let changes = try changes(values)
        guard let administration else { return .applied }
        for change in changes {
            switch change {
            case .enable(let enable, let name): try await administration.setEnable(enable, interface: name)
            case .mtu(let mtu, let name): try await administration.setMaxMTUSize(mtu, interface: name)
            }
        }
        return .applied
    }

    public func addInstance(to table: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus) {
        throw ProxierError(.unknownPath, "\(table) is not a table the ACS can add to")
    }

    public func deleteInstance(_ instance: ProviderPath) async throws -> ApplyStatus {
        throw ProxierError(.unknownPath, "\(instance) is not an instance the ACS can delete")
    }
}
