// One look at the UPnP DM devices on some interfaces, for `cwmp-proxy discover --upnp`: one SSDP search burst
// (the SSDP engine repeats each target over the MX window), a wait of MX + 1 s for the answers, then for every
// ManageableDevice or device advertising a DM service: its description, its CWMP identity (UPnPDMDeviceIdentity's
// rule), its services, and the TR-181 parameters it would expose with their current values. The parameters are read
// exactly as a virtual CWMP device reads them: a discovering UPnPDMProvider mounted at `Device.` of a fresh TR-181
// engine, then one GetParameterValues of `Device.`. Devices are inspected concurrently, each within its own
// deadline; a device that fails keeps its error in its report and the others are unaffected.
//
// Every socket is pinned to the named interfaces: SSDP through SSDPDiscovery, and the HTTP/SOAP client binds the
// interface address whose subnet holds the device (else the first address of the interfaces), so nothing follows
// the default route out of another interface.

import CWMPClient
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Proxier

/// What `discover --upnp` reports for one device. Field names are the JSON keys.
public struct UPnPDMSurveyReport: Codable, Hashable, Sendable {
    public struct Identity: Codable, Hashable, Sendable {
        public var manufacturer: String
        public var manufacturerOUI: String
        public var productClass: String
        public var serialNumber: String
        /// Where each field came from (`dmDeviceInfo`, `description`, `macAddress`, `udn`, `fallback`).
        public var source: Source
    }

    public struct Source: Codable, Hashable, Sendable {
        public var manufacturerOUI: String
        public var productClass: String
        public var serialNumber: String
    }

    public struct Service: Codable, Hashable, Sendable {
        public var serviceType: String
        public var serviceId: String
        public var controlURL: String
        public var eventSubURL: String
    }

    public struct Parameter: Codable, Hashable, Sendable {
        public var name: String
        public var value: String
        /// The CWMP type (`string`, `unsignedInt`, `boolean`, …).
        public var type: String
    }

    /// `uuid:…`
    public var udn: String
    public var location: String
    public var server: String
    public var bootId: UInt32?
    public var deviceType: String?
    public var friendlyName: String?
    public var identity: Identity?
    public var services: [Service]
    public var parameters: [Parameter]
    /// Why the device could not be read completely (what was read before stays in the report).
    public var error: String?
}

public enum UPnPDMSurvey {
    public struct Configuration: Sendable {
        /// Interface names or addresses; never empty.
        public var interfaces: [String]
        /// The M-SEARCH MX (1…5 s).
        public var mx: Int
        /// How long answers are collected after the search starts (MX + 1 s by default).
        public var searchWait: Duration
        /// The deadline of one device's inspection (description, identity, parameters).
        public var deviceTimeout: Duration
        /// The OUI the identity rule falls back on when the device gives none.
        public var fallbackOUI: String
        public var ipv6: Bool

        public init(interfaces: [String], mx: Int = 2, searchWait: Duration? = nil, deviceTimeout: Duration = .seconds(20),
                    fallbackOUI: String = "000000", ipv6: Bool = false) {
            self.interfaces = interfaces
            self.mx = min(max(mx, 1), 5)
            self.searchWait = searchWait ?? .seconds(self.mx + 1)
            self.deviceTimeout = deviceTimeout
            self.fallbackOUI = fallbackOUI
            self.ipv6 = ipv6
        }
    }

    static let dmDeviceType = "urn:schemas-upnp-org:device:ManageableDevice:2"
    static let dmServiceTypes: Set<String> = [
        ConfigurationManagementClient.serviceType, BasicManagementClient.serviceType, SoftwareManagementClient.serviceType,
    ]

    /// Searches, waits, and inspects every DM device found; the reports are ordered by UDN. Throws only when the
    /// search could not run (an unknown interface, no address, sockets that cannot be bound).
    public static func run(_ configuration: Configuration,
                           logger: Logger = Logger(label: "cwmp-proxy.discover")) async throws(UPnPDMError) -> [UPnPDMSurveyReport] {
        let discovery = SSDPDiscovery(
            configuration: .init(interfaces: configuration.interfaces,
                                 discovery: .init(mx: configuration.mx, searchInterval: nil), ipv6: configuration.ipv6),
            logger: logger)
        // Resolved first so that a bad interface is a clear error before any socket exists.
        let interfaces: [SSDPDiscovery.ResolvedInterface]
        do {
            interfaces = try discovery.resolveInterfaces()
        } catch {
            throw error as? UPnPDMError ?? UPnPDMError(.interfaceUnavailable, "the interfaces could not be resolved", underlying: error)
        }
        let localAddresses = interfaces.compactMap(\.ipv4)

        // run() fails fast when a socket cannot be bound; otherwise it runs until cancelled, which ends it once the
        // wait is over (the child awaiting it is not cancelled by the group, so the search is cancelled first).
        let search = Task { try await discovery.run() }
        let waited: Result<[SSDPDevice], any Error> = await {
            do {
                return .success(try await withThrowingTaskGroup(of: [SSDPDevice]?.self) { group in
                    group.addTask {
                        try await Task.sleep(for: configuration.searchWait)
                        return discovery.activeDevices
                    }
                    group.addTask {
                        try await search.value
                        return nil
                    }
                    let first = try await group.next() ?? nil
                    search.cancel()
                    group.cancelAll()
                    guard let first else {
                        throw UPnPDMError(.socketFailure, "SSDP discovery stopped before the search ended")
                    }
                    return first
                })
            } catch {
                return .failure(error)
            }
        }()
        search.cancel()
        _ = await search.result
        let found: [SSDPDevice]
        switch waited {
        case .success(let devices): found = devices
        case .failure(let error):
            throw error as? UPnPDMError ?? UPnPDMError(.socketFailure, "SSDP discovery failed", underlying: error)
        }

        let candidates = found.filter { device in
            device.deviceType == dmDeviceType || device.serviceTypes.contains(where: dmServiceTypes.contains)
        }
        logger.info("UPnP DM devices found", metadata: [
            "ssdp.devices": .stringConvertible(found.count), "upnp.dm_devices": .stringConvertible(candidates.count),
        ])
        return await withTaskGroup(of: UPnPDMSurveyReport.self) { group in
            for device in candidates {
                let local = localAddress(for: device.host, among: localAddresses)
                group.addTask {
                    await inspect(device, localAddress: local, configuration: configuration, logger: logger)
                }
            }
            var reports: [UPnPDMSurveyReport] = []
            for await report in group { reports.append(report) }
            return reports.sorted { $0.udn < $1.udn }
        }
    }

    /// The interface address on the device's subnet, else the first one: the source address of HTTP and SOAP.
    static func localAddress(for host: String, among devices: [NIONetworkDevice]) -> SocketAddress? {
        func bits(_ address: SocketAddress?) -> UInt32? {
            guard case .v4(let v4) = address else { return nil }
            return UInt32(bigEndian: v4.address.sin_addr.s_addr)
        }
        let peer = (try? SocketAddress(ipAddress: host, port: 0)).flatMap(bits)
        let chosen = devices.first { device in
            guard let peer, let own = bits(device.address), let mask = bits(device.netmask) else { return false }
            return own & mask == peer & mask
        } ?? devices.first
        return chosen?.address.flatMap { $0.ipAddress }.flatMap { try? SocketAddress(ipAddress: $0, port: 0) }
    }

    /// One device within `deviceTimeout`: whatever was read before a failure or the deadline stays in the report.
    static func inspect(_ device: SSDPDevice, localAddress: SocketAddress?, configuration: Configuration,
                        logger: Logger) async -> UPnPDMSurveyReport {
        let report = ReportBox(UPnPDMSurveyReport(
            udn: "uuid:" + device.uuid, location: device.location, server: device.server, bootId: device.bootID,
            deviceType: device.deviceType, friendlyName: nil, identity: nil, services: [], parameters: [], error: nil))
        let outcome: Result<Void, any Error> = await {
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await read(device, into: report, localAddress: localAddress, configuration: configuration, logger: logger) }
                    group.addTask {
                        try await Task.sleep(for: configuration.deviceTimeout)
                        throw UPnPDMError(.deadlineExceeded, "the device was not read within \(configuration.deviceTimeout)")
                    }
                    try await group.next()
                    group.cancelAll()
                }
                return .success(())
            } catch {
                return .failure(error)
            }
        }()
        var result = report.value
        if case .failure(let error) = outcome {
            result.error = String(describing: error)
            logger.info("UPnP DM device not read completely", metadata: [
                "upnp.udn": .string(result.udn), "error": .string(String(describing: error)),
            ])
        }
        return result
    }

    /// Description, services, identity, parameters; each step publishes into `report` as soon as it is done.
    static func read(_ found: SSDPDevice, into report: ReportBox, localAddress: SocketAddress?, configuration: Configuration,
                     logger: Logger) async throws {
        let http = UPnPHTTPClient(configuration: .init(
            connectTimeout: .seconds(3), timeout: .seconds(10), limits: .init(maximumBodyBytes: 4 << 20),
            localAddress: localAddress))
        let description = try await http.fetchDeviceDescription(location: found.location)
        guard let device = description.allDevices.first(where: { $0.uuid.lowercased() == found.uuid.lowercased() }) else {
            throw UPnPDMError(.invalidDescription, "the description at \(found.location) has no device uuid:\(found.uuid)")
        }
        report.update {
            $0.deviceType = device.deviceType
            $0.friendlyName = device.friendlyName
            $0.services = device.services.map {
                .init(serviceType: $0.serviceType, serviceId: $0.serviceId, controlURL: $0.controlURL, eventSubURL: $0.eventSubURL)
            }
        }
        let descriptionIdentity = UPnPDeviceDescriptionIdentity(device: device)
        guard let cmsService = device.service(type: ConfigurationManagementClient.serviceType) else {
            // No CMS: no parameters to read, and the identity is the description's alone.
            let identity = UPnPDMDeviceIdentity(dmDeviceInfo: [:], description: descriptionIdentity,
                                                fallbackOUI: configuration.fallbackOUI)
            report.update { $0.identity = Self.identity(identity) }
            return
        }
        let control = UPnPControlClient(httpClient: http, actionTimeout: .seconds(10), logger: logger)
        let cms = ConfigurationManagementClient(invoker: control, service: cmsService.endpoint)
        let identity = try await UPnPDMDeviceIdentity.read(using: cms, description: descriptionIdentity,
                                                           fallbackOUI: configuration.fallbackOUI)
        report.update { $0.identity = Self.identity(identity) }

        let location = DMPathMapping.bbfLocation(in: try await cms.getSupportedDataModels())
        let provider = try await UPnPDMProvider.discovering(cms: cms, mapping: DMPathMapping(location: location), logger: logger)
        let model = DataModel(schema: SchemaTree(.tr181))
        try await model.mount(provider, at: "Device.")
        let values = try await model.getParameterValues(["Device."])
        report.update {
            $0.parameters = values.map { .init(name: $0.name, value: $0.value, type: $0.type?.rawValue ?? "string") }
        }
    }

    static func identity(_ identity: UPnPDMDeviceIdentity) -> UPnPDMSurveyReport.Identity {
        .init(manufacturer: identity.deviceId.manufacturer, manufacturerOUI: identity.deviceId.oui,
              productClass: identity.deviceId.productClass, serialNumber: identity.deviceId.serialNumber,
              source: .init(manufacturerOUI: identity.ouiSource.rawValue, productClass: identity.productClassSource.rawValue,
                            serialNumber: identity.serialNumberSource.rawValue))
    }
}

/// A report filled in step by step by the reading task and read by the deadline's side.
final class ReportBox: Sendable {
    private let box: NIOLockedValueBox<UPnPDMSurveyReport>
    init(_ report: UPnPDMSurveyReport) { box = NIOLockedValueBox(report) }
    var value: UPnPDMSurveyReport { box.withLockedValue { $0 } }
    func update(_ change: (inout UPnPDMSurveyReport) -> Void) { box.withLockedValue { change(&$0) } }
}
