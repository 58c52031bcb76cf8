// `Device.UPnP.Discovery.` (TR-181): the SSDP view of the LAN, served from discovery's snapshot.
//
// * Row keys are discovery's own decimal keys, which are never reused; the engine adopts a decimal key as the
//   instance number when that number was never used, so in a fresh data model RootDevice.7 is discovery's device 7.
//   That is what makes `Service.{i}.ParentDevice` (a path with an instance number) computable here.
// * NumberOfEntries come from the engine, which counts the instances listed here.
// * Inactive rows (LeaseExpired, ByebyeReceived) stay listed for discovery's `inactiveRetention`, as TR-181 allows.
// * LastUpdate is the wall-clock time of the last advertisement: now minus the time since it.
// * Host would be a list of references to `Device.Hosts.Host.` rows, which another provider numbers from the ARP
//   table; the reference is not resolved yet, so Host is empty (an empty list is a valid value).
#if canImport(Glibc)
import Glibc
#endif
import CWMPClient
import Proxier

public final class UPnPDiscoveryProvider: DataModelProvider {
    public static let mountPath = "Device.UPnP.Discovery."

    let snapshot: @Sendable () -> SSDPDiscoverySnapshot
    let now: @Sendable () -> Int64

    /// `snapshot` is usually `discovery.snapshot`; `now` (seconds since 1970) defaults to the real-time clock.
    public init(snapshot: @escaping @Sendable () -> SSDPDiscoverySnapshot, now: (@Sendable () -> Int64)? = nil) {
        self.snapshot = snapshot
        self.now = now ?? {
            var time = timespec()
            clock_gettime(CLOCK_REALTIME, &time)
            return Int64(time.tv_sec)
        }
    }

    public convenience init(discovery: SSDPDiscovery) {
        self.init(snapshot: { discovery.snapshot() })
    }

    public func instances(of tables: [ProviderPath]) async throws -> [[ProviderInstance]] {
        let current = snapshot()
        return try tables.map { table in
            switch table.template {
            case "Device.UPnP.Discovery.RootDevice.": current.rootDevices.map { ProviderInstance(key: $0.key) }
            case "Device.UPnP.Discovery.Device.": current.devices.map { ProviderInstance(key: $0.key) }
            case "Device.UPnP.Discovery.Service.": current.services.map { ProviderInstance(key: $0.key) }
            default: throw ProxierError(.unknownPath, "\(table) is not a table of UPnP discovery")
            }
        }
    }

    public func values(of parameters: [ProviderPath]) async throws -> [String] {
        let current = snapshot()
        let wallClock = now()
        let rootDevices = Dictionary(current.rootDevices.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let devices = Dictionary(current.devices.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let services = Dictionary(current.services.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        func lastUpdate(_ age: Duration) -> String {
            (try? CWMPDateTime(secondsSince1970: wallClock - age.components.seconds).rawValue) ?? ParameterSchema.unknownTime
        }
        return try parameters.map { parameter in
            let key = parameter.instanceKeys.last ?? ""
            let table = parameter.template.split(separator: ".").dropFirst(3).first.map(String.init) ?? ""
            let name = parameter.template.split(separator: ".").last.map(String.init) ?? ""
            switch table {
            case "RootDevice", "Device":
                guard let row = (table == "RootDevice" ? rootDevices : devices)[key] else {
                    throw ProxierError(.unknownPath, "\(parameter) is not a discovered device")
                }
                switch name {
                case "Status": return row.status.rawValue
                case "UUID": return row.uuid
                case "USN": return row.usn
                case "LeaseTime": return String(row.leaseTime)
                case "Location": return row.location
                case "Server": return row.server
                case "Host": return ""
                case "LastUpdate": return lastUpdate(row.sinceLastUpdate)
                default: break
                }
            case "Service":
                guard let row = services[key] else { throw ProxierError(.unknownPath, "\(parameter) is not a discovered service") }
                switch name {
                case "Status": return row.status.rawValue
                case "USN": return row.usn
                case "LeaseTime": return String(row.leaseTime)
                case "Location": return row.location
                case "Server": return row.server
                case "Host": return ""
                case "LastUpdate": return lastUpdate(row.sinceLastUpdate)
                case "ParentDevice":
                    guard let parentKey = row.parentKey else { return "" }
                    return "Device.UPnP.Discovery.\(row.parentIsRoot ? "RootDevice" : "Device").\(parentKey)"
                default: break
                }
            default: break
            }
            throw ProxierError(.unknownPath, "\(parameter) is not served by UPnP discovery")
        }
    }

    public func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus {
        throw ProviderSetValuesError(entries: values.indices.map {
            .init(index: $0, faultCode: .attemptToSetNonWritableParameter, reason: "UPnP discovery is read-only")
        })
    }

    public func validateValues(_ values: [ProviderParameterValue]) async throws {
        _ = try await setValues(values)
    }

    public func addInstance(to table: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus) {
        throw ProxierError(.unknownPath, "\(table) is not a table the ACS can add to")
    }

    public func deleteInstance(_ instance: ProviderPath) async throws -> ApplyStatus {
        throw ProxierError(.unknownPath, "\(instance) is not an instance the ACS can delete")
    }
}

extension UPnPDiscoveryProvider {
    /// The Discovery subtree's objects, for the gateway's schema.
    public static let supportedPaths: Set<String> = [
        "Device.UPnP.Discovery.", "Device.UPnP.Discovery.RootDevice.{i}.", "Device.UPnP.Discovery.Device.{i}.",
        "Device.UPnP.Discovery.Service.{i}.",
    ]

    /// This provider as a mount of the gateway's data model (`GatewayHooks.additionalMounts`).
    public var gatewayMount: GatewayMount {
        GatewayMount(path: Self.mountPath, supportedPaths: Self.supportedPaths, provider: self)
    }
}
