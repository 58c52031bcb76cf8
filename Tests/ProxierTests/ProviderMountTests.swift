import CWMPClient
import Testing
@testable import Proxier

/// A provider in the style of an SNMP agent: interfaces are keyed by ifName, values are computed from the key,
/// and it remembers which paths it was asked for.
actor KeyedProvider: DataModelProvider {
    var interfaces = ["eth0", "wlan0"]
    private(set) var asked: [ProviderPath] = []

    func instances(of tables: [ProviderPath]) async throws -> [[ProviderInstance]] {
        tables.map { $0.template == "Device.IP.Interface." ? interfaces.map { ProviderInstance(key: $0) } : [] }
    }

    func values(of parameters: [ProviderPath]) async throws -> [String] {
        asked += parameters
        return parameters.map { $0.instanceKeys.joined(separator: "/") }
    }

    func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus { .applied }
    func addInstance(to table: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus) {
        interfaces.append("veth\(interfaces.count)")
        return (interfaces.last!, .appliedLater)
    }
    func deleteInstance(_ instance: ProviderPath) async throws -> ApplyStatus {
        interfaces.removeAll { $0 == instance.instanceKeys.last }
        return .applied
    }
}

@Suite struct ProviderMountTests {
    @Test func providersSeeNativeKeysAndTheACSSeesInstanceNumbers() async throws {
        let model = DataModel(schema: TestSchema.tree)
        let provider = KeyedProvider()
        try await model.mount(provider, at: "Device.IP.")
        let values = try await model.getParameterValues(["Device.IP.Interface.*.Name"])
        #expect(values.map(\.name) == ["Device.IP.Interface.1.Name", "Device.IP.Interface.2.Name"])
        #expect(values.map(\.value) == ["eth0", "wlan0"])
        #expect(await provider.asked.last == ProviderPath(template: "Device.IP.Interface.{i}.Name", instanceKeys: ["wlan0"]))
    }

    @Test func theMostSpecificMountServesAndKeysAboveItAreInstanceNumbers() async throws {
        let model = DataModel(schema: TestSchema.tree)
        let outer = KeyedProvider()
        let inner = KeyedProvider()
        try await model.mount(outer, at: "Device.IP.")
        try await model.mount(inner, at: "Device.IP.Interface.2.")
        let values = try await model.getParameterValues(["Device.IP.Interface.1.Stats.BytesSent", "Device.IP.Interface.2.Stats.BytesSent"])
        #expect(values.map(\.value) == ["eth0", "2"])
        #expect(await inner.asked == [ProviderPath(template: "Device.IP.Interface.{i}.Stats.BytesSent", instanceKeys: ["2"])])
    }

    @Test func addObjectUsesTheProvidersKeyAndStatus() async throws {
        let model = DataModel(schema: TestSchema.tree)
        let provider = KeyedProvider()
        try await model.mount(provider, at: "Device.IP.")
        let (number, status) = try await model.addObject("Device.IP.Interface.", parameterKey: "")
        #expect(number == 3)
        #expect(status == .appliedLater)
        #expect(try await model.getParameterValues(["Device.IP.Interface.3.Name"]).first?.value == "veth2")
        _ = try await model.deleteObject("Device.IP.Interface.1.", parameterKey: "")
        #expect(await provider.interfaces == ["wlan0", "veth2"])
    }

    @Test func valueChangesInNativeKeysBecomeInstanceNumbers() async throws {
        let model = DataModel(schema: TestSchema.tree)
        try await model.mount(KeyedProvider(), at: "Device.IP.")
        try await model.setParameterAttributes([SetParameterAttributesStruct(name: "Device.IP.Interface.", notificationChange: true,
                                                                             notification: .passive, accessListChange: false, accessList: [])])
        await model.recordValueChanges([ProviderPath(template: "Device.IP.Interface.{i}.Name", instanceKeys: ["wlan0"]),
                                        ProviderPath(template: "Device.IP.Interface.{i}.Name", instanceKeys: ["gone0"])], mountedAt: "Device.IP.")
        #expect(await model.takeValueChanges().map(\.name) == ["Device.IP.Interface.2.Name"])
    }

    @Test func mountPointsMustBeObjectsOfTheSchema() async throws {
        let model = DataModel(schema: TestSchema.tree)
        await #expect(throws: ProxierError(.unknownPath, "")) { try await model.mount(KeyedProvider(), at: "Device.Nope.") }
        await #expect(throws: ProxierError(.invalidPath, "")) { try await model.mount(KeyedProvider(), at: "Device.DeviceInfo.Manufacturer") }
        await #expect(throws: ProxierError(.invalidPath, "")) { try await model.mount(KeyedProvider(), at: "Device.IP.Interface.[wan].") }
    }
}

@Suite struct HostileInputTests {
    @Test func hostileNamesAreCleanFaults() async throws {
        let (model, _) = try await TestSchema.make()
        let names = [String(repeating: "Device.", count: 5_000), "Device.IP.Interface.4294967295.Name", "Device.IP.Interface.4294967296.Name",
                     "Device.IP.Interface.-3.Name", "Device.IP.Interface.0.Name", "Device.IP.Interface.[].", "Device.IP.Interface.[a]].",
                     "Device.ΙΡ.", "Device.\u{202E}IP.", "Device.IP.Interface.1..Name", "..", "Device.DeviceInfo.UpTime.Extra",
                     "Device.DeviceInfo.UpTime.", "Device.IP.Interface.1.Name.1.", String(repeating: "\u{301}", count: 300)]
        for name in names {
            #expect(await fault { try await model.getParameterValues([name]) }?.code == .invalidParameterName, "\(name.prefix(40))")
            #expect(await fault { try await model.getParameterNames(path: name, nextLevel: false) }?.code == .invalidParameterName)
            #expect(await fault { try await model.getParameterAttributes([name]) }?.code == .invalidParameterName)
            #expect(await fault { try await model.deleteObject(name, parameterKey: "") }?.code == .invalidParameterName)
            let set = await fault { try await model.setParameterValues([ParameterValueStruct(name: name, value: "1")], parameterKey: "") }
            #expect(set?.setParameterValuesFaults.first?.faultCode == .invalidParameterName)
        }
    }

    @Test func hostileValuesAreCleanFaults() async throws {
        let (model, _) = try await TestSchema.make()
        let cases: [(String, String, ParameterValueType?, CWMPFault.Code)] = [
            ("Device.ManagementServer.URL", String(repeating: "x", count: 1_000_000), .string, .invalidParameterValue),
            ("Device.ManagementServer.PeriodicInformInterval", String(repeating: "9", count: 10_000), nil, .invalidParameterValue),
            ("Device.ManagementServer.PeriodicInformInterval", "0", nil, .invalidParameterValue),
            ("Device.ManagementServer.PeriodicInformInterval", "１２", nil, .invalidParameterType),
            ("Device.ManagementServer.PeriodicInformTime", "2024-01-01T00:00:00\u{0}Z", nil, .invalidParameterType),
            ("Device.IP.Interface.1.LowerLayers", String(repeating: ",", count: 5), nil, .invalidParameterValue),
            ("Device.IP.Interface.1.IPv4Address.1.IPAddress", "999.1.1.1", nil, .invalidParameterValue),
            ("Device.IP.Interface.1.IPv4Address.1.IPAddress", "1.2.3.4\n", nil, .invalidParameterValue),
        ]
        for (name, value, type, code) in cases {
            let result = await fault { try await model.setParameterValues([ParameterValueStruct(name: name, value: value, type: type)], parameterKey: "") }
            #expect(result?.setParameterValuesFaults.first?.faultCode == code, "\(name) = \(value.prefix(20).debugDescription)")
        }
    }

    @Test func anEmptyRequestIsAnEmptyAnswer() async throws {
        let (model, provider) = try await TestSchema.make()
        #expect(try await model.getParameterValues([]).isEmpty)
        #expect(try await model.getParameterAttributes([]).isEmpty)
        #expect(await provider.totalCalls == 0)
    }

    @Test func aTableWhoseNumbersAreUsedUpIsFull() async throws {
        let exhausted = DataModelState(tables: ["Device.IP.Interface.": TableState(nextInstanceNumber: UInt32.max)])
        let (model, provider) = try await TestSchema.make(state: exhausted)
        #expect(await fault { try await model.addObject("Device.IP.Interface.", parameterKey: "") }?.code == .resourcesExceeded)
        #expect(await provider.addCalls == 0)
    }
}
