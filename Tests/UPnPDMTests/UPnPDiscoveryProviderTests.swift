import CWMPClient
import CWMPTestSupport
import Synchronization
import Testing
@testable import Proxier
@testable import UPnPDM

enum GatewayForTests {
    static let identity = GatewayIdentity(manufacturer: "Example Networks", manufacturerOUI: "00D09E", productClass: "cwmp-proxy",
                                          serialNumber: "GW-UPNP", hardwareVersion: "x86_64", softwareVersion: "0.1.0-test",
                                          provisioningCode: "PC1")

    /// The gateway's data model with UPnP discovery mounted as the daemon mounts it.
    static func model(with provider: UPnPDiscoveryProvider) async throws -> GatewayDataModel {
        try await makeGatewayDataModel(identity: identity, settings: ManagementServerSettings(),
                                       hooks: GatewayHooks(additionalMounts: [provider.gatewayMount]))
    }

    /// Values by name, checked against the schema: "name = value: reason" for each violation.
    static func violations(_ values: [ParameterValueStruct], tree: SchemaTree) -> [String] {
        values.compactMap { value -> String? in
            guard let path = try? DataModelPath(parsing: value.name), let parameter = tree.parameter(atTemplate: path.template) else {
                return "\(value.name): not in the schema"
            }
            do throws(ProxierError) {
                _ = try parameter.validate(value.value, declaredType: value.type)
                return nil
            } catch {
                return "\(value.name) = \(value.value.debugDescription): \(error.reason)"
            }
        }
    }
}

/// A snapshot the test changes between RPCs.
final class SnapshotBox: Sendable {
    let value = Mutex(SSDPDiscoverySnapshot())
    func set(_ snapshot: SSDPDiscoverySnapshot) { value.withLock { $0 = snapshot } }
    func get() -> SSDPDiscoverySnapshot { value.withLock { $0 } }
}

@Suite struct UPnPDiscoveryProviderTests {
    typealias F = SSDPFixtures
    let t0 = ContinuousClock.now
    /// 2026-11-23T16:00:00Z
    static let wallClock: Int64 = 1_795_449_600

    func populatedMachine(retention: Duration = .seconds(600)) -> SSDPDiscoveryStateMachine {
        var machine = SSDPDiscoveryStateMachine(configuration: .init(inactiveRetention: retention))
        _ = machine.received(F.response(uuid: F.root, "upnp:rootdevice", maxAge: 1800), from: "10.77.0.2", now: t0)
        _ = machine.received(F.response(uuid: F.root, F.manageable, maxAge: 1800), from: "10.77.0.2", now: t0)
        _ = machine.received(F.response(uuid: F.root, F.cms, maxAge: 1800), from: "10.77.0.2", now: t0)
        _ = machine.received(F.response(uuid: F.embedded, "urn:schemas-upnp-org:device:Sensor:1", maxAge: 900), from: "10.77.0.2",
                             now: t0 + .seconds(10))
        _ = machine.received(F.response(uuid: F.embedded, F.bms, maxAge: 900), from: "10.77.0.2", now: t0 + .seconds(10))
        return machine
    }

    @Test func theDiscoveryTablesThroughTheGatewaysDataModel() async throws {
        let snapshot = populatedMachine().snapshot(now: t0 + .seconds(60))
        let provider = UPnPDiscoveryProvider(snapshot: { snapshot }, now: { Self.wallClock })
        let gateway = try await GatewayForTests.model(with: provider)
        let values = try await gateway.model.getParameterValues(["Device.UPnP.Discovery."])
        let byName = Dictionary(values.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        let d = "Device.UPnP.Discovery."
        #expect(byName[d + "RootDeviceNumberOfEntries"] == "1")
        #expect(byName[d + "DeviceNumberOfEntries"] == "1")
        #expect(byName[d + "ServiceNumberOfEntries"] == "2")
        #expect(byName[d + "RootDevice.1.Status"] == "LeaseActive")
        #expect(byName[d + "RootDevice.1.UUID"] == F.root)
        #expect(byName[d + "RootDevice.1.USN"] == "uuid:\(F.root)::\(F.manageable)")
        #expect(byName[d + "RootDevice.1.LeaseTime"] == "1800")
        #expect(byName[d + "RootDevice.1.Location"] == "http://10.77.0.2:49152/d.xml")
        #expect(byName[d + "RootDevice.1.Server"] == "Linux/6 UPnP/1.1 dm/1")
        #expect(byName[d + "RootDevice.1.Host"] == "")
        #expect(byName[d + "RootDevice.1.LastUpdate"] == "2026-11-23T15:59:00Z")
        #expect(byName[d + "Device.2.UUID"] == F.embedded)
        #expect(byName[d + "Device.2.LeaseTime"] == "900")
        #expect(byName[d + "Device.2.LastUpdate"] == "2026-11-23T15:59:10Z")
        #expect(byName[d + "Service.1.USN"] == "uuid:\(F.root)::\(F.cms)")
        #expect(byName[d + "Service.1.ParentDevice"] == "Device.UPnP.Discovery.RootDevice.1")
        #expect(byName[d + "Service.2.ParentDevice"] == "Device.UPnP.Discovery.Device.2")
        #expect(byName[d + "Service.2.Status"] == "LeaseActive")
        #expect(values.count == 35)  // 3 counters, 8 per device row, 8 per service row
        #expect(GatewayForTests.violations(values, tree: await gateway.model.tree).isEmpty)
    }

    @Test(.enabled(if: XSDValidator.isAvailable, "needs ../shared/tools/cwmp-validate, ../shared/data/bbf and xmllint"))
    func theGetParameterValuesResponseValidates() async throws {
        let snapshot = populatedMachine().snapshot(now: t0 + .seconds(60))
        let gateway = try await GatewayForTests.model(with: UPnPDiscoveryProvider(snapshot: { snapshot }, now: { Self.wallClock }))
        let values = try await gateway.model.getParameterValues(["Device.UPnP."])
        #expect(values.count == 35)
        let envelope = CWMPEnvelope(header: CWMPHeader(id: "ssdp-1"),
                                    message: .getParameterValuesResponse(GetParameterValuesResponse(parameterList: values)))
        let failures = try XSDValidator.validate([("discovery-gpv", try CWMPEncoder().encode(envelope))])
        #expect(failures.isEmpty, "\(failures.map(\.description).joined(separator: "\n"))")
    }

    @Test func statusFollowsByebyeAndExpiryAndRowsKeepTheirNumbers() async throws {
        var machine = populatedMachine(retention: .seconds(3600))
        let box = SnapshotBox()
        box.set(machine.snapshot(now: t0))
        let provider = UPnPDiscoveryProvider(snapshot: { box.get() }, now: { Self.wallClock })
        let gateway = try await GatewayForTests.model(with: provider)
        _ = try await gateway.model.getParameterValues(["Device.UPnP.Discovery."])

        _ = machine.received(F.advertisement("ssdp:byebye", uuid: F.embedded, nil), from: "10.77.0.2", now: t0 + .seconds(20))
        _ = machine.timerFired(now: t0 + .seconds(1800))
        box.set(machine.snapshot(now: t0 + .seconds(1800)))
        let values = try await gateway.model.getParameterValues(["Device.UPnP.Discovery.RootDevice.1.Status",
                                                                 "Device.UPnP.Discovery.Device.2.Status",
                                                                 "Device.UPnP.Discovery.Service.2.Status"])
        #expect(values.map(\.value) == ["LeaseExpired", "ByebyeReceived", "ByebyeReceived"])
    }

    @Test func rowsGoneFromDiscoveryAreGoneFromTheModel() async throws {
        var machine = SSDPDiscoveryStateMachine(configuration: .init(inactiveRetention: .seconds(1)))
        _ = machine.received(F.response(uuid: F.root, "upnp:rootdevice", maxAge: 5), from: "h", now: t0)
        let box = SnapshotBox()
        box.set(machine.snapshot(now: t0))
        let gateway = try await GatewayForTests.model(with: UPnPDiscoveryProvider(snapshot: { box.get() }))
        #expect(try await gateway.model.getParameterValues(["Device.UPnP.Discovery.RootDeviceNumberOfEntries"]).first?.value == "1")
        _ = machine.timerFired(now: t0 + .seconds(5))
        _ = machine.timerFired(now: t0 + .seconds(6))
        box.set(machine.snapshot(now: t0 + .seconds(6)))
        #expect(try await gateway.model.getParameterValues(["Device.UPnP.Discovery.RootDeviceNumberOfEntries"]).first?.value == "0")
        await #expect(throws: ProxierError.self) {
            try await gateway.model.getParameterValues(["Device.UPnP.Discovery.RootDevice.1.UUID"])
        }
    }

    @Test func theTablesAreReadOnly() async throws {
        let snapshot = populatedMachine().snapshot(now: t0)
        let gateway = try await GatewayForTests.model(with: UPnPDiscoveryProvider(snapshot: { snapshot }))
        _ = try await gateway.model.getParameterValues(["Device.UPnP.Discovery."])
        await #expect(throws: ProxierError.self) {
            try await gateway.model.setParameterValues(
                [ParameterValueStruct(name: "Device.UPnP.Discovery.RootDevice.1.Location", value: "http://x/", type: .string)],
                parameterKey: "")
        }
        await #expect(throws: ProxierError.self) { try await gateway.model.addObject("Device.UPnP.Discovery.RootDevice.", parameterKey: "") }
    }

    @Test func withoutDiscoveryTheGatewayHasNoUPnPObject() async throws {
        let gateway = try await makeGatewayDataModel(identity: GatewayForTests.identity, settings: ManagementServerSettings())
        await #expect(throws: ProxierError.self) { try await gateway.model.getParameterValues(["Device.UPnP.Discovery."]) }
    }
}
