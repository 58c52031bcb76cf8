// Recorded devices (Fixtures/*.snmprec, recorded from snmpd: see Fixtures/README.md) served by a real snmpsim and
// read through the real net-snmp client (SNMPManager) and the built-in profiles; and the same switch failing in the
// middle of a table walk (genErr, then no answer at all): a typed error and a CWMP fault, bounded, and nothing of
// the device's state lost. Expected values come from the fixture files, parsed by the test (Recording).
import CWMPClient
import CWMPTestSupport
import Foundation
import Proxier
import Testing
@testable import SNMPBridge

/// entPhysicalClass of the switch's second entity (the uplink module): the middle row of the column the ENTITY-MIB
/// mappings select the chassis by, so a walk of it gets the first row and then fails.
let entPhysicalClassOfModule = "1.3.6.1.2.1.47.1.1.1.1.5.2"

@Suite(.enabled(if: snmpsimAvailable && snmpdAvailable, snmpsimSkipMessage), .timeLimit(.minutes(2)))
struct SNMPSimDeviceTests {
    let profiles: [CompiledSNMPProfile]
    let switchText: String
    let hostText: String

    init() throws {
        profiles = try SNMPBuiltinProfiles.compiled()
        switchText = try SNMPFixture.text("switch")
        hostText = try SNMPFixture.text("host")
    }

    @Test func recordedSwitchThroughTheBuiltinProfiles() async throws {
        let peer = try SNMPSimPeer(devices: ["switch": switchText])
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let recording = Recording(switchText)
        let session = manager.session(for: peer.agent("switch", maxRepetitions: 7))

        // The walk through the bridge is the recording, value for value (GETBULK across several PDUs).
        #expect(try await session.walk(oid("1.3.6.1.2.1.2")) == recording.subtree("1.3.6.1.2.1.2"))
        #expect(try await session.walk(oid("1.3.6.1.2.1.31.1.1")) == recording.subtree("1.3.6.1.2.1.31.1.1"))

        let provider = SNMPProfileProvider(client: session, profiles: profiles, agentID: "switch")
        let deviceInfo = try await provider.values(of: ["Description", "HostName", "Manufacturer", "ModelName", "SerialNumber",
                                                        "HardwareVersion", "SoftwareVersion"].map { ProviderPath(template: "Device.DeviceInfo." + $0) })
        #expect(deviceInfo == [recording.string("1.3.6.1.2.1.1.1.0"), recording.string("1.3.6.1.2.1.1.5.0"),
                               recording.string("1.3.6.1.2.1.47.1.1.1.1.12.1"), recording.string("1.3.6.1.2.1.47.1.1.1.1.13.1"),
                               recording.string("1.3.6.1.2.1.47.1.1.1.1.11.1"), recording.string("1.3.6.1.2.1.47.1.1.1.1.8.1"),
                               recording.string("1.3.6.1.2.1.47.1.1.1.1.10.1")])
        // The chassis row (entPhysicalClass 3), not the module's or the power supply's.
        #expect(deviceInfo[2...4] == ["Acme Networks", "AX-100", "AX100-000123"])

        // Ethernet.Interface: the twelve ports, not lo (softwareLoopback).
        let ethernet = try await provider.instances(of: [ProviderPath(template: "Device.Ethernet.Interface.")])[0].map(\.key)
        #expect(Set(ethernet) == Set((1...12).map { "ifName=port\($0)" }))
        for port in ["port1", "port12"] {
            let index = try #require(recording.index(of: port, in: "1.3.6.1.2.1.31.1.1.1.1"))
            let values = try await provider.values(of: ["Name", "MACAddress", "Status", "Enable", "MaxBitRate", "Stats.ErrorsReceived", "Stats.BytesReceived",
                                                        "Stats.BytesSent"].map {
                ProviderPath(template: "Device.Ethernet.Interface.{i}." + $0, instanceKeys: ["ifName=\(port)"])
            })
            guard case .octetString(let mac)? = recording["1.3.6.1.2.1.2.2.1.6.\(index)"] else {
                Issue.record("no ifPhysAddress for \(port)")
                continue
            }
            let operStatus: [UInt64: String] = [1: "Up", 2: "Down", 3: "Unknown", 4: "Unknown", 5: "Dormant", 6: "NotPresent", 7: "LowerLayerDown"]
            #expect(values[0] == port)
            #expect(values[1] == mac.map { String(format: "%02x", $0) }.joined(separator: ":"))
            #expect(values[2] == operStatus[try #require(recording.number("1.3.6.1.2.1.2.2.1.8.\(index)"))])
            #expect(values[3] == (recording.number("1.3.6.1.2.1.2.2.1.7.\(index)") == 1 ? "true" : "false"))
            #expect(values[4] == recording.number("1.3.6.1.2.1.31.1.1.1.15.\(index)").map(String.init))
            #expect(values[5] == recording.number("1.3.6.1.2.1.2.2.1.14.\(index)").map(String.init))
            #expect(values[6] == recording.number("1.3.6.1.2.1.31.1.1.1.6.\(index)").map(String.init))
            #expect(values[7] == recording.number("1.3.6.1.2.1.31.1.1.1.10.\(index)").map(String.init))
        }
        // port1 is up with its fixed MAC, port12 down (as recorded).
        #expect(try await provider.values(of: ["MACAddress", "Status"].map {
            ProviderPath(template: "Device.Ethernet.Interface.{i}." + $0, instanceKeys: ["ifName=port1"])
        }) == ["02:00:5e:10:00:01", "Up"])
        #expect(try await provider.values(of: [ProviderPath(template: "Device.Ethernet.Interface.{i}.Status", instanceKeys: ["ifName=port12"])]) == ["Down"])
        // IP.Interface from the same ifTable: lo and the ports, jumbo MTU as recorded.
        let ip = try await provider.instances(of: [ProviderPath(template: "Device.IP.Interface.")])[0].map(\.key)
        #expect(Set(ip) == Set((1...12).map { "ifName=port\($0)" } + ["ifName=lo"]))
        let port1 = try #require(recording.index(of: "port1", in: "1.3.6.1.2.1.31.1.1.1.1"))
        let mtu = try await provider.values(of: [ProviderPath(template: "Device.IP.Interface.{i}.MaxMTUSize", instanceKeys: ["ifName=port1"])])
        #expect(mtu == [recording.number("1.3.6.1.2.1.2.2.1.4.\(port1)").map(String.init)])
        #expect(mtu == ["9000"])

        // The CWMP DeviceId follows the identity rule: chassis model and serial number.
        let identity = SNMPDeviceIdentity.derive(from: try await SNMPDeviceIdentity.fetchFacts(from: session), agentID: "switch")
        #expect(identity.productClass == "AX-100")
        #expect(identity.serialNumber == "AX100-000123")
        #expect(await provider.isOffline == false)
    }

    @Test func recordedHostThroughTheBuiltinProfiles() async throws {
        let peer = try SNMPSimPeer(devices: ["host": hostText])
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let recording = Recording(hostText)
        let provider = SNMPProfileProvider(client: manager.session(for: peer.agent("host")), profiles: profiles, agentID: "host")

        let values = try await provider.values(of: ["UpTime", "MemoryStatus.Total", "MemoryStatus.Free", "ProcessStatus.CPUUsage"]
            .map { ProviderPath(template: "Device.DeviceInfo." + $0) })
        #expect(values[0] == recording.number("1.3.6.1.2.1.25.1.1.0").map { String($0 / 100) })
        #expect(values[1] == recording.number("1.3.6.1.2.1.25.2.2.0").map(String.init))
        // Free RAM: (hrStorageSize - hrStorageUsed) × hrStorageAllocationUnits / 1024 over the hrStorageRam rows.
        let ram = SNMPValue.objectIdentifier(oid("1.3.6.1.2.1.25.2.1.2"))
        let ramRows = recording.subtree("1.3.6.1.2.1.25.2.3.1.2").filter { $0.value == ram }.map { $0.oid.components.last! }
        try #require(!ramRows.isEmpty)
        let free = try ramRows.reduce(UInt64(0)) { total, row in
            let size = try #require(recording.number("1.3.6.1.2.1.25.2.3.1.5.\(row)"))
            let used = try #require(recording.number("1.3.6.1.2.1.25.2.3.1.6.\(row)"))
            let unit = try #require(recording.number("1.3.6.1.2.1.25.2.3.1.4.\(row)"))
            return total + (size - used) * unit / 1024
        }
        #expect(values[2] == String(free))
        let loads = recording.subtree("1.3.6.1.2.1.25.3.3.1.2").compactMap { varBind -> UInt64? in
            if case .integer(let load) = varBind.value { UInt64(load) } else { nil }
        }
        try #require(!loads.isEmpty)
        #expect(values[3] == String(loads.reduce(0, +) / UInt64(loads.count)))

        // The recorded PID namespace: snmpd (PID 1) and a sleep (PID 2).
        let processes = try await provider.instances(of: [ProviderPath(template: "Device.DeviceInfo.ProcessStatus.Process.")])[0].map(\.key)
        #expect(processes == ["index=1", "index=2"])
        for pid in [1, 2] {
            let process = try await provider.values(of: ["PID", "Command", "Size", "State"].map {
                ProviderPath(template: "Device.DeviceInfo.ProcessStatus.Process.{i}." + $0, instanceKeys: ["index=\(pid)"])
            })
            #expect(process[0] == String(pid))
            #expect(process[1] == recording.string("1.3.6.1.2.1.25.4.2.1.2.\(pid)"))
            #expect(process[2] == recording.number("1.3.6.1.2.1.25.5.1.1.2.\(pid)").map(String.init))
        }
        #expect(try await provider.values(of: [ProviderPath(template: "Device.DeviceInfo.ProcessStatus.Process.{i}.Command",
                                                            instanceKeys: ["index=1"])]) == ["snmpd"])
        // The host's one Ethernet interface pair, keyed by name.
        let ethernet = try await provider.instances(of: [ProviderPath(template: "Device.Ethernet.Interface.")])[0].map(\.key)
        #expect(Set(ethernet) == ["ifName=eth0", "ifName=eth1"])
    }

    /// The switch, with the walk of entPhysicalClass failing after its first row: genErr from the agent, or no
    /// answer at all. A GetParameterValues that needs the walk gets a 9002 fault (the module's table: genErr and a
    /// timeout are internal errors), within the agent's bound; what does not need it keeps working, with the same
    /// instance numbers; the healthy recording on the same snmpsim answers throughout.
    @Test(arguments: ["genErr", "noAnswer"])
    func switchFailingInTheMiddleOfATableWalk(_ failure: String) async throws {
        let variation = failure == "genErr" ? "2:error|op=get,status=genError" : "2:delay|value=9,wait=100000"
        let failing = SNMPSimPeer.records(switchText, replacing: [entPhysicalClassOfModule: variation])
        let peer = try SNMPSimPeer(devices: ["switch": switchText, "failing-switch": failing])
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let reachability = ReachabilityLog()
        // max-repetitions 1: every row of the column is its own GETBULK, so the failure comes after a good exchange.
        let session = manager.session(for: peer.agent("failing-switch", timeout: .seconds(1), retries: 1, maxRepetitions: 1))
        let provider = SNMPProfileProvider(client: session, profiles: profiles, agentID: "failing-switch",
                                           onReachabilityChange: { reachability.append($0) })
        let model = DataModel(schema: SchemaTree(DataModelSchema.tr181.restricted(to: await provider.mappedParameters())))
        try await model.mount(provider, at: "Device.")

        func numbersByName() async throws -> [String: String] {
            var result: [String: String] = [:]
            for value in try await model.getParameterValues(["Device.Ethernet.Interface."]) where value.name.hasSuffix(".Name") {
                result[value.value] = String(value.name.dropFirst("Device.Ethernet.Interface.".count).prefix { $0 != "." })
            }
            return result
        }
        let before = try await numbersByName()
        #expect(before.count == 12)

        // The walk itself: the first row comes back, then the typed error.
        let walkError = await snmpError { try await session.walk(oid("1.3.6.1.2.1.47.1.1.1.1.5")) }
        if failure == "genErr" {
            #expect(walkError?.code == .pduError)
            #expect(walkError?.pduErrorStatus == 5)
        } else {
            #expect(walkError?.code == .timedOut)
        }
        #expect(walkError?.cwmpFault.code == .internalError)

        // Through the data model, as the RPC dispatcher calls it: a ProxierError whose fault is the module's 9002.
        do {
            _ = try await model.getParameterValues(["Device.DeviceInfo.Manufacturer"])
            Issue.record("GetParameterValues of Manufacturer succeeded on an agent failing mid-walk")
        } catch {
            #expect(error.cwmpFault.code == .internalError)
            #expect((error.underlying as? SNMPBridgeError)?.code == (failure == "genErr" ? .pduError : .timedOut))
        }
        // A timeout marks the device offline, a genErr does not (the agent answered).
        #expect(await provider.isOffline == (failure == "noAnswer"))

        // Nothing else is lost: the interfaces keep their numbers, and the device is online again once it answers.
        #expect(try await numbersByName() == before)
        #expect(await provider.isOffline == false)
        #expect(reachability.values == (failure == "noAnswer" ? [false, true] : []))
        #expect(try await model.getParameterValues(["Device.DeviceInfo.HostName"]).map(\.value) == ["access-sw-01"])

        // The healthy recording of the same switch, on the same snmpsim and the same manager, walks completely.
        let healthy = manager.session(for: peer.agent("switch", maxRepetitions: 1))
        #expect(try await healthy.walk(oid("1.3.6.1.2.1.47.1.1.1.1.5")) == Recording(switchText).subtree("1.3.6.1.2.1.47.1.1.1.1.5"))
    }
}
