import CWMPClient
import Testing
@testable import Proxier

@Suite struct AddDeleteObjectTests {
    @Test func addObjectCreatesAnInstanceWithDefaultsAndSetsTheParameterKey() async throws {
        let (model, _) = try await TestSchema.make()
        let (number, status) = try await model.addObject("Device.IP.Interface.", parameterKey: "add-1")
        #expect(number == 3)
        #expect(status == .applied)
        let values = try await model.getParameterValues(["Device.IP.Interface.3.", "Device.IP.InterfaceNumberOfEntries",
                                                         "Device.ManagementServer.ParameterKey"])
        #expect(values["Device.IP.Interface.3.Enable"] == "false")
        #expect(values["Device.IP.Interface.3.MaxMTUSize"] == "1500")
        #expect(values["Device.IP.Interface.3.Stats.BytesSent"] == "0")
        #expect(values["Device.IP.Interface.3.Alias"] == "cpe-3")
        #expect(values["Device.IP.InterfaceNumberOfEntries"] == "3")
        #expect(values["Device.ManagementServer.ParameterKey"] == "add-1")
    }

    @Test func instanceNumbersAreNeverReused() async throws {
        let (model, _) = try await TestSchema.make()
        let first = try await model.addObject("Device.IP.Interface.", parameterKey: "").instanceNumber
        _ = try await model.deleteObject("Device.IP.Interface.\(first).", parameterKey: "")
        let second = try await model.addObject("Device.IP.Interface.", parameterKey: "").instanceNumber
        #expect(second == first + 1)
        _ = try await model.deleteObject("Device.IP.Interface.\(second).", parameterKey: "")
        _ = try await model.deleteObject("Device.IP.Interface.2.", parameterKey: "")
        #expect(try await model.addObject("Device.IP.Interface.", parameterKey: "").instanceNumber == second + 1)
    }

    @Test func theCounterSurvivesExportAndImport() async throws {
        let (model, _) = try await TestSchema.make()
        let number = try await model.addObject("Device.IP.Interface.", parameterKey: "").instanceNumber
        _ = try await model.deleteObject("Device.IP.Interface.\(number).", parameterKey: "")
        let saved = await model.exportState()
        // A new engine with the saved state and a provider that still has the original instances.
        let (restarted, _) = try await TestSchema.make(state: saved)
        #expect(try await restarted.addObject("Device.IP.Interface.", parameterKey: "").instanceNumber == number + 1)
        #expect(await restarted.exportState().tables["Device.IP.Interface."]?.nextInstanceNumber == number + 2)
    }

    @Test func aliasesAndAttributesSurviveExportAndImport() async throws {
        let (model, _) = try await TestSchema.make()
        _ = try await model.setParameterValues([ParameterValueStruct(name: "Device.IP.Interface.2.Alias", value: "lan")], parameterKey: "p")
        try await model.setParameterAttributes([SetParameterAttributesStruct(name: "Device.IP.Interface.2.Enable", notificationChange: true,
                                                                             notification: .passive, accessListChange: false, accessList: [])])
        let (restarted, _) = try await TestSchema.make(state: await model.exportState())
        #expect(try await restarted.getParameterValues(["Device.IP.Interface.[lan].Name", "Device.ManagementServer.ParameterKey"]).map(\.value)
                == ["br-lan", "p"])
        #expect(try await restarted.getParameterAttributes(["Device.IP.Interface.2.Enable"]).first?.notification == .passive)
    }

    @Test func maxEntriesIsEnforcedWith9004() async throws {
        let (model, _) = try await TestSchema.make()
        _ = try await model.addObject("Device.IP.Interface.", parameterKey: "")
        _ = try await model.addObject("Device.IP.Interface.", parameterKey: "")
        #expect(await fault { try await model.addObject("Device.IP.Interface.", parameterKey: "full") }?.code == .resourcesExceeded)
        #expect(await model.parameterKey == "")
    }

    @Test(arguments: ["Device.Hosts.Host.",            // a read-only table
                      "Device.DeviceInfo.",            // not a table
                      "Device.IP.Interface.1.",        // an instance, not a table
                      "Device.IP.Interface",           // no trailing dot
                      "Device.DeviceInfo.UpTime",      // a parameter
                      "Device.Nope.", "", "Device.IP.Interface.9.IPv4Address.", "Device.IP.Interface.*."])
    func addObjectOnAnythingButAWritableTableIs9005(_ name: String) async throws {
        let (model, provider) = try await TestSchema.make(state: DataModelState(parameterKey: "before"))
        #expect(await fault { try await model.addObject(name, parameterKey: "after") }?.code == .invalidParameterName)
        #expect(await provider.addCalls == 0)
        #expect(await model.parameterKey == "before")
    }

    @Test func addObjectWithAnAliasCreatesTheInstanceWithThatAlias() async throws {
        let (model, _) = try await TestSchema.make()
        let (number, _) = try await model.addObject("Device.IP.Interface.[guest].", parameterKey: "")
        #expect(try await model.getParameterValues(["Device.IP.Interface.[guest].Alias"])
                == [ParameterValueStruct(name: "Device.IP.Interface.\(number).Alias", value: "guest", type: .string)])
        // In a nested table, the parent may be addressed by alias too.
        let (address, _) = try await model.addObject("Device.IP.Interface.[guest].IPv4Address.[primary].", parameterKey: "")
        #expect(address == 1)
        #expect(try await model.getParameterNames(path: "Device.IP.Interface.[guest].IPv4Address.[primary].Enable", nextLevel: false).first?.name
                == "Device.IP.Interface.\(number).IPv4Address.1.Enable")
    }

    @Test func addObjectWithAnAliasInUseIs9005AndWithAnInvalidAlias9007() async throws {
        let (model, provider) = try await TestSchema.make()
        #expect(await fault { try await model.addObject("Device.IP.Interface.[wan].", parameterKey: "") }?.code == .invalidParameterName)
        #expect(await fault { try await model.addObject("Device.IP.Interface.[9lives].", parameterKey: "") }?.code == .invalidParameterValue)
        #expect(await provider.addCalls == 0)
    }

    @Test func deleteObjectRemovesTheSubtreeAndSetsTheParameterKey() async throws {
        let (model, provider) = try await TestSchema.make()
        #expect(try await model.deleteObject("Device.IP.Interface.[wan].", parameterKey: "del") == .applied)
        #expect(await fault { try await model.getParameterValues(["Device.IP.Interface.1."]) }?.code == .invalidParameterName)
        #expect(try await model.getParameterValues(["Device.IP.InterfaceNumberOfEntries", "Device.ManagementServer.ParameterKey"]).map(\.value)
                == ["1", "del"])
        #expect(await provider.inner.nativeValue(at: try InMemoryProvider.providerPath("Device.IP.Interface.1.IPv4Address.1.Enable")) == nil)
    }

    @Test(arguments: ["Device.IP.Interface.", "Device.IP.Interface.7.", "Device.Hosts.Host.1.", "Device.IP.Interface.1.Enable",
                      "Device.DeviceInfo.", "Device.IP.Interface.[lan].", "Device.IP.Interface.1"])
    func deleteObjectOnAnythingButAnExistingDeletableInstanceIs9005(_ name: String) async throws {
        let (model, provider) = try await TestSchema.make(state: DataModelState(parameterKey: "before"))
        #expect(await fault { try await model.deleteObject(name, parameterKey: "after") }?.code == .invalidParameterName)
        #expect(await provider.deleteCalls == 0)
        #expect(await model.parameterKey == "before")
    }

    @Test func attributesOfDeletedInstancesAreForgotten() async throws {
        let (model, _) = try await TestSchema.make()
        try await model.setParameterAttributes([SetParameterAttributesStruct(name: "Device.IP.Interface.2.", notificationChange: true,
                                                                             notification: .passive, accessListChange: false, accessList: [])])
        _ = try await model.deleteObject("Device.IP.Interface.2.", parameterKey: "")
        #expect(await model.exportState().attributes.keys.contains { $0.hasPrefix("Device.IP.Interface.2.") } == false)
    }
}

@Suite struct ParameterKeyTests {
    @Test func aParameterKeyLongerThan32CharactersIs9003AndChangesNothing() async throws {
        let (model, provider) = try await TestSchema.make()
        let key = String(repeating: "k", count: 33)
        #expect(await fault { try await model.addObject("Device.IP.Interface.", parameterKey: key) }?.code == .invalidArguments)
        #expect(await fault { try await model.deleteObject("Device.IP.Interface.1.", parameterKey: key) }?.code == .invalidArguments)
        #expect(await fault {
            try await model.setParameterValues([ParameterValueStruct(name: "Device.ManagementServer.URL", value: "x")], parameterKey: key)
        }?.code == .invalidArguments)
        #expect(await provider.totalCalls == 0)
        _ = try await model.addObject("Device.IP.Interface.", parameterKey: String(repeating: "k", count: 32))
        #expect(await model.parameterKey.count == 32)
    }

    @Test func deleteObjectKeepsMinEntries() async throws {
        let schema = SchemaTree(DataModelSchema(objects: [
            ObjectSchema(path: "Device.X_TEST_Pool.{i}.", access: .readWrite, minEntries: 1, maxEntries: nil, parameters: [
                ParameterSchema(name: "Enable", access: .readWrite, syntax: .boolean),
            ]),
        ]))
        let model = DataModel(schema: schema)
        try await model.mount(try InMemoryProvider(schema: schema, values: ["Device.X_TEST_Pool.1.Enable": "true"]), at: "Device.")
        _ = try await model.addObject("Device.X_TEST_Pool.", parameterKey: "")
        _ = try await model.deleteObject("Device.X_TEST_Pool.1.", parameterKey: "")
        #expect(await fault { try await model.deleteObject("Device.X_TEST_Pool.2.", parameterKey: "") }?.code == .requestDenied)
    }
}
