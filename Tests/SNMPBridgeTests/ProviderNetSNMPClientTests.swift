// The profile provider over the real net-snmp client (SNMPManager) and a real snmpd (SNMPDaemonPeer): reads agree
// with net-snmp's snmpget, SETs go out as one PDU and snmpd's error-status/error-index become per-parameter
// faults, and an agent that does not answer marks the device offline.
import CWMPClient
import CWMPTestSupport
import Foundation
import Proxier
import Testing
@testable import SNMPBridge

#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: snmpdAvailable, snmpdSkipMessage))
struct ProviderNetSNMPClientTests {
    func get(_ peer: SNMPDaemonPeer, _ oids: [String]) throws -> [String: String] {
        let result = try peer.tool("snmpget", ["-v2c", "-c", "public", "-On"], oids)
        var values: [String: String] = [:]
        for line in result.output.split(separator: "\n") {
            guard let separator = line.firstRange(of: " = ") else { continue }
            values[String(line[line.index(after: line.startIndex)..<separator.lowerBound])] = String(line[separator.upperBound...])
        }
        return values
    }

    @Test func builtinProfilesOverTheClientAgreeWithSnmpget() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let provider = SNMPProfileProvider(client: manager.session(for: peer.v2cPublic), profiles: try SNMPBuiltinProfiles.compiled(),
                                           agentID: peer.address)
        let before = try get(peer, ["1.3.6.1.2.1.25.1.1.0"])
        let values = try await provider.values(of: ["Description", "HostName", "UpTime", "MemoryStatus.Total"].map {
            ProviderPath(template: "Device.DeviceInfo." + $0)
        })
        let got = try get(peer, ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.25.1.1.0", "1.3.6.1.2.1.25.2.2.0"])
        #expect(values[0] == Rendered.string(got["1.3.6.1.2.1.1.1.0"]))
        #expect(values[1] == Rendered.string(got["1.3.6.1.2.1.1.5.0"]))
        let upTime = try #require(UInt64(values[2]))
        #expect(try #require(Rendered.number(before["1.3.6.1.2.1.25.1.1.0"])) / 100 <= upTime)
        #expect(upTime <= (try #require(Rendered.number(got["1.3.6.1.2.1.25.1.1.0"]))) / 100)
        #expect(values[3] == Rendered.number(got["1.3.6.1.2.1.25.2.2.0"]).map(String.init))

        // The loopback interface (ifIndex 1 on Linux) through IP.Interface, keyed by its ifName.
        let keys = try await provider.instances(of: [ProviderPath(template: "Device.IP.Interface.")])[0].map(\.key)
        #expect(keys.contains("ifName=lo"))
        let lo = try await provider.values(of: ["Name", "Type", "MaxMTUSize", "Status"].map {
            ProviderPath(template: "Device.IP.Interface.{i}." + $0, instanceKeys: ["ifName=lo"])
        })
        let loGot = try get(peer, ["1.3.6.1.2.1.31.1.1.1.1.1", "1.3.6.1.2.1.2.2.1.4.1", "1.3.6.1.2.1.2.2.1.8.1"])
        #expect(lo[0] == Rendered.string(loGot["1.3.6.1.2.1.31.1.1.1.1.1"]))
        #expect(lo[1] == "Loopback")
        #expect(lo[2] == Rendered.number(loGot["1.3.6.1.2.1.2.2.1.4.1"]).map(String.init))
        #expect(lo[3] == (Rendered.number(loGot["1.3.6.1.2.1.2.2.1.8.1"]) == 1 ? "Up" : lo[3]))
        #expect(await provider.isOffline == false)

        // lo's IPv4 address, nested under its IP.Interface through ipAdEntIfIndex.
        let addresses = try await provider.instances(of: [ProviderPath(template: "Device.IP.Interface.{i}.IPv4Address.", instanceKeys: ["ifName=lo"])])
        #expect(addresses[0].map(\.key).contains("index=127.0.0.1"))
        let address = try await provider.values(of: ["IPAddress", "SubnetMask"].map {
            ProviderPath(template: "Device.IP.Interface.{i}.IPv4Address.{i}." + $0, instanceKeys: ["ifName=lo", "index=127.0.0.1"])
        })
        let mask = try get(peer, ["1.3.6.1.2.1.4.20.1.3.127.0.0.1"])["1.3.6.1.2.1.4.20.1.3.127.0.0.1"]
        #expect(address == ["127.0.0.1", try #require(Rendered.ipAddress(mask))])

        // Every Ethernet-like interface of the host (eth0 at least): name and MAC as snmpget shows them.
        let ethernet = try await provider.instances(of: [ProviderPath(template: "Device.Ethernet.Interface.")])[0].map(\.key)
        #expect(ethernet.contains("ifName=eth0"))
        let eth0 = try await provider.values(of: ["Name", "MACAddress", "MaxBitRate"].map {
            ProviderPath(template: "Device.Ethernet.Interface.{i}." + $0, instanceKeys: ["ifName=eth0"])
        })
        let names = try peer.walkLines("1.3.6.1.2.1.31.1.1.1.1")
        let eth0Index = try #require(names.first { $0.value == "STRING: \"eth0\"" }.map { String($0.oid.split(separator: ".").last!) })
        let eth0Got = try get(peer, ["1.3.6.1.2.1.2.2.1.6.\(eth0Index)", "1.3.6.1.2.1.31.1.1.1.15.\(eth0Index)"])
        #expect(eth0[0] == "eth0")
        #expect(eth0[1] == Rendered.hex(eth0Got["1.3.6.1.2.1.2.2.1.6.\(eth0Index)"])?.map { String(format: "%02x", $0) }.joined(separator: ":"))
        #expect(eth0[2] == Rendered.number(eth0Got["1.3.6.1.2.1.31.1.1.1.15.\(eth0Index)"]).map(String.init))
    }

    /// HostName → sysContact.0 (writable in the peer), ProvisioningCode → sysDescr.0 (notWritable in snmpd),
    /// PeriodicInformInterval → sysLocation.0 written as an INTEGER (wrongType for a DisplayString).
    static let setProfile = #"""
    { "name": "set-test", "scalars": [
      { "parameter": "Device.DeviceInfo.HostName", "oid": "1.3.6.1.2.1.1.4.0", "conversion": "displayString", "writable": true },
      { "parameter": "Device.DeviceInfo.ProvisioningCode", "oid": "1.3.6.1.2.1.1.1.0", "conversion": "displayString", "writable": true },
      { "parameter": "Device.ManagementServer.PeriodicInformInterval", "oid": "1.3.6.1.2.1.1.6.0", "syntax": "Integer32", "writable": true }
    ] }
    """#

    func value(_ parameter: String, _ text: String, _ type: ParameterValueType = .string) -> ProviderParameterValue {
        ProviderParameterValue(path: ProviderPath(template: parameter), value: text, type: type)
    }

    func setFailure(_ provider: SNMPProfileProvider, _ values: [ProviderParameterValue]) async -> [ProviderSetValuesError.Entry]? {
        do {
            _ = try await provider.setValues(values)
            return nil
        } catch let error as ProviderSetValuesError {
            return error.entries
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func setErrorsOfSnmpdBecomePerParameterFaults() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let provider = SNMPProfileProvider(client: manager.session(for: peer.v2cPrivate),
                                           profiles: [try SNMPProfileCompiler().compile(json: Self.setProfile)], agentID: peer.address)

        // One PDU; snmpd rejects its second varbind (notWritable, error-index 2): 9008 for that parameter, and
        // SNMP's all-or-nothing SET leaves sysContact untouched.
        let contactBefore = try get(peer, ["1.3.6.1.2.1.1.4.0"])["1.3.6.1.2.1.1.4.0"]
        let entries = await setFailure(provider, [value("Device.DeviceInfo.HostName", "acs-contact"),
                                                  value("Device.DeviceInfo.ProvisioningCode", "abc")])
        #expect(entries?.map(\.index) == [1])
        #expect(entries?.map(\.faultCode) == [.attemptToSetNonWritableParameter])
        #expect(try get(peer, ["1.3.6.1.2.1.1.4.0"])["1.3.6.1.2.1.1.4.0"] == contactBefore)

        // wrongType → 9006.
        let wrongType = await setFailure(provider, [value("Device.DeviceInfo.HostName", "x"),
                                                    value("Device.ManagementServer.PeriodicInformInterval", "5", .unsignedInt)])
        #expect(wrongType?.map(\.index) == [1])
        #expect(wrongType?.map(\.faultCode) == [.invalidParameterType])

        // wrongLength (a DisplayString over 255 octets) → 9007.
        let wrongLength = await setFailure(provider, [value("Device.DeviceInfo.HostName", String(repeating: "c", count: 300))])
        #expect(wrongLength?.map(\.index) == [0])
        #expect(wrongLength?.map(\.faultCode) == [.invalidParameterValue])

        // And a good value is applied.
        #expect(try await provider.setValues([value("Device.DeviceInfo.HostName", "acs-contact")]) == .applied)
        #expect(Rendered.string(try get(peer, ["1.3.6.1.2.1.1.4.0"])["1.3.6.1.2.1.1.4.0"]) == "acs-contact")
        #expect(try await provider.values(of: [ProviderPath(template: "Device.DeviceInfo.HostName")]) == ["acs-contact"])
    }

    @Test func valuesThatCannotBeConvertedFailBeforeAnySET() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let provider = SNMPProfileProvider(client: manager.session(for: peer.v2cPrivate), profiles: try SNMPBuiltinProfiles.compiled(),
                                           agentID: peer.address)
        let entries = await setFailure(provider, [
            value("Device.DeviceInfo.HostName", "fine"),
            value("Device.IP.Interface.{i}.Enable", "maybe", .boolean).withKeys(["ifName=lo"]),
            value("Device.DeviceInfo.Description", "read-only in the profile"),
            value("Device.IP.Interface.{i}.Enable", "true", .boolean).withKeys(["ifName=no-such-interface"]),
        ])
        #expect(entries?.map(\.index) == [1, 2, 3])
        #expect(entries?.map(\.faultCode) == [.invalidParameterValue, .attemptToSetNonWritableParameter, .invalidParameterName])
        // Nothing was sent: sysName is unchanged.
        #expect(Rendered.string(try get(peer, ["1.3.6.1.2.1.1.5.0"])["1.3.6.1.2.1.1.5.0"]) != "fine")
    }

    /// What the engine runs on every provider of a SetParameterValues spanning several agents before any applies:
    /// the same per-value faults as setValues, and no SET sent, whether the values are good or not.
    @Test func validateValuesChecksLikeSetValuesAndSendsNothing() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let provider = SNMPProfileProvider(client: manager.session(for: peer.v2cPrivate), profiles: try SNMPBuiltinProfiles.compiled(),
                                           agentID: peer.address)
        let nameBefore = Rendered.string(try get(peer, ["1.3.6.1.2.1.1.5.0"])["1.3.6.1.2.1.1.5.0"])
        do {
            try await provider.validateValues([
                value("Device.DeviceInfo.HostName", "validated-only"),
                value("Device.IP.Interface.{i}.Enable", "maybe", .boolean).withKeys(["ifName=lo"]),
                value("Device.DeviceInfo.Description", "read-only in the profile"),
            ])
            Issue.record("validateValues accepted an invalid and a read-only value")
        } catch let error as ProviderSetValuesError {
            #expect(error.entries.map(\.index) == [1, 2])
            #expect(error.entries.map(\.faultCode) == [.invalidParameterValue, .attemptToSetNonWritableParameter])
        }
        // Good values pass, and validating applies nothing.
        try await provider.validateValues([value("Device.DeviceInfo.HostName", "validated-only")])
        let nameAfter = Rendered.string(try get(peer, ["1.3.6.1.2.1.1.5.0"])["1.3.6.1.2.1.1.5.0"])
        #expect(nameAfter == nameBefore)
        #expect(nameAfter != "validated-only")
    }

    @Test func tablesWithoutRowStatusRefuseAddAndDelete() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let provider = SNMPProfileProvider(client: manager.session(for: peer.v2cPrivate), profiles: try SNMPBuiltinProfiles.compiled(),
                                           agentID: peer.address)
        await #expect(throws: SNMPBridgeError(.requestDenied, "")) {
            _ = try await provider.addInstance(to: ProviderPath(template: "Device.IP.Interface."), instanceNumber: 9)
        }
        await #expect(throws: SNMPBridgeError(.requestDenied, "")) {
            _ = try await provider.deleteInstance(ProviderPath(template: "Device.IP.Interface.{i}.", instanceKeys: ["ifName=lo"]))
        }
        #expect(SNMPBridgeError(.requestDenied, "").cwmpFault.code == .requestDenied)
        await #expect(throws: SNMPBridgeError(.unknownInstance, "")) {
            _ = try await provider.values(of: [ProviderPath(template: "Device.IP.Interface.{i}.Name", instanceKeys: ["ifName=nope"])])
        }
    }

    /// SNMP-TARGET-MIB snmpTargetAddrTable (writable in the peer) as a table with RowStatus: rows are created with
    /// createAndGo plus the columns snmpd needs to make it active (TDomain, TAddress, Params), the name being the instance number's text.
    static let rowStatusProfile = #"""
    { "name": "target-addresses", "tables": [ {
        "object": "Device.DeviceInfo.Location.{i}.", "label": "SNMP-TARGET-MIB::snmpTargetAddrTable",
        "indexColumn": "1.3.6.1.6.3.12.1.2.1.9",
        "columns": [ { "parameter": "DataObject", "oid": "1.3.6.1.6.3.12.1.2.1.6", "label": "snmpTargetAddrTagList",
                       "conversion": "displayString", "writable": true } ],
        "rowStatus": { "column": "1.3.6.1.6.3.12.1.2.1.9", "indexFormat": "string", "createValues": [
          { "column": "1.3.6.1.6.3.12.1.2.1.2", "syntax": "OBJECT IDENTIFIER", "value": "1.3.6.1.6.1.1" },
          { "column": "1.3.6.1.6.3.12.1.2.1.3", "syntax": "OCTET STRING", "conversion": "hex", "value": "7f0000010fa2" },
          { "column": "1.3.6.1.6.3.12.1.2.1.7", "syntax": "OCTET STRING", "value": "params" } ] } } ] }
    """#

    @Test func addAndDeleteThroughRowStatus() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let provider = SNMPProfileProvider(client: manager.session(for: peer.v2cPrivate),
                                           profiles: [try SNMPProfileCompiler().compile(json: Self.rowStatusProfile)], agentID: peer.address)
        let table = ProviderPath(template: "Device.DeviceInfo.Location.")
        #expect(try await provider.instances(of: [table]) == [[]])

        let (key, status) = try await provider.addInstance(to: table, instanceNumber: 7)
        #expect(status == .applied)
        // Name "7": length-prefixed string index .1.55.
        #expect(key == "index=1.55")
        let rowStatus = try peer.tool("snmpget", ["-v2c", "-c", "public", "-On"], ["1.3.6.1.6.3.12.1.2.1.9.1.55"]).output
        #expect(rowStatus.contains("INTEGER: 1"))  // active
        // A second row for the same proposed number gets the next free name.
        #expect(try await provider.addInstance(to: table, instanceNumber: 7).key == "index=1.56")

        let dataObject = ProviderPath(template: "Device.DeviceInfo.Location.{i}.DataObject", instanceKeys: [key])
        #expect(try await provider.setValues([ProviderParameterValue(path: dataObject, value: "acs-tag", type: .string)]) == .applied)
        #expect(Rendered.string(try get(peer, ["1.3.6.1.6.3.12.1.2.1.6.1.55"])["1.3.6.1.6.3.12.1.2.1.6.1.55"]) == "acs-tag")
        #expect(try await provider.values(of: [dataObject]) == ["acs-tag"])

        #expect(try await provider.deleteInstance(ProviderPath(template: "Device.DeviceInfo.Location.{i}.", instanceKeys: [key])) == .applied)
        #expect(try await provider.instances(of: [table]) == [[ProviderInstance(key: "index=1.56")]])
        let walk = try peer.tool("snmpwalk", ["-v2c", "-c", "public", "-On"], ["1.3.6.1.6.3.12.1.2.1.9"]).output
        #expect(!walk.contains(".1.3.6.1.6.3.12.1.2.1.9.1.55 "))
        await #expect(throws: SNMPBridgeError(.unknownInstance, "")) {
            _ = try await provider.deleteInstance(ProviderPath(template: "Device.DeviceInfo.Location.{i}.", instanceKeys: [key]))
        }
    }

    @Test func probingFindsWhatTheAgentImplements() async throws {
        let peer = try SNMPDaemonPeer()
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let provider = SNMPProfileProvider(client: manager.session(for: peer.v2cPublic), profiles: try SNMPBuiltinProfiles.compiled(),
                                           agentID: peer.address)
        let supported = try await provider.probeSupportedParameters()
        #expect(supported.isSubset(of: await provider.mappedParameters()))
        #expect(supported.isSuperset(of: ["Device.DeviceInfo.Description", "Device.DeviceInfo.HostName", "Device.DeviceInfo.UpTime",
                                          "Device.IP.Interface.{i}.Name", "Device.DeviceInfo.MemoryStatus.Free",
                                          "Device.DeviceInfo.ProcessStatus.Process.{i}.Command"]))
        // Linux's snmpd has no ENTITY-MIB: the chassis parameters are not offered.
        let entity = try peer.tool("snmpwalk", ["-v2c", "-c", "public", "-On"], ["1.3.6.1.2.1.47.1.1.1.1.5"]).output
        try #require(!entity.contains("INTEGER"), "this snmpd implements entPhysicalTable")
        #expect(!supported.contains("Device.DeviceInfo.Manufacturer"))
        #expect(!supported.contains("Device.DeviceInfo.SerialNumber"))
    }

    @Test func anAgentThatDoesNotAnswerIsOffline() async throws {
        // A bound UDP socket nobody reads: requests vanish without an ICMP error, as with a powered-off device.
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))

        let manager = SNMPManager()
        defer { manager.shutdown() }
        let agent = SNMPAgent(host: "127.0.0.1", port: port, credentials: .v2c(community: "public"), timeout: .milliseconds(200), retries: 0)
        let changes = ReachabilityLog()
        let provider = SNMPProfileProvider(client: manager.session(for: agent), profiles: try SNMPBuiltinProfiles.compiled(),
                                           agentID: "silent", onReachabilityChange: { changes.append($0) })
        await #expect(throws: SNMPBridgeError(.timedOut, "")) {
            _ = try await provider.values(of: [ProviderPath(template: "Device.DeviceInfo.Description")])
        }
        #expect(await provider.isOffline)
        #expect(changes.values == [false])
        #expect(SNMPBridgeError(.timedOut, "").cwmpFault.code == .internalError)
    }
}

final class ReachabilityLog: @unchecked Sendable {
    private let lock = NSLock()
    private var log: [Bool] = []
    func append(_ online: Bool) { lock.withLock { log.append(online) } }
    var values: [Bool] { lock.withLock { log } }
}

extension ProviderParameterValue {
    func withKeys(_ keys: [String]) -> ProviderParameterValue {
        var copy = self
        copy.path.instanceKeys = keys
        return copy
    }
}
