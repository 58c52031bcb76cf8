// The small rest of the gateway's tree: `Device.` itself (RootDataModelVersion), `Device.Time.`,
// `Device.LANConfigSecurity.`, `Device.GatewayInfo.` and `Device.Hosts.`.
//
// * Time.CurrentLocalTime is written in UTC (`Z`): the instant is exact whatever LocalTimeZone says, and applying
//   a POSIX TZ string would mean setting the process-wide TZ variable under other threads. Time.Status is
//   Synchronized when systemd-timesyncd's flag file exists (or the hook says so), Unsynchronized otherwise: Glibc's
//   Swift module does not expose adjtimex().
// * GatewayInfo describes an upstream gateway that is itself managed by CWMP (TR-111); none is known, so its
//   parameters are empty, as TR-181 allows.
// * Hosts.Host.{i} lists complete entries of the kernel's ARP table on interfaces that do not carry the default
//   route (so the upstream router is not reported as a LAN host), keyed by MAC address (TR-181's unique key
//   PhysAddress); a host seen with several IPv4 addresses shows the first.
#if canImport(Glibc)
import Glibc
#endif
import CWMPClient

public actor GatewayDeviceProvider: DataModelProvider {
    public static let mountPath = "Device."

    private let paths: HostPaths
    private let localSettings: GatewayLocalSettingsStore
    private let rootDataModelVersion: String
    private let isTimeSynchronized: @Sendable () -> Bool
    private let now: @Sendable () -> Int64

    /// `isTimeSynchronized` and `now` default to the host's; tests inject their own.
    public init(localSettings: GatewayLocalSettingsStore, paths: HostPaths = HostPaths(),
                rootDataModelVersion: String = GatewayDeviceProvider.rootDataModelVersion(of: DataModelSchema.tr181Version),
                isTimeSynchronized: (@Sendable () -> Bool)? = nil, now: (@Sendable () -> Int64)? = nil) {
        self.paths = paths
        self.localSettings = localSettings
        self.rootDataModelVersion = rootDataModelVersion
        let flag = paths.timeSynchronizedFlag
        self.isTimeSynchronized = isTimeSynchronized ?? { HostFiles.exists(flag) }
        self.now = now ?? { HostConstants.now() }
    }

    /// `Device:2.19.1` → `2.19` (RootDataModelVersion is Major.Minor).
    public static func rootDataModelVersion(of modelVersion: String) -> String {
        let version = modelVersion.split(separator: ":").last ?? ""
        return version.split(separator: ".").prefix(2).joined(separator: ".")
    }

    func hosts() -> [ARPEntry] {
        let upstream = HostFiles.read(paths.proc + "/net/route").map(ProcParsers.defaultRouteInterfaces) ?? []
        var seen: Set<String> = []
        return (HostFiles.read(paths.proc + "/net/arp").map(ProcParsers.arpEntries) ?? []).filter { entry in
            !upstream.contains(entry.device) && seen.insert(entry.macAddress).inserted
        }
    }

    // MARK: DataModelProvider

    public func instances(of tables: [ProviderPath]) async throws -> [[ProviderInstance]] {
        let needsHosts = tables.contains { $0.template == "Device.Hosts.Host." }
        let hosts = needsHosts ? self.hosts() : []
        return tables.map { $0.template == "Device.Hosts.Host." ? hosts.map { ProviderInstance(key: $0.macAddress) } : [] }
    }

    public func values(of parameters: [ProviderPath]) async throws -> [String] {
        var hostsByMAC: [String: ARPEntry]?
        var result: [String] = []
        result.reserveCapacity(parameters.count)
        for parameter in parameters {
            switch parameter.template {
            case "Device.RootDataModelVersion": result.append(rootDataModelVersion)
            case "Device.Time.Status": result.append(isTimeSynchronized() ? "Synchronized" : "Unsynchronized")
            case "Device.Time.CurrentLocalTime":
                result.append((try? CWMPDateTime(secondsSince1970: now()).rawValue) ?? ParameterSchema.unknownTime)
            case "Device.Time.LocalTimeZone": result.append(localSettings.current.localTimeZone)
            case "Device.LANConfigSecurity.ConfigPassword": result.append("")
            case "Device.GatewayInfo.ManufacturerOUI", "Device.GatewayInfo.ProductClass", "Device.GatewayInfo.SerialNumber":
                result.append("")
            case "Device.Hosts.Host.{i}.PhysAddress", "Device.Hosts.Host.{i}.IPAddress", "Device.Hosts.Host.{i}.HostName",
                 "Device.Hosts.Host.{i}.Active":
                let hosts = hostsByMAC ?? Dictionary(self.hosts().map { ($0.macAddress, $0) }, uniquingKeysWith: { first, _ in first })
                hostsByMAC = hosts
                let key = parameter.instanceKeys.last ?? ""
                let host = hosts[key]
                switch parameter.template {
                case "Device.Hosts.Host.{i}.PhysAddress": result.append(key)
                case "Device.Hosts.Host.{i}.IPAddress": result.append(host?.ipAddress ?? "")
                case "Device.Hosts.Host.{i}.HostName": result.append("")
                default: result.append(String(host != nil))
                }
            default:
                throw ProxierError(.unknownPath, "\(parameter) is not served by the gateway")
            }
        }
        return result
    }

    /// POSIX TZ strings are printable ASCII without spaces (`CET-1CEST,M3.5.0/2,M10.5.0/3`, `<+0330>-3:30`).
    static func isPOSIXTimeZone(_ value: String) -> Bool {
        value.unicodeScalars.allSatisfy { (0x21...0x7E).contains($0.value) }
    }

    public func validateValues(_ values: [ProviderParameterValue]) async throws {
        var entries: [ProviderSetValuesError.Entry] = []
        for (index, value) in values.enumerated() {
            switch value.path.template {
            case "Device.Time.LocalTimeZone":
                if !Self.isPOSIXTimeZone(value.value) {
                    entries.append(.init(index: index, faultCode: .invalidParameterValue, reason: "LocalTimeZone is not a POSIX TZ string"))
                }
            case "Device.LANConfigSecurity.ConfigPassword": break
            default:
                entries.append(.init(index: index, faultCode: .attemptToSetNonWritableParameter,
                                     reason: "\(value.path) is not writable on the gateway"))
            }
        }
        if !entries.isEmpty { throw ProviderSetValuesError(entries: entries) }
    }

    public func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus {
        try await validateValues(values)
        localSettings.update { settings in
            for value in values {
                if value.path.template == "Device.Time.LocalTimeZone" { settings.localTimeZone = value.value }
                if value.path.template == "Device.LANConfigSecurity.ConfigPassword" { settings.configPassword = value.value }
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
