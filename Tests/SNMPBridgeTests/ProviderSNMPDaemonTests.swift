// The built-in profiles against a real snmpd (started in a network namespace by the test): what the provider
// reports agrees with net-snmp's own `snmpget` of the same OIDs, instances survive ifIndex renumbering, and the
// device identity follows the documented rule. The test process cannot reach the namespace's loopback, so the
// snmpd's data is recorded with snmpwalk and served by a real snmpsim on 127.0.0.1 (ReplayedAgent), which the
// provider reads through the real net-snmp client; expected values come from separate `snmpget` runs against the
// snmpd in net-snmp's default rendering, never from the recording.
import Foundation
import Proxier
import Testing
@testable import SNMPBridge

/// ENTITY-MIB rows served by snmpd through `override` (Linux's snmpd implements no entPhysicalTable): a chassis
/// (class 3) at index 1 and a module (class 9) at index 2.
let entityConfig = [
    "override .1.3.6.1.2.1.47.1.1.1.1.5.1 integer 3",
    "override .1.3.6.1.2.1.47.1.1.1.1.5.2 integer 9",
    "override .1.3.6.1.2.1.47.1.1.1.1.12.1 octet_str \"Acme Networks\"",
    "override .1.3.6.1.2.1.47.1.1.1.1.12.2 octet_str \"Module Vendor\"",
    "override .1.3.6.1.2.1.47.1.1.1.1.13.1 octet_str \"AX-100\"",
    "override .1.3.6.1.2.1.47.1.1.1.1.11.1 octet_str \"SN-4711\"",
    "override .1.3.6.1.2.1.47.1.1.1.1.11.2 octet_str \"MOD-1\"",
    "override .1.3.6.1.2.1.47.1.1.1.1.8.1 octet_str \"rev B\"",
    "override .1.3.6.1.2.1.47.1.1.1.1.10.1 octet_str \"7.1.2\"",
]

/// The subtrees the built-in profiles read.
let recordedRoots = [
    ".1.3.6.1.2.1.1", ".1.3.6.1.2.1.2", ".1.3.6.1.2.1.31", ".1.3.6.1.2.1.4.20", ".1.3.6.1.2.1.25.1", ".1.3.6.1.2.1.25.2",
    ".1.3.6.1.2.1.25.3.3", ".1.3.6.1.2.1.25.4.2", ".1.3.6.1.2.1.25.5.1", ".1.3.6.1.2.1.47",
]

/// A value as `snmpget` renders it by default, decoded independently of NetSNMPOutput.
enum Rendered {
    static func string(_ text: String?) -> String? {
        guard let text else { return nil }
        if text == "\"\"" { return "" }
        if text.hasPrefix("STRING: \""), text.hasSuffix("\"") {
            return String(text.dropFirst("STRING: \"".count).dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
        }
        if let bytes = hex(text) { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    static func hex(_ text: String?) -> [UInt8]? {
        guard let text, text.hasPrefix("Hex-STRING: ") else { return nil }
        return text.dropFirst("Hex-STRING: ".count).split(separator: " ").compactMap { UInt8($0, radix: 16) }
    }

    /// INTEGER, Counter32/64, Gauge32, TimeTicks (the parenthesised hundredths).
    static func number(_ text: String?) -> UInt64? {
        guard let text else { return nil }
        if text.hasPrefix("Timeticks: ("), let close = text.firstIndex(of: ")") {
            return UInt64(text[text.index(text.startIndex, offsetBy: 12)..<close])
        }
        guard let colon = text.firstIndex(of: ":") else { return nil }
        return UInt64(text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }

    static func ipAddress(_ text: String?) -> String? {
        guard let text, text.hasPrefix("IpAddress: ") else { return nil }
        return String(text.dropFirst("IpAddress: ".count))
    }
}

/// A veth pair (`name0` with a fixed, globally administered MAC and 10.9.0.1/24, and `name1`), both up.
func addVethPair(_ daemon: NamespacedSNMPDaemon, _ first: String, _ second: String, mac: String? = nil, address: String? = nil) async throws {
    var add = ["ip", "link", "add", first]
    if let mac { add += ["address", mac] }
    try await daemon.inNamespace(add + ["type", "veth", "peer", "name", second])
    if let address { try await daemon.inNamespace(["ip", "addr", "add", address, "dev", first]) }
    try await daemon.inNamespace(["ip", "link", "set", first, "up"])
    try await daemon.inNamespace(["ip", "link", "set", second, "up"])
}

@Suite(.enabled(if: NamespacedSNMPDaemon.unavailableReason == nil, "\(NamespacedSNMPDaemon.unavailableReason ?? "")"),
       .enabled(if: snmpsimAvailable, snmpsimSkipMessage))
struct ProviderSNMPDaemonTests {
    let profiles: [CompiledSNMPProfile]

    init() throws { profiles = try SNMPBuiltinProfiles.compiled() }

    @Test func builtinProfilesAgreeWithSnmpget() async throws {
        try await NamespacedSNMPDaemon.with(configLines: entityConfig, setUp: { daemon in
            try await addVethPair(daemon, "lan0", "lan1", mac: "00:11:22:33:44:55", address: "10.9.0.1/24")
        }) { daemon in
            let lan0 = try #require(try await daemon.interfaceIndex("lan0"))
            let dynamic = ["1.3.6.1.2.1.25.1.1.0", "1.3.6.1.2.1.31.1.1.1.6.\(lan0)", "1.3.6.1.2.1.31.1.1.1.7.\(lan0)",
                           "1.3.6.1.2.1.31.1.1.1.8.\(lan0)", "1.3.6.1.2.1.31.1.1.1.9.\(lan0)"]
            let before = try await daemon.get(dynamic)
            let replay = try ReplayedAgent(try await daemon.record(recordedRoots))
            defer { replay.shutdown() }
            let agent = replay.client
            let after = try await daemon.get(dynamic)
            let provider = SNMPProfileProvider(client: agent, profiles: profiles, agentID: daemon.namespace)

            // DeviceInfo scalars against snmpget of the same OIDs.
            let scalarOIDs = [
                ("Device.DeviceInfo.Description", "1.3.6.1.2.1.1.1.0"), ("Device.DeviceInfo.HostName", "1.3.6.1.2.1.1.5.0"),
                ("Device.DeviceInfo.Manufacturer", "1.3.6.1.2.1.47.1.1.1.1.12.1"), ("Device.DeviceInfo.ModelName", "1.3.6.1.2.1.47.1.1.1.1.13.1"),
                ("Device.DeviceInfo.SerialNumber", "1.3.6.1.2.1.47.1.1.1.1.11.1"), ("Device.DeviceInfo.HardwareVersion", "1.3.6.1.2.1.47.1.1.1.1.8.1"),
                ("Device.DeviceInfo.SoftwareVersion", "1.3.6.1.2.1.47.1.1.1.1.10.1"),
            ]
            let scalarValues = try await provider.values(of: scalarOIDs.map { ProviderPath(template: $0.0) })
            let scalarGot = try await daemon.get(scalarOIDs.map(\.1))
            for ((parameter, oid), value) in zip(scalarOIDs, scalarValues) {
                #expect(value == Rendered.string(scalarGot[oid]), "\(parameter)")
            }
            #expect(scalarValues[2] == "Acme Networks")  // the chassis row, not the module's "Module Vendor"
            #expect(scalarValues[4] == "SN-4711")

            let numbers = try await provider.values(of: ["Device.DeviceInfo.UpTime", "Device.DeviceInfo.MemoryStatus.Total",
                                                         "Device.DeviceInfo.MemoryStatus.Free", "Device.DeviceInfo.ProcessStatus.CPUUsage"]
                                                        .map { ProviderPath(template: $0) })
            let upTime = try #require(UInt64(numbers[0]))
            #expect(try #require(Rendered.number(before["1.3.6.1.2.1.25.1.1.0"])) / 100 <= upTime)
            #expect(upTime <= (try #require(Rendered.number(after["1.3.6.1.2.1.25.1.1.0"]))) / 100)
            let total = try #require(UInt64(numbers[1]))
            #expect(total == Rendered.number(try await daemon.get(["1.3.6.1.2.1.25.2.2.0"])["1.3.6.1.2.1.25.2.2.0"]))
            let free = try #require(UInt64(numbers[2]))
            #expect(free > 0 && free <= total)
            #expect(try #require(UInt64(numbers[3])) <= 100)

            // Ethernet.Interface: lan0 and lan1 (veth is ethernetCsmacd), not lo (softwareLoopback).
            let ethernet = try await provider.instances(of: [ProviderPath(template: "Device.Ethernet.Interface.")])[0].map(\.key)
            #expect(Set(ethernet) == ["ifName=lan0", "ifName=lan1"])
            let ip = try await provider.instances(of: [ProviderPath(template: "Device.IP.Interface.")])[0].map(\.key)
            #expect(Set(ip) == ["ifName=lo", "ifName=lan0", "ifName=lan1"])

            let columns = ["Name", "MACAddress", "Status", "Enable", "MaxBitRate", "Stats.BytesReceived", "Stats.PacketsReceived", "Stats.ErrorsReceived"]
            let values = try await provider.values(of: columns.map {
                ProviderPath(template: "Device.Ethernet.Interface.{i}." + $0, instanceKeys: ["ifName=lan0"])
            })
            let got = try await daemon.get(["1.3.6.1.2.1.31.1.1.1.1.\(lan0)", "1.3.6.1.2.1.2.2.1.6.\(lan0)", "1.3.6.1.2.1.2.2.1.8.\(lan0)",
                                      "1.3.6.1.2.1.2.2.1.7.\(lan0)", "1.3.6.1.2.1.31.1.1.1.15.\(lan0)", "1.3.6.1.2.1.2.2.1.14.\(lan0)"])
            #expect(values[0] == "lan0")
            #expect(values[0] == Rendered.string(got["1.3.6.1.2.1.31.1.1.1.1.\(lan0)"]))
            let mac = try #require(Rendered.hex(got["1.3.6.1.2.1.2.2.1.6.\(lan0)"]))
            #expect(values[1] == mac.map { String(format: "%02x", $0) }.joined(separator: ":"))
            #expect(values[1] == "00:11:22:33:44:55")
            let operStatus = ["1": "Up", "2": "Down", "3": "Unknown", "4": "Unknown", "5": "Dormant", "6": "NotPresent", "7": "LowerLayerDown"]
            #expect(values[2] == operStatus[String(try #require(Rendered.number(got["1.3.6.1.2.1.2.2.1.8.\(lan0)"])))])
            #expect(values[3] == (Rendered.number(got["1.3.6.1.2.1.2.2.1.7.\(lan0)"]) == 2 ? "false" : "true"))
            #expect(values[4] == String(try #require(Rendered.number(got["1.3.6.1.2.1.31.1.1.1.15.\(lan0)"]))))
            let bytes = try #require(UInt64(values[5]))
            #expect(try #require(Rendered.number(before["1.3.6.1.2.1.31.1.1.1.6.\(lan0)"])) <= bytes)
            #expect(bytes <= (try #require(Rendered.number(after["1.3.6.1.2.1.31.1.1.1.6.\(lan0)"]))))
            func packets(_ rendered: [String: String]) -> UInt64 {
                (7...9).reduce(0) { $0 + (Rendered.number(rendered["1.3.6.1.2.1.31.1.1.1.\($1).\(lan0)"]) ?? 0) }
            }
            let packetsReceived = try #require(UInt64(values[6]))
            #expect(packets(before) <= packetsReceived && packetsReceived <= packets(after))
            #expect(values[7] == String(try #require(Rendered.number(got["1.3.6.1.2.1.2.2.1.14.\(lan0)"]))))

            // IPv4Address under IP.Interface, linked by ipAdEntIfIndex.
            let addresses = try await provider.instances(of: [ProviderPath(template: "Device.IP.Interface.{i}.IPv4Address.", instanceKeys: ["ifName=lan0"])])
            #expect(addresses[0].map(\.key) == ["index=10.9.0.1"])
            let address = try await provider.values(of: ["IPAddress", "SubnetMask"].map {
                ProviderPath(template: "Device.IP.Interface.{i}.IPv4Address.{i}." + $0, instanceKeys: ["ifName=lan0", "index=10.9.0.1"])
            })
            let mask = try await daemon.get(["1.3.6.1.2.1.4.20.1.1.10.9.0.1", "1.3.6.1.2.1.4.20.1.3.10.9.0.1"])
            #expect(address == [Rendered.ipAddress(mask["1.3.6.1.2.1.4.20.1.1.10.9.0.1"]), Rendered.ipAddress(mask["1.3.6.1.2.1.4.20.1.3.10.9.0.1"])])
            #expect(address == ["10.9.0.1", "255.255.255.0"])
            let loopback = try await provider.values(of: ["Type", "Loopback", "MaxMTUSize"].map {
                ProviderPath(template: "Device.IP.Interface.{i}." + $0, instanceKeys: ["ifName=lo"])
            })
            #expect(loopback == ["Loopback", "true", String(try #require(Rendered.number(try await daemon.get(["1.3.6.1.2.1.2.2.1.4.1"])["1.3.6.1.2.1.2.2.1.4.1"])))])

            // snmpd itself is one of the processes.
            let pid = try #require(try daemon.pid())
            let processes = try await provider.instances(of: [ProviderPath(template: "Device.DeviceInfo.ProcessStatus.Process.")])[0].map(\.key)
            #expect(processes.contains("index=\(pid)"))
            let snmpd = try await provider.values(of: ["PID", "Command", "State"].map {
                ProviderPath(template: "Device.DeviceInfo.ProcessStatus.Process.{i}." + $0, instanceKeys: ["index=\(pid)"])
            })
            #expect(snmpd[0] == String(pid))
            #expect(snmpd[1] == Rendered.string(try await daemon.get(["1.3.6.1.2.1.25.4.2.1.2.\(pid)"])["1.3.6.1.2.1.25.4.2.1.2.\(pid)"]))
            #expect(snmpd[1] == "snmpd")
            #expect(["Running", "Sleeping"].contains(snmpd[2]))
        }
    }

    @Test func valuesAreReadInFewGETs() async throws {
        try await NamespacedSNMPDaemon.with(configLines: entityConfig) { daemon in
            let replay = try ReplayedAgent(try await daemon.record(recordedRoots))
            defer { replay.shutdown() }
            let agent = replay.client
            let provider = SNMPProfileProvider(client: agent, profiles: profiles, agentID: daemon.namespace, maxVarBindsPerRequest: 16)
            let keys = try await provider.instances(of: [ProviderPath(template: "Device.IP.Interface.")])[0].map(\.key)
            let paths = keys.flatMap { key in
                ["Name", "Enable", "Status", "MaxMTUSize", "Type"].map { ProviderPath(template: "Device.IP.Interface.{i}." + $0, instanceKeys: [key]) }
            } + ["Description", "HostName", "UpTime"].map { ProviderPath(template: "Device.DeviceInfo." + $0) }
            let before = await agent.getRequests.count
            _ = try await provider.values(of: paths)
            let requests = Array(await agent.getRequests.dropFirst(before))
            // Distinct OIDs (Type and the others read different columns; UpTime one OID), 16 per PDU at most.
            let oids = Set(requests.flatMap { $0 })
            #expect(requests.count == (oids.count + 15) / 16)
            #expect(requests.allSatisfy { $0.count <= 16 })
        }
    }

    @Test func renumberedInterfacesKeepTheirInstanceNumbers() async throws {
        // snmpd keeps removed interfaces for `interface_fadeout` seconds (default 300) and gives a re-created name
        // its new ifIndex only with `interface_replace_old`: make it follow the kernel promptly.
        try await NamespacedSNMPDaemon.with(configLines: ["interface_fadeout 1", "interface_replace_old yes"], setUp: { daemon in
            try await addVethPair(daemon, "a0", "a1")
            try await addVethPair(daemon, "b0", "b1")
        }) { daemon in
            let replay = try ReplayedAgent(try await daemon.record(recordedRoots))
            defer { replay.shutdown() }
            let agent = replay.client
            let provider = SNMPProfileProvider(client: agent, profiles: profiles, agentID: daemon.namespace)
            let supported = await provider.mappedParameters()
            let model = DataModel(schema: SchemaTree(DataModelSchema.tr181.restricted(to: supported)))
            try await model.mount(provider, at: "Device.")
            // The same profile without key columns (rows keyed by ifIndex), to show what the keys prevent.
            let ifMIB = try #require(SNMPBuiltinProfiles.json.first { $0.name == "if-mib" }?.text)
            let byIndexProvider = SNMPProfileProvider(client: agent, profiles: [try Self.withoutKeyColumns(ifMIB)], agentID: daemon.namespace)
            let byIndexModel = DataModel(schema: SchemaTree(DataModelSchema.tr181.restricted(to: supported)))
            try await byIndexModel.mount(byIndexProvider, at: "Device.")

            func numbersByName(_ model: DataModel) async throws -> [String: String] {
                var result: [String: String] = [:]
                for value in try await model.getParameterValues(["Device.Ethernet.Interface."]) where value.name.hasSuffix(".Name") {
                    result[value.value] = String(value.name.dropFirst("Device.Ethernet.Interface.".count).prefix { $0 != "." })
                }
                return result
            }
            let first = try await numbersByName(model)
            let firstByIndex = try await numbersByName(byIndexModel)
            #expect(Set(first.keys) == ["a0", "a1", "b0", "b1"])
            let oldIndex = try #require(try await daemon.interfaceIndex("a0"))

            // The agent renumbers: a0/a1 are recreated (new ifIndex), b0/b1 go away, c0/c1 arrive.
            try await daemon.inNamespace(["ip", "link", "del", "a0"])
            try await daemon.inNamespace(["ip", "link", "del", "b0"])
            try await addVethPair(daemon, "c0", "c1")
            try await addVethPair(daemon, "a0", "a1")
            let newIndex = try #require(try await daemon.interfaceIndex("a0"))
            #expect(newIndex != oldIndex)
            // snmpd caches ifTable for a few seconds: wait (bounded) until its ifIndex of a0 is the new one.
            var seen = false
            for _ in 0..<150 where !seen {
                let names = try await daemon.walk(".1.3.6.1.2.1.31.1.1.1.1")
                seen = names.contains { $0.oid.components.last == newIndex && $0.value == .octetString(Array("a0".utf8)) }
                    && !names.contains { $0.value == .octetString(Array("b0".utf8)) }
                if !seen { try await Task.sleep(for: .milliseconds(100)) }
            }
            try #require(seen, "snmpd did not show the renumbered interfaces within 15 s")
            try replay.load(try await daemon.record(recordedRoots))

            let second = try await numbersByName(model)
            #expect(Set(second.keys) == ["a0", "a1", "c0", "c1"])
            #expect(second["a0"] == first["a0"])
            #expect(second["a1"] == first["a1"])
            // Keyed by ifIndex, the recreated a0 would have become a new instance.
            let secondByIndex = try await numbersByName(byIndexModel)
            #expect(secondByIndex["a0"] != firstByIndex["a0"])
            // Departed instances' numbers are not given to newcomers.
            #expect(Set([second["c0"], second["c1"]]).isDisjoint(with: Set(first.values.map(Optional.some))))
        }
    }

    /// The if-mib profile with its tables' keyColumns removed.
    static func withoutKeyColumns(_ json: String) throws -> CompiledSNMPProfile {
        var profile = try SNMPProfileCompiler().compile(json: json)
        for index in profile.tables.indices { profile.tables[index].keyColumns = [] }
        return profile
    }

    @Test func deviceIdentityFromRealData() async throws {
        try await NamespacedSNMPDaemon.with(configLines: entityConfig, setUp: { daemon in
            try await addVethPair(daemon, "lan0", "lan1", mac: "00:11:22:33:44:55")
        }) { daemon in
            let replay = try ReplayedAgent(try await daemon.record(recordedRoots))
            defer { replay.shutdown() }
            let agent = replay.client
            let facts = try await SNMPDeviceIdentity.fetchFacts(from: agent)
            let identity = SNMPDeviceIdentity.derive(from: facts, agentID: "agent-1")
            #expect(identity == SNMPDeviceIdentity(manufacturerOUI: "001122", productClass: "AX-100", serialNumber: "SN-4711"))
        }
        try await NamespacedSNMPDaemon.with(setUp: { daemon in
            try await addVethPair(daemon, "lan0", "lan1", mac: "00:11:22:33:44:55")
        }) { daemon in
            // No ENTITY-MIB: ProductClass from sysObjectID, SerialNumber from the MAC address.
            let replay = try ReplayedAgent(try await daemon.record(recordedRoots))
            defer { replay.shutdown() }
            let agent = replay.client
            let identity = SNMPDeviceIdentity.derive(from: try await SNMPDeviceIdentity.fetchFacts(from: agent), agentID: "agent-1")
            let sysObjectID = try await daemon.get(["1.3.6.1.2.1.1.2.0"])["1.3.6.1.2.1.1.2.0"]
            #expect(sysObjectID == "OID: .\(identity.productClass)")
            #expect(identity.manufacturerOUI == "001122")
            #expect(identity.serialNumber == "001122334455")
        }
    }

    @Test func counter32IsAccumulatedAcrossAWrap() async throws {
        try await NamespacedSNMPDaemon.with(setUp: { daemon in
            try await addVethPair(daemon, "lan0", "lan1", mac: "00:11:22:33:44:55")
        }) { daemon in
            // An agent without ifXTable: the provider falls back to 32-bit ifInOctets and to ifDescr/ifPhysAddress.
            let recording = try await daemon.record(recordedRoots.filter { $0 != ".1.3.6.1.2.1.31" })
            let lan0 = try #require(try await daemon.interfaceIndex("lan0"))
            let inOctets = SNMPObjectIdentifier("1.3.6.1.2.1.2.2.1.10.\(lan0)")!
            let upTime = SNMPObjectIdentifier("1.3.6.1.2.1.1.3.0")!
            // ifInOctets of lan0 and sysUpTime writable in snmpsim (writecache), so that the test moves them with
            // real SETs through the client.
            let replay = try ReplayedAgent(recording, writable: [inOctets, upTime])
            defer { replay.shutdown() }
            let agent = replay.client
            let provider = SNMPProfileProvider(client: agent, profiles: profiles, agentID: daemon.namespace)
            let keys = try await provider.instances(of: [ProviderPath(template: "Device.Ethernet.Interface.")])[0].map(\.key)
            // No ifName: the second key column (ifPhysAddress) names lan0.
            #expect(keys.contains("ifPhysAddress=00:11:22:33:44:55"))
            let bytes = ProviderPath(template: "Device.Ethernet.Interface.{i}.Stats.BytesReceived", instanceKeys: ["ifPhysAddress=00:11:22:33:44:55"])
            let name = ProviderPath(template: "Device.Ethernet.Interface.{i}.Name", instanceKeys: ["ifPhysAddress=00:11:22:33:44:55"])
            let recorded = recording.first { $0.oid == inOctets }?.value
            let recordedUpTime = recording.first { $0.oid == upTime }?.value

            // The recorded value first (what snmpget showed), then the counter runs through 2^32.
            guard case .counter32(let recorded)? = recorded, case .timeTicks(let ticks)? = recordedUpTime else {
                Issue.record("no Counter32 ifInOctets / sysUpTime in the recording")
                return
            }
            #expect(try await provider.values(of: [bytes, name]) == [String(recorded), "lan0"])
            _ = try await agent.set([SNMPVarBind(oid: inOctets, value: .counter32(UInt32.max - 9)), SNMPVarBind(oid: upTime, value: .timeTicks(ticks + 100))])
            #expect(try await provider.values(of: [bytes]) == [String(UInt64(UInt32.max) - 9)])
            _ = try await agent.set([SNMPVarBind(oid: inOctets, value: .counter32(5)), SNMPVarBind(oid: upTime, value: .timeTicks(ticks + 200))])
            #expect(try await provider.values(of: [bytes]) == [String(UInt64(UInt32.max) + 6)])
            // An agent restart (sysUpTime back to 1 s) resets the counter: no false wrap, the total goes on.
            _ = try await agent.set([SNMPVarBind(oid: inOctets, value: .counter32(3)), SNMPVarBind(oid: upTime, value: .timeTicks(100))])
            #expect(try await provider.values(of: [bytes]) == [String(UInt64(UInt32.max) + 9)])
        }
    }

    @Test func setSysNameInOneSETAcceptedBySnmpd() async throws {
        // sysName not configured in snmpd.conf, so snmpd lets it be written.
        try await NamespacedSNMPDaemon.with { daemon in
            // sysName and lo's ifAdminStatus writable in snmpsim (writecache): the SET goes out through the real client.
            let replay = try ReplayedAgent(try await daemon.record([".1.3.6.1.2.1.1", ".1.3.6.1.2.1.2", ".1.3.6.1.2.1.31"]),
                                           writable: [SNMPObjectIdentifier("1.3.6.1.2.1.1.5.0")!, SNMPObjectIdentifier("1.3.6.1.2.1.2.2.1.7.1")!])
            defer { replay.shutdown() }
            let agent = replay.client
            let provider = SNMPProfileProvider(client: agent, profiles: profiles, agentID: daemon.namespace)
            let status = try await provider.setValues([
                ProviderParameterValue(path: ProviderPath(template: "Device.DeviceInfo.HostName"), value: "renamed-by-acs", type: .string),
                ProviderParameterValue(path: ProviderPath(template: "Device.IP.Interface.{i}.Enable", instanceKeys: ["ifName=lo"]), value: "true", type: .boolean),
            ])
            #expect(status == .applied)
            let sets = await agent.sets
            #expect(sets.count == 1)
            #expect(sets.first?.map(\.oid) == [SNMPObjectIdentifier("1.3.6.1.2.1.1.5.0")!, SNMPObjectIdentifier("1.3.6.1.2.1.2.2.1.7.1")!])
            #expect(sets.first?.map(\.value) == [.octetString(Array("renamed-by-acs".utf8)), .integer(1)])
            // snmpsim kept what the SET carried: read back through the client.
            #expect(try await agent.get([SNMPObjectIdentifier("1.3.6.1.2.1.1.5.0")!]).map(\.value) == [.octetString(Array("renamed-by-acs".utf8))])
            // The varbind the provider built is what real snmpd accepts for sysName.
            guard case .octetString(let bytes)? = sets.first?.first?.value else { return }
            try await daemon.set("1.3.6.1.2.1.1.5.0", type: "s", value: String(decoding: bytes, as: UTF8.self))
            #expect(Rendered.string(try await daemon.get(["1.3.6.1.2.1.1.5.0"])["1.3.6.1.2.1.1.5.0"]) == "renamed-by-acs")
        }
    }
}
