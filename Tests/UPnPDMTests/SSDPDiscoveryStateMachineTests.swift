import Testing
@testable import UPnPDM

/// Advertisements as a device sends them, for the state machine tests.
enum SSDPFixtures {
    static let cms = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
    static let bms = "urn:schemas-upnp-org:service:BasicManagement:2"
    static let manageable = "urn:schemas-upnp-org:device:ManageableDevice:2"
    static let root = "11111111-2222-4333-8444-000000000001"
    static let embedded = "11111111-2222-4333-8444-000000000002"
    static let other = "11111111-2222-4333-8444-000000000003"

    /// `suffix`: nil for `uuid:U`, else `upnp:rootdevice` or a device/service type.
    static func advertisement(_ nts: String?, uuid: String, _ suffix: String?, maxAge: Int = 100, bootID: Int? = 1,
                              configID: Int? = 1, location: String = "http://10.77.0.2:49152/d.xml", nextBootID: Int? = nil,
                              server: String = "Linux/6 UPnP/1.1 dm/1") -> SSDPAdvertisement {
        let usn = "uuid:\(uuid)" + (suffix.map { "::" + $0 } ?? "")
        var headers: [(String, String)] = [("CACHE-CONTROL", "max-age=\(maxAge)"), ("LOCATION", location), ("SERVER", server),
                                           ("USN", usn)]
        if let nts { headers += [("NT", suffix ?? usn), ("NTS", nts)] } else { headers.append(("ST", suffix ?? usn)) }
        if let bootID { headers.append(("BOOTID.UPNP.ORG", String(bootID))) }
        if let configID { headers.append(("CONFIGID.UPNP.ORG", String(configID))) }
        if let nextBootID { headers.append(("NEXTBOOTID.UPNP.ORG", String(nextBootID))) }
        let message = SSDPMessage(nts == nil ? .response(statusCode: 200) : .notify, headers: SSDPHeaders(headers))
        // Through the bytes, so the fixtures exercise the same parser as the wire.
        return try! SSDPAdvertisement(SSDPMessage(parsing: message.serialized()))
    }

    static func response(uuid: String, _ suffix: String?, maxAge: Int = 100, bootID: Int? = 1, configID: Int? = 1,
                         location: String = "http://10.77.0.2:49152/d.xml") -> SSDPAdvertisement {
        advertisement(nil, uuid: uuid, suffix, maxAge: maxAge, bootID: bootID, configID: configID, location: location)
    }
}

/// Events only, for one-line expectations.
extension Array where Element == SSDPDiscoveryStateMachine.Action {
    var events: [SSDPDiscoveryEvent] { compactMap { if case .deliver(let event) = $0 { event } else { nil } } }
    var searches: [String] { compactMap { if case .sendSearch(let target, _) = $0 { target } else { nil } } }
    var found: [String] { events.compactMap { if case .found(let device) = $0 { device.uuid } else { nil } } }
    var left: [SSDPDiscoveryEvent] { events.filter { if case .left = $0 { true } else { false } } }
}

@Suite struct SSDPDiscoveryStateMachineTests {
    typealias F = SSDPFixtures
    let t0 = ContinuousClock.now

    func machine(mx: Int = 2, repeats: Int = 3, targets: [String] = ["upnp:rootdevice", F.cms],
                 interval: Duration? = .seconds(600), retention: Duration = .seconds(60)) -> SSDPDiscoveryStateMachine {
        SSDPDiscoveryStateMachine(configuration: .init(searchTargets: targets, mx: mx, searchRepeats: repeats,
                                                       searchInterval: interval, inactiveRetention: retention))
    }

    @Test func aBurstRepeatsEveryTargetWithinTheFirstSecond() {
        var machine = machine()
        #expect(machine.start(now: t0).searches == ["upnp:rootdevice", F.cms])
        #expect(machine.nextDeadline == t0 + .milliseconds(1000) / 3)
        #expect(machine.timerFired(now: t0 + .milliseconds(300)).searches == [])
        #expect(machine.timerFired(now: t0 + .milliseconds(334)).searches == ["upnp:rootdevice", F.cms])
        #expect(machine.timerFired(now: t0 + .milliseconds(667)).searches == ["upnp:rootdevice", F.cms])
        #expect(machine.nextDeadline == t0 + .seconds(600))
        #expect(machine.timerFired(now: t0 + .seconds(600)).searches == ["upnp:rootdevice", F.cms])
    }

    @Test func theMXIsSentAsConfiguredAndClampedToUDAsRange() {
        var machine = SSDPDiscoveryStateMachine(configuration: .init(searchTargets: ["ssdp:all"], mx: 9, searchRepeats: 1))
        #expect(machine.start(now: t0) == [.sendSearch(target: "ssdp:all", mx: 5)])
    }

    @Test func aDeviceIsFoundOnceAndItsUSNsGroupByUUID() {
        var machine = machine()
        #expect(machine.received(F.response(uuid: F.root, "upnp:rootdevice"), from: "10.77.0.2", now: t0).found == [F.root])
        #expect(machine.received(F.response(uuid: F.root, nil), from: "10.77.0.2", now: t0).events == [])
        let changed = machine.received(F.response(uuid: F.root, F.manageable), from: "10.77.0.2", now: t0).events
        #expect(changed.count == 1)
        #expect(machine.activeDevices.map(\.deviceType) == [F.manageable])
        let service = machine.received(F.response(uuid: F.root, F.cms), from: "10.77.0.2", now: t0).events
        #expect(service == [.changed(machine.activeDevices[0])])
        #expect(machine.activeDevices[0].serviceTypes == [F.cms])
        let snapshot = machine.snapshot(now: t0)
        #expect(snapshot.rootDevices.map(\.usn) == ["uuid:\(F.root)::\(F.manageable)"])
        #expect(snapshot.services.map(\.parentKey) == [snapshot.rootDevices[0].key])
    }

    @Test func aServiceAdvertisementAloneMakesTheDeviceKnown() {
        var machine = machine()
        #expect(machine.received(F.response(uuid: F.root, F.bms), from: "10.77.0.2", now: t0).found == [F.root])
        #expect(machine.snapshot(now: t0).rootDevices.map(\.usn) == ["uuid:\(F.root)::\(F.bms)"])
    }

    @Test func anEmbeddedDeviceSharesItsRootsLocation() {
        var machine = machine()
        _ = machine.received(F.response(uuid: F.embedded, F.manageable), from: "10.77.0.2", now: t0)
        #expect(machine.activeDevices.map(\.isRoot) == [true])
        let actions = machine.received(F.response(uuid: F.root, "upnp:rootdevice"), from: "10.77.0.2", now: t0)
        #expect(actions.events.count == 2)
        #expect(machine.activeDevices.first { $0.uuid == F.embedded }?.rootUUID == F.root)
        let snapshot = machine.snapshot(now: t0)
        #expect(snapshot.rootDevices.map(\.uuid) == [F.root])
        #expect(snapshot.devices.map(\.uuid) == [F.embedded])
    }

    @Test func byebyeRemovesTheDeviceItsServicesAndItsEmbeddedDevices() {
        var machine = machine()
        _ = machine.received(F.response(uuid: F.root, "upnp:rootdevice"), from: "h", now: t0)
        _ = machine.received(F.response(uuid: F.root, F.cms), from: "h", now: t0)
        _ = machine.received(F.response(uuid: F.embedded, F.manageable), from: "h", now: t0)
        let actions = machine.received(F.advertisement("ssdp:byebye", uuid: F.root, "upnp:rootdevice"), from: "h", now: t0 + .seconds(1))
        #expect(actions.events == [.left(uuid: F.root, reason: .byebye), .left(uuid: F.embedded, reason: .byebye)])
        #expect(machine.activeDevices == [])
        let snapshot = machine.snapshot(now: t0 + .seconds(1))
        #expect(snapshot.rootDevices.map(\.status) == [.byebyeReceived])
        #expect(snapshot.services.map(\.status) == [.byebyeReceived])
        #expect(machine.received(F.advertisement("ssdp:byebye", uuid: F.root, nil), from: "h", now: t0 + .seconds(2)).events == [])
    }

    @Test func aServiceByebyeLeavesTheDevice() {
        var machine = machine()
        _ = machine.received(F.response(uuid: F.root, F.cms), from: "h", now: t0)
        let actions = machine.received(F.advertisement("ssdp:byebye", uuid: F.root, F.cms), from: "h", now: t0)
        #expect(actions.events.count == 1)
        #expect(machine.activeDevices.map(\.serviceTypes) == [[]])
    }

    @Test func leasesExpireFromCacheControlMaxAge() {
        var machine = machine(interval: nil)
        _ = machine.start(now: t0)
        _ = machine.timerFired(now: t0 + .seconds(2))
        _ = machine.received(F.response(uuid: F.root, "upnp:rootdevice", maxAge: 30), from: "h", now: t0)
        _ = machine.received(F.response(uuid: F.root, F.cms, maxAge: 10), from: "h", now: t0)
        #expect(machine.nextDeadline == t0 + .seconds(10))
        #expect(machine.timerFired(now: t0 + .seconds(10)).events.count == 1)
        #expect(machine.snapshot(now: t0 + .seconds(10)).services.map(\.status) == [.leaseExpired])
        #expect(machine.timerFired(now: t0 + .seconds(29)).events == [])
        #expect(machine.timerFired(now: t0 + .seconds(30)).events == [.left(uuid: F.root, reason: .leaseExpired)])
        #expect(machine.snapshot(now: t0 + .seconds(30)).rootDevices.map(\.status) == [.leaseExpired])
    }

    @Test func aRefreshExtendsTheLease() {
        var machine = machine(interval: nil)
        _ = machine.received(F.response(uuid: F.root, "upnp:rootdevice", maxAge: 30), from: "h", now: t0)
        _ = machine.received(F.advertisement("ssdp:alive", uuid: F.root, "upnp:rootdevice", maxAge: 30), from: "h", now: t0 + .seconds(20))
        #expect(machine.timerFired(now: t0 + .seconds(30)).events == [])
        #expect(machine.timerFired(now: t0 + .seconds(50)).events == [.left(uuid: F.root, reason: .leaseExpired)])
    }

    @Test func inactiveRowsAreListedForTheRetentionThenRemoved() {
        var machine = machine(interval: nil, retention: .seconds(60))
        _ = machine.received(F.response(uuid: F.root, F.cms), from: "h", now: t0)
        _ = machine.received(F.advertisement("ssdp:byebye", uuid: F.root, nil), from: "h", now: t0)
        #expect(machine.snapshot(now: t0).rootDevices.count == 1)
        _ = machine.timerFired(now: t0 + .seconds(60))
        #expect(machine.snapshot(now: t0 + .seconds(60)) == SSDPDiscoverySnapshot())
        #expect(machine.nextDeadline == nil)
    }

    @Test func aNewBootIDIsAReboot() {
        var machine = machine()
        _ = machine.received(F.response(uuid: F.root, "upnp:rootdevice", bootID: 1), from: "h", now: t0)
        let actions = machine.received(F.advertisement("ssdp:alive", uuid: F.root, "upnp:rootdevice", bootID: 2), from: "h", now: t0)
        #expect(actions.events == [.rebooted(machine.activeDevices[0], previousBootID: 1)])
    }

    @Test func aRebootAfterByebyeIsFoundThenRebooted() {
        var machine = machine()
        _ = machine.received(F.response(uuid: F.root, "upnp:rootdevice", bootID: 1), from: "h", now: t0)
        _ = machine.received(F.advertisement("ssdp:byebye", uuid: F.root, "upnp:rootdevice", bootID: 1), from: "h", now: t0)
        let actions = machine.received(F.advertisement("ssdp:alive", uuid: F.root, "upnp:rootdevice", bootID: 2), from: "h", now: t0)
        #expect(actions.events == [.found(machine.activeDevices[0]), .rebooted(machine.activeDevices[0], previousBootID: 1)])
    }

    @Test func anUpdateAnnouncesTheNextBootIDWithoutAReboot() {
        var machine = machine()
        _ = machine.received(F.response(uuid: F.root, "upnp:rootdevice", bootID: 1), from: "h", now: t0)
        let update = F.advertisement("ssdp:update", uuid: F.root, "upnp:rootdevice", bootID: 1, nextBootID: 2)
        #expect(machine.received(update, from: "h", now: t0).events == [])
        #expect(machine.received(F.advertisement("ssdp:alive", uuid: F.root, "upnp:rootdevice", bootID: 2), from: "h", now: t0).events == [])
    }

    @Test func aNewConfigIDIsAConfigurationChange() {
        var machine = machine()
        _ = machine.received(F.response(uuid: F.root, "upnp:rootdevice", configID: 4), from: "h", now: t0)
        let actions = machine.received(F.response(uuid: F.root, "upnp:rootdevice", configID: 5), from: "h", now: t0)
        #expect(actions.events == [.configurationChanged(machine.activeDevices[0], previousConfigID: 4)])
    }

    @Test func aMovedLocationIsAChange() {
        var machine = machine()
        _ = machine.received(F.response(uuid: F.root, "upnp:rootdevice"), from: "h", now: t0)
        let actions = machine.received(F.response(uuid: F.root, "upnp:rootdevice", location: "http://10.77.0.9/d.xml"), from: "h", now: t0)
        #expect(actions.events == [.changed(machine.activeDevices[0])])
        #expect(machine.activeDevices[0].location == "http://10.77.0.9/d.xml")
    }

    @Test func keysAreNeverReused() {
        var machine = machine(interval: nil, retention: .seconds(1))
        _ = machine.received(F.response(uuid: F.root, "upnp:rootdevice", maxAge: 1), from: "h", now: t0)
        _ = machine.timerFired(now: t0 + .seconds(1))
        _ = machine.timerFired(now: t0 + .seconds(2))
        _ = machine.received(F.response(uuid: F.root, "upnp:rootdevice"), from: "h", now: t0 + .seconds(3))
        #expect(machine.snapshot(now: t0 + .seconds(3)).rootDevices.map(\.key) == ["2"])
    }

    @Test func theDeviceCapDropsNewUUIDs() {
        var machine = SSDPDiscoveryStateMachine(configuration: .init(maximumDevices: 1))
        _ = machine.received(F.response(uuid: F.root, "upnp:rootdevice"), from: "h", now: t0)
        #expect(machine.received(F.response(uuid: F.other, "upnp:rootdevice"), from: "h", now: t0).events == [])
        #expect(machine.droppedForCapacity == 1)
    }

    @Test func lastUpdateAgeAndLeaseTimeAreReported() {
        var machine = machine()
        _ = machine.received(F.response(uuid: F.root, "upnp:rootdevice", maxAge: 1800), from: "10.77.0.2", now: t0)
        let row = machine.snapshot(now: t0 + .seconds(7)).rootDevices[0]
        #expect(row.sinceLastUpdate == .seconds(7))
        #expect(row.leaseTime == 1800)
        #expect(row.host == "10.77.0.2")
        #expect(row.server == "Linux/6 UPnP/1.1 dm/1")
    }
}
