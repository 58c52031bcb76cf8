// SSDP discovery as a pure state machine (no I/O, time as an input), in the style of postgres-nio's
// ConnectionStateMachine: every input is a `mutating func` that returns the actions the shell must run, and the
// shell asks `nextDeadline` when to call `timerFired` next.
//
// What it keeps: one record per UUID (root or embedded device) and one per service USN, each with its lease.
// * Searching: a burst sends every search target `searchRepeats` times, spread over the first second, because UDP
//   loses datagrams and devices answer only once per M-SEARCH; bursts repeat every `searchInterval`.
// * Leases: any advertisement of a UUID keeps the device alive for its CACHE-CONTROL max-age; a service's own USN
//   keeps the service alive. No advertisement within the lease → LeaseExpired.
// * byebye: the device (and its services; for a root, its embedded devices too) becomes ByebyeReceived at once.
// * BOOTID.UPNP.ORG: a different value from a known device means it rebooted (subscriptions and the CWMP view are
//   stale). `ssdp:update` announces the next BOOTID for an interface change, which is not a reboot.
// * CONFIGID.UPNP.ORG: a different value means the description changed and must be fetched again.
// * Root or embedded: a UUID that advertised `upnp:rootdevice` is a root; a UUID whose LOCATION is a root's
//   description, but which never advertised `upnp:rootdevice`, is one of that root's embedded devices. A UUID
//   seen only through a service or device-type search counts as a root until a root with its LOCATION turns up.
// * Inactive rows stay listed (TR-181 allows it; the ACS sees *why* a device went) for `inactiveRetention`, then go.
// * Caps: at most `maximumDevices` UUIDs and `maximumServices` service USNs, so a flood cannot exhaust memory.

/// TR-181 `Device.UPnP.Discovery.*.Status`.
public enum SSDPLeaseStatus: String, Hashable, Sendable {
    case leaseActive = "LeaseActive"
    case leaseExpired = "LeaseExpired"
    case byebyeReceived = "ByebyeReceived"
}

/// A device as discovery knows it, handed to the rest of the proxier in events.
public struct SSDPDevice: Hashable, Sendable {
    public var uuid: String
    public var isRoot: Bool
    /// The root device's UUID for an embedded device (known once the root advertised).
    public var rootUUID: String?
    /// `urn:…:device:T:v`, once advertised.
    public var deviceType: String?
    public var location: String
    public var server: String
    /// The address the advertisement came from.
    public var host: String
    public var bootID: UInt32?
    public var configID: UInt32?
    /// The service types (`urn:…:service:T:v`) advertised under this UUID whose lease is active.
    public var serviceTypes: [String]
}

/// What discovery tells the UPnP provider, the GENA subscriber and the CLI.
public enum SSDPDiscoveryEvent: Hashable, Sendable {
    public enum LeaveReason: Hashable, Sendable {
        case byebye
        case leaseExpired
    }

    /// A UUID became known, or came back after it left.
    case found(SSDPDevice)
    /// A known device's LOCATION, SERVER, type, root/embedded role or active services changed.
    case changed(SSDPDevice)
    /// A known device announced a different BOOTID: it rebooted. Follows `found` when it had left before.
    case rebooted(SSDPDevice, previousBootID: UInt32)
    /// A known device announced a different CONFIGID: its description changed.
    case configurationChanged(SSDPDevice, previousConfigID: UInt32)
    /// The device sent ssdp:byebye or its lease expired; it stays listed as inactive for a while.
    case left(uuid: String, reason: LeaveReason)
}

/// The rows of `Device.UPnP.Discovery.` at one instant.
public struct SSDPDiscoverySnapshot: Hashable, Sendable {
    public struct DeviceEntry: Hashable, Sendable {
        /// Stable for the life of the row and never reused: the table's instance key.
        public var key: String
        public var status: SSDPLeaseStatus
        public var uuid: String
        public var usn: String
        public var leaseTime: UInt32
        public var location: String
        public var server: String
        public var host: String
        /// Time since the last advertisement (the provider turns it into LastUpdate with its wall clock).
        public var sinceLastUpdate: Duration
    }

    public struct ServiceEntry: Hashable, Sendable {
        public var key: String
        public var status: SSDPLeaseStatus
        public var usn: String
        public var uuid: String
        public var serviceType: String
        public var leaseTime: UInt32
        public var location: String
        public var server: String
        public var host: String
        public var sinceLastUpdate: Duration
        /// The key of the device row with the service's UUID, and whether it is in the RootDevice table.
        public var parentKey: String?
        public var parentIsRoot: Bool
    }

    public var rootDevices: [DeviceEntry] = []
    public var devices: [DeviceEntry] = []
    public var services: [ServiceEntry] = []

    public init() {}
}

public struct SSDPDiscoveryStateMachine: Sendable {
    public typealias Instant = ContinuousClock.Instant

    public struct Configuration: Hashable, Sendable {
        /// The root devices, the DM device type and the three DM services: DM services may sit on any device type
        /// (Rygel puts BasicManagement:2 on a MediaServer), so a control point searches for the services too.
        public static let defaultSearchTargets = [
            "upnp:rootdevice",
            "urn:schemas-upnp-org:device:ManageableDevice:2",
            "urn:schemas-upnp-org:service:ConfigurationManagement:2",
            "urn:schemas-upnp-org:service:BasicManagement:2",
            "urn:schemas-upnp-org:service:SoftwareManagement:2",
        ]

        public var searchTargets: [String]
        /// The M-SEARCH MX (1…5 s, UDA 1.1): devices answer within it.
        public var mx: Int
        /// How often each target is sent per burst, spread over the first second (at most MX).
        public var searchRepeats: Int
        /// Time between bursts (`nil`: one burst at start and on request only).
        public var searchInterval: Duration?
        /// How long a LeaseExpired or ByebyeReceived row stays listed.
        public var inactiveRetention: Duration
        public var maximumDevices: Int
        public var maximumServices: Int

        public init(searchTargets: [String] = Configuration.defaultSearchTargets, mx: Int = 2, searchRepeats: Int = 3,
                    searchInterval: Duration? = .seconds(600), inactiveRetention: Duration = .seconds(600),
                    maximumDevices: Int = 1024, maximumServices: Int = 4096) {
            self.searchTargets = searchTargets
            self.mx = min(max(mx, 1), 5)
            self.searchRepeats = max(searchRepeats, 1)
            self.searchInterval = searchInterval
            self.inactiveRetention = inactiveRetention
            self.maximumDevices = maximumDevices
            self.maximumServices = maximumServices
        }
    }

    public enum Action: Hashable, Sendable {
        /// Multicast an M-SEARCH for `target` with this MX on every interface.
        case sendSearch(target: String, mx: Int)
        case deliver(SSDPDiscoveryEvent)
    }

    struct DeviceRecord: Sendable {
        var key: UInt32
        var uuid: String
        var sawRootDevice = false
        var deviceType: String?
        var usn: SSDPUSN
        var status: SSDPLeaseStatus = .leaseActive
        var leaseTime: UInt32 = 0
        var location = ""
        var server = ""
        var host = ""
        var lastUpdate: Instant
        var expiresAt: Instant
        var inactiveSince: Instant?
        var bootID: UInt32?
        var configID: UInt32?
    }

    struct ServiceRecord: Sendable {
        var key: UInt32
        var usn: String
        var uuid: String
        var serviceType: String
        var status: SSDPLeaseStatus = .leaseActive
        var leaseTime: UInt32 = 0
        var location = ""
        var server = ""
        var host = ""
        var lastUpdate: Instant
        var expiresAt: Instant
        var inactiveSince: Instant?
    }

    public let configuration: Configuration
    var devices: [String: DeviceRecord] = [:]
    var services: [String: ServiceRecord] = [:]
    /// Keys are never reused, so an ACS never sees a number change its meaning (one counter for both device
    /// tables: a UUID keeps its key when it turns out to be embedded).
    var nextDeviceKey: UInt32 = 1
    var nextServiceKey: UInt32 = 1
    /// M-SEARCHes of the running burst, by when they are due.
    var pendingSearches: [(due: Instant, target: String)] = []
    var nextBurst: Instant?
    /// Advertisements dropped because a cap was reached.
    public private(set) var droppedForCapacity = 0

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    // MARK: Inputs

    /// Starts discovery: the first search burst.
    public mutating func start(now: Instant) -> [Action] { search(now: now) }

    /// Starts a search burst now (at start, periodically, or on request such as the CLI's `discover`).
    public mutating func search(now: Instant) -> [Action] {
        // The repeats go out within the first second (or MX, if shorter): a device answers each within MX, so even
        // an answer to the last repeat (the one that survives when the first were lost) is in by MX + 1 s.
        let step = min(Duration.seconds(configuration.mx), .seconds(1)) / configuration.searchRepeats
        for round in 0..<configuration.searchRepeats {
            for target in configuration.searchTargets { pendingSearches.append((now + step * round, target)) }
        }
        nextBurst = configuration.searchInterval.map { now + $0 }
        return timerFired(now: now)
    }

    /// When `timerFired` must be called next (`nil`: nothing is pending).
    public var nextDeadline: Instant? {
        var deadline = nextBurst
        func consider(_ instant: Instant) { deadline = min(deadline ?? instant, instant) }
        for search in pendingSearches { consider(search.due) }
        for record in devices.values {
            if let since = record.inactiveSince { consider(since + configuration.inactiveRetention) } else { consider(record.expiresAt) }
        }
        for record in services.values {
            if let since = record.inactiveSince { consider(since + configuration.inactiveRetention) } else { consider(record.expiresAt) }
        }
        return deadline
    }

    /// Runs what is due: searches, lease expiry, removal of old inactive rows, the next burst.
    public mutating func timerFired(now: Instant) -> [Action] {
        var actions: [Action] = []
        if let nextBurst, nextBurst <= now {
            self.nextBurst = nil
            actions += search(now: now)
        }
        let due = pendingSearches.filter { $0.due <= now }
        pendingSearches.removeAll { $0.due <= now }
        actions += due.map { .sendSearch(target: $0.target, mx: configuration.mx) }

        var expiredServiceUUIDs: Set<String> = []
        for usn in services.keys.sorted() {
            guard var record = services[usn] else { continue }
            if let since = record.inactiveSince {
                if since + configuration.inactiveRetention <= now { services[usn] = nil }
            } else if record.expiresAt <= now {
                record.status = .leaseExpired
                record.inactiveSince = now
                services[usn] = record
                expiredServiceUUIDs.insert(record.uuid)
            }
        }
        for record in devices.values.sorted(by: { $0.key < $1.key }) {
            if let since = record.inactiveSince {
                if since + configuration.inactiveRetention <= now { devices[record.uuid] = nil }
            } else if record.expiresAt <= now {
                actions += deactivate(uuid: record.uuid, as: .leaseExpired, now: now)
            } else if expiredServiceUUIDs.contains(record.uuid) {
                actions.append(.deliver(.changed(device(record.uuid))))
            }
        }
        return actions
    }

    /// An advertisement arrived from `host` (the sender's IP address).
    public mutating func received(_ advertisement: SSDPAdvertisement, from host: String, now: Instant) -> [Action] {
        let uuid = advertisement.usn.uuid
        if advertisement.kind == .byebye {
            switch advertisement.usn.kind {
            case .serviceType:
                guard var record = services[advertisement.usn.rawValue], record.inactiveSince == nil else { return [] }
                record.status = .byebyeReceived
                record.inactiveSince = now
                record.lastUpdate = now
                services[record.usn] = record
                guard devices[uuid]?.inactiveSince == nil, devices[uuid] != nil else { return [] }
                return [.deliver(.changed(device(uuid)))]
            case .rootDevice, .device, .deviceType:
                guard let record = devices[uuid], record.inactiveSince == nil else { return [] }
                var actions = deactivate(uuid: uuid, as: .byebyeReceived, now: now)
                // A root's byebye takes its embedded devices with it, even if their own byebyes were lost.
                if record.sawRootDevice || advertisement.usn.kind == .rootDevice {
                    for embedded in devices.values.sorted(by: { $0.key < $1.key })
                    where embedded.uuid != uuid && embedded.inactiveSince == nil && !embedded.sawRootDevice
                        && embedded.location == record.location {
                        actions += deactivate(uuid: embedded.uuid, as: .byebyeReceived, now: now)
                    }
                }
                return actions
            }
        }

        // alive, update, search response: the device first (any advertisement of a UUID shows it is there).
        let existing = devices[uuid]
        if existing == nil {
            guard devices.count < configuration.maximumDevices else {
                droppedForCapacity += 1
                return []
            }
        }
        let before = existing.map { device($0.uuid) }
        let wasActive = existing?.inactiveSince == nil && existing != nil
        let lease = Duration.seconds(advertisement.maxAge)
        var record = existing ?? DeviceRecord(key: takeDeviceKey(), uuid: uuid, usn: advertisement.usn, lastUpdate: now,
                                              expiresAt: now + lease)
        record.status = .leaseActive
        record.inactiveSince = nil
        record.lastUpdate = now
        record.expiresAt = wasActive ? max(record.expiresAt, now + lease) : now + lease
        record.leaseTime = advertisement.maxAge
        record.location = advertisement.location ?? record.location
        record.server = advertisement.server ?? record.server
        record.host = host
        switch advertisement.usn.kind {
        case .rootDevice:
            record.sawRootDevice = true
            if case .deviceType = record.usn.kind {} else { record.usn = advertisement.usn }
        case .deviceType(let type):
            record.deviceType = type
            record.usn = advertisement.usn
        case .device:
            if case .serviceType = record.usn.kind { record.usn = advertisement.usn }
        case .serviceType:
            break
        }
        var previousBootID: UInt32?
        if advertisement.kind == .update {
            // UDA 1.1 §1.2.4: the device will use NEXTBOOTID from now on; it did not reboot.
            record.bootID = advertisement.nextBootID ?? advertisement.bootID ?? record.bootID
        } else if let bootID = advertisement.bootID {
            if let old = record.bootID, old != bootID { previousBootID = old }
            record.bootID = bootID
        }
        var previousConfigID: UInt32?
        if let configID = advertisement.configID {
            if let old = record.configID, old != configID { previousConfigID = old }
            record.configID = configID
        }
        devices[uuid] = record

        if case .serviceType(let type) = advertisement.usn.kind { refreshService(advertisement, type: type, host: host, now: now) }

        let after = device(uuid)
        var actions: [Action] = []
        if !wasActive { actions.append(.deliver(.found(after))) }
        if let previousBootID { actions.append(.deliver(.rebooted(after, previousBootID: previousBootID))) }
        if let previousConfigID { actions.append(.deliver(.configurationChanged(after, previousConfigID: previousConfigID))) }
        if wasActive, previousBootID == nil, previousConfigID == nil, let before, !before.sameAdvertisedState(as: after) {
            actions.append(.deliver(.changed(after)))
        }
        // A root that appears turns devices with its LOCATION into its embedded devices.
        if record.sawRootDevice, !(existing?.sawRootDevice ?? false) {
            for other in devices.values.sorted(by: { $0.key < $1.key })
            where other.uuid != uuid && other.inactiveSince == nil && !other.sawRootDevice && other.location == record.location {
                actions.append(.deliver(.changed(device(other.uuid))))
            }
        }
        return actions
    }

    // MARK: Queries

    /// The known, active devices.
    public var activeDevices: [SSDPDevice] {
        devices.values.filter { $0.inactiveSince == nil }.sorted { $0.key < $1.key }.map { device($0.uuid) }
    }

    /// The Discovery tables' rows.
    public func snapshot(now: Instant) -> SSDPDiscoverySnapshot {
        var snapshot = SSDPDiscoverySnapshot()
        for record in devices.values.sorted(by: { $0.key < $1.key }) {
            let entry = SSDPDiscoverySnapshot.DeviceEntry(
                key: String(record.key), status: record.status, uuid: record.uuid, usn: record.usn.rawValue,
                leaseTime: record.leaseTime, location: record.location, server: record.server, host: record.host,
                sinceLastUpdate: now - record.lastUpdate)
            if rootUUID(of: record) == nil { snapshot.rootDevices.append(entry) } else { snapshot.devices.append(entry) }
        }
        for record in services.values.sorted(by: { $0.key < $1.key }) {
            let parent = devices[record.uuid]
            snapshot.services.append(SSDPDiscoverySnapshot.ServiceEntry(
                key: String(record.key), status: record.status, usn: record.usn, uuid: record.uuid,
                serviceType: record.serviceType, leaseTime: record.leaseTime, location: record.location, server: record.server,
                host: record.host, sinceLastUpdate: now - record.lastUpdate, parentKey: parent.map { String($0.key) },
                parentIsRoot: parent.map { rootUUID(of: $0) == nil } ?? false))
        }
        return snapshot
    }

    // MARK: Helpers

    mutating func takeDeviceKey() -> UInt32 {
        defer { nextDeviceKey &+= 1 }
        return nextDeviceKey
    }

    mutating func refreshService(_ advertisement: SSDPAdvertisement, type: String, host: String, now: Instant) {
        let usn = advertisement.usn.rawValue
        var record: ServiceRecord
        if let existing = services[usn] {
            record = existing
        } else {
            guard services.count < configuration.maximumServices else {
                droppedForCapacity += 1
                return
            }
            record = ServiceRecord(key: nextServiceKey, usn: usn, uuid: advertisement.usn.uuid, serviceType: type, lastUpdate: now,
                                   expiresAt: now)
            nextServiceKey &+= 1
        }
        record.status = .leaseActive
        record.inactiveSince = nil
        record.leaseTime = advertisement.maxAge
        record.location = advertisement.location ?? record.location
        record.server = advertisement.server ?? record.server
        record.host = host
        record.lastUpdate = now
        record.expiresAt = now + .seconds(advertisement.maxAge)
        services[usn] = record
    }

    /// Marks a device and its services inactive; the `left` event when it was active.
    mutating func deactivate(uuid: String, as status: SSDPLeaseStatus, now: Instant) -> [Action] {
        guard var record = devices[uuid], record.inactiveSince == nil else { return [] }
        record.status = status
        record.inactiveSince = now
        if status == .byebyeReceived { record.lastUpdate = now }
        devices[uuid] = record
        for (usn, var service) in services where service.uuid == uuid && service.inactiveSince == nil {
            service.status = status
            service.inactiveSince = now
            services[usn] = service
        }
        return [.deliver(.left(uuid: uuid, reason: status == .byebyeReceived ? .byebye : .leaseExpired))]
    }

    /// The root's UUID when `record` is an embedded device (another UUID advertised upnp:rootdevice at its LOCATION).
    func rootUUID(of record: DeviceRecord) -> String? {
        guard !record.sawRootDevice, !record.location.isEmpty else { return nil }
        return devices.values.filter { $0.uuid != record.uuid && $0.sawRootDevice && $0.location == record.location }
            .min { $0.key < $1.key }?.uuid
    }

    func device(_ uuid: String) -> SSDPDevice {
        guard let record = devices[uuid] else {
            return SSDPDevice(uuid: uuid, isRoot: true, location: "", server: "", host: "", serviceTypes: [])
        }
        let root = rootUUID(of: record)
        let serviceTypes = services.values.filter { $0.uuid == uuid && $0.inactiveSince == nil }.map(\.serviceType)
        return SSDPDevice(uuid: uuid, isRoot: root == nil, rootUUID: root, deviceType: record.deviceType, location: record.location,
                          server: record.server, host: record.host, bootID: record.bootID, configID: record.configID,
                          serviceTypes: Array(Set(serviceTypes)).sorted())
    }
}

extension SSDPDevice {
    /// Equal apart from BOOTID and CONFIGID, which have events of their own.
    func sameAdvertisedState(as other: SSDPDevice) -> Bool {
        var lhs = self
        var rhs = other
        lhs.bootID = nil
        rhs.bootID = nil
        lhs.configID = nil
        rhs.configID = nil
        return lhs == rhs
    }
}
