// SET outcomes snmpd cannot be made to produce on demand, from a real snmpsim (its `error`, `writecache` and `delay`
// variation modules) through the real net-snmp client and the profile provider: every error-status the fault table
// names becomes its per-parameter CWMP fault, an agent that never answers a SET marks the device offline, and an
// agent that answers a SET with exceptions in the varbinds (snmpsim does, for objects without a variation) is not
// taken as having applied it.
import CWMPClient
import CWMPTestSupport
import Foundation
import Proxier
import Testing
@testable import SNMPBridge

@Suite(.enabled(if: snmpsimAvailable && snmpdAvailable, snmpsimSkipMessage), .timeLimit(.minutes(2)))
struct SNMPSimSetTests {
    /// Writable scalars on private OIDs (the example enterprise 32473), one per outcome.
    static let records = """
    1.3.6.1.2.1.1.1.0|4|Simulated device
    1.3.6.1.2.1.1.3.0|67|4711
    1.3.6.1.4.1.32473.9.1.0|4:writecache|value=acs.example.net,vlist=eq:forbidden:wrongvalue
    1.3.6.1.4.1.32473.9.2.0|4:error|op=set,status=notWritable
    1.3.6.1.4.1.32473.9.3.0|2:error|op=set,status=wrongType
    1.3.6.1.4.1.32473.9.4.0|4:error|op=set,status=genError
    1.3.6.1.4.1.32473.9.5.0|4:error|op=set,status=noAccess
    1.3.6.1.4.1.32473.9.6.0|4:error|op=set,status=inconsistentValue
    1.3.6.1.4.1.32473.9.7.0|4:error|op=set,status=commitFailed
    1.3.6.1.4.1.32473.9.8.0|2|42
    1.3.6.1.4.1.32473.9.9.0|4:delay|value=x,wait=100000

    """

    static let profile = #"""
    { "name": "set-outcomes", "scalars": [
      { "parameter": "Device.ManagementServer.URL", "oid": "1.3.6.1.4.1.32473.9.1.0", "conversion": "displayString", "writable": true },
      { "parameter": "Device.ManagementServer.Username", "oid": "1.3.6.1.4.1.32473.9.2.0", "conversion": "displayString", "writable": true },
      { "parameter": "Device.ManagementServer.PeriodicInformInterval", "oid": "1.3.6.1.4.1.32473.9.3.0", "syntax": "Integer32", "writable": true },
      { "parameter": "Device.ManagementServer.ConnectionRequestUsername", "oid": "1.3.6.1.4.1.32473.9.4.0", "conversion": "displayString", "writable": true },
      { "parameter": "Device.DeviceInfo.ProvisioningCode", "oid": "1.3.6.1.4.1.32473.9.5.0", "conversion": "displayString", "writable": true },
      { "parameter": "Device.DeviceInfo.HostName", "oid": "1.3.6.1.4.1.32473.9.6.0", "conversion": "displayString", "writable": true },
      { "parameter": "Device.ManagementServer.STUNUsername", "oid": "1.3.6.1.4.1.32473.9.7.0", "conversion": "displayString", "writable": true },
      { "parameter": "Device.ManagementServer.ManageableDeviceNotificationLimit", "oid": "1.3.6.1.4.1.32473.9.8.0", "syntax": "Integer32", "writable": true },
      { "parameter": "Device.ManagementServer.STUNServerAddress", "oid": "1.3.6.1.4.1.32473.9.9.0", "conversion": "displayString", "writable": true }
    ] }
    """#

    func value(_ parameter: String, _ text: String, _ type: ParameterValueType = .string) -> ProviderParameterValue {
        ProviderParameterValue(path: ProviderPath(template: parameter), value: text, type: type)
    }

    func faults(_ provider: SNMPProfileProvider, _ values: [ProviderParameterValue]) async -> [ProviderSetValuesError.Entry]? {
        do {
            _ = try await provider.setValues(values)
            Issue.record("the SET was applied")
        } catch let error as ProviderSetValuesError {
            return error.entries
        } catch {
            Issue.record("unexpected error \(error)")
        }
        return nil
    }

    @Test func errorStatusesBecomePerParameterFaults() async throws {
        let peer = try SNMPSimPeer(devices: ["device": Self.records])
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let session = manager.session(for: peer.agent("device", timeout: .seconds(1), retries: 1))
        let provider = SNMPProfileProvider(client: session, profiles: [try SNMPProfileCompiler().compile(json: Self.profile)],
                                           agentID: "device")

        // The writable object takes a value and reads it back; the value the agent refuses is wrongValue → 9007.
        #expect(try await provider.setValues([value("Device.ManagementServer.URL", "acs2.example.net")]) == .applied)
        #expect(try await provider.values(of: [ProviderPath(template: "Device.ManagementServer.URL")]) == ["acs2.example.net"])
        let cases: [(String, String, ParameterValueType, CWMPFault.Code)] = [
            ("Device.ManagementServer.URL", "forbidden", .string, .invalidParameterValue),  // wrongValue
            ("Device.ManagementServer.Username", "x", .string, .attemptToSetNonWritableParameter),  // notWritable
            ("Device.ManagementServer.PeriodicInformInterval", "60", .unsignedInt, .invalidParameterType),  // wrongType
            ("Device.ManagementServer.ConnectionRequestUsername", "x", .string, .internalError),  // genErr
            ("Device.DeviceInfo.ProvisioningCode", "x", .string, .attemptToSetNonWritableParameter),  // noAccess
            ("Device.DeviceInfo.HostName", "x", .string, .invalidParameterValue),  // inconsistentValue
            ("Device.ManagementServer.STUNUsername", "x", .string, .internalError),  // commitFailed
        ]
        for (parameter, text, type, code) in cases {
            let entries = await faults(provider, [value(parameter, text, type)])
            #expect(entries?.map(\.index) == [0], "\(parameter)")
            #expect(entries?.map(\.faultCode) == [code], "\(parameter)")
        }
        // The refused value did not replace the accepted one.
        #expect(try await provider.values(of: [ProviderPath(template: "Device.ManagementServer.URL")]) == ["acs2.example.net"])

        // Two parameters in one PDU, the second refused: error-index 2 names it, the first is not applied.
        let second = await faults(provider, [value("Device.ManagementServer.URL", "acs3.example.net"),
                                             value("Device.ManagementServer.Username", "x")])
        #expect(second?.map(\.index) == [1])
        #expect(second?.map(\.faultCode) == [.attemptToSetNonWritableParameter])
        #expect(await provider.isOffline == false)
    }

    /// snmpsim answers a SET of an object without a variation with error-status 0 and noSuchInstance in the
    /// varbind: the agent did not take the value, so the provider must not report it applied.
    @Test func exceptionsInASetResponseAreNotSuccess() async throws {
        let peer = try SNMPSimPeer(devices: ["device": Self.records])
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let provider = SNMPProfileProvider(client: manager.session(for: peer.agent("device")),
                                           profiles: [try SNMPProfileCompiler().compile(json: Self.profile)], agentID: "device")
        let entries = await faults(provider, [value("Device.ManagementServer.URL", "acs4.example.net"),
                                              value("Device.ManagementServer.ManageableDeviceNotificationLimit", "7", .unsignedInt)])
        #expect(entries?.map(\.index) == [1])
        #expect(entries?.map(\.faultCode) == [.internalError])
        #expect(try await provider.values(of: [ProviderPath(template: "Device.ManagementServer.ManageableDeviceNotificationLimit")]) == ["42"])
    }

    /// An agent that never answers the SET: timedOut within the agent's bound, 9002, the device offline; the next
    /// answered request brings it back online.
    @Test func aSetWithoutAnswerTimesOut() async throws {
        let peer = try SNMPSimPeer(devices: ["device": Self.records])
        defer { peer.stop() }
        let manager = SNMPManager()
        defer { manager.shutdown() }
        let reachability = ReachabilityLog()
        let provider = SNMPProfileProvider(client: manager.session(for: peer.agent("device", timeout: .seconds(1), retries: 1)),
                                           profiles: [try SNMPProfileCompiler().compile(json: Self.profile)], agentID: "device",
                                           onReachabilityChange: { reachability.append($0) })
        await #expect(throws: SNMPBridgeError(.timedOut, "")) {
            _ = try await provider.setValues([value("Device.ManagementServer.STUNServerAddress", "stun.example.net")])
        }
        #expect(await provider.isOffline)
        #expect(try await provider.values(of: [ProviderPath(template: "Device.ManagementServer.URL")]) == ["acs.example.net"])
        #expect(await provider.isOffline == false)
        #expect(reachability.values == [false, true])
    }
}
