import CWMPClient
import Testing
@testable import Proxier

@Suite struct SetParameterValuesTests {
    func value(_ name: String, _ value: String, _ type: ParameterValueType? = nil) -> ParameterValueStruct {
        ParameterValueStruct(name: name, value: value, type: type)
    }

    @Test func appliesValuesAndTheParameterKey() async throws {
        let (model, _) = try await TestSchema.make()
        let status = try await model.setParameterValues([
            value("Device.ManagementServer.PeriodicInformInterval", "600", .unsignedInt),
            value("Device.IP.Interface.1.Enable", "0", .boolean),
        ], parameterKey: "k1")
        #expect(status == .applied)
        let values = try await model.getParameterValues(["Device.ManagementServer.PeriodicInformInterval",
                                                         "Device.IP.Interface.1.Enable", "Device.ManagementServer.ParameterKey"])
        #expect(values.map(\.value) == ["600", "false", "k1"])
    }

    @Test func allFaultsAreReportedTogetherAndNothingIsApplied() async throws {
        let (model, provider) = try await TestSchema.make(state: DataModelState(parameterKey: "before"))
        let result = await fault {
            try await model.setParameterValues([
                value("Device.ManagementServer.URL", "https://new.example.net/"),
                value("Device.DeviceInfo.Nope", "1"),
                value("Device.ManagementServer.PeriodicInformInterval", "soon"),
                value("Device.ManagementServer.PeriodicInformInterval.", "1"),
                value("Device..Bad", "1"),
                value("Device.IP.Interface.1.MaxMTUSize", "10"),
                value("Device.DeviceInfo.UpTime", "0"),
                value("Device.IP.Interface.1.Enable", "true", .string),
            ], parameterKey: "after")
        }
        #expect(result?.code == .invalidArguments)
        // One entry per failing parameter, in the order of the request.
        #expect(result?.setParameterValuesFaults.map(\.parameterName) == [
            "Device.DeviceInfo.Nope", "Device.ManagementServer.PeriodicInformInterval",
            "Device.ManagementServer.PeriodicInformInterval.", "Device..Bad", "Device.IP.Interface.1.MaxMTUSize",
            "Device.DeviceInfo.UpTime", "Device.IP.Interface.1.Enable",
        ])
        let codes = Dictionary(result?.setParameterValuesFaults.map { ($0.parameterName, $0.faultCode.rawValue) } ?? [],
                               uniquingKeysWith: { first, _ in first })
        #expect(codes["Device.DeviceInfo.Nope"] == 9005)
        #expect(codes["Device.ManagementServer.PeriodicInformInterval."] == 9005)
        #expect(codes["Device..Bad"] == 9005)
        #expect(codes["Device.ManagementServer.PeriodicInformInterval"] == 9006)
        #expect(codes["Device.IP.Interface.1.MaxMTUSize"] == 9007)
        #expect(codes["Device.DeviceInfo.UpTime"] == 9008)
        #expect(codes["Device.IP.Interface.1.Enable"] == 9006)
        #expect(await provider.setCalls == 0)
        #expect(try await model.getParameterValues(["Device.ManagementServer.URL"]).first?.value == "https://acs.example.net/cwmp")
        #expect(await model.parameterKey == "before")
    }

    @Test func theSameParameterTwiceIs9003() async throws {
        let (model, provider) = try await TestSchema.make()
        #expect(await fault {
            try await model.setParameterValues([value("Device.IP.Interface.1.Enable", "1"), value("Device.IP.Interface.1.Enable", "0")],
                                               parameterKey: "")
        }?.code == .invalidArguments)
        // By alias and by number it is still the same parameter.
        #expect(await fault {
            try await model.setParameterValues([value("Device.IP.Interface.1.Enable", "1"), value("Device.IP.Interface.[wan].Enable", "0")],
                                               parameterKey: "")
        }?.code == .invalidArguments)
        #expect(await provider.setCalls == 0)
    }

    @Test func theParameterKeyItselfIsNotWritable() async throws {
        let (model, _) = try await TestSchema.make()
        let result = await fault { try await model.setParameterValues([value("Device.ManagementServer.ParameterKey", "x")], parameterKey: "") }
        #expect(result?.setParameterValuesFaults.first?.faultCode == .attemptToSetNonWritableParameter)
    }

    @Test func valuesUnderOneProviderAreSetInOneCallWithoutASeparateValidation() async throws {
        let (model, provider) = try await TestSchema.make()
        _ = try await model.getParameterValues(["Device.IP.Interface.1.Name", "Device.IP.Interface.2.Name"])
        let before = await provider.totalCalls
        _ = try await model.setParameterValues([
            value("Device.IP.Interface.1.Enable", "1"), value("Device.IP.Interface.2.Enable", "1"),
            value("Device.ManagementServer.URL", "https://a.example/"), value("Device.IP.Interface.1.MaxMTUSize", "9000"),
        ], parameterKey: "k")
        #expect(await provider.totalCalls - before == 1)
        #expect(await provider.lastSetBatch.count == 4)
        // Values reach the provider validated and canonical, with native keys.
        #expect(await provider.lastSetBatch.first == ProviderParameterValue(
            path: ProviderPath(template: "Device.IP.Interface.{i}.Enable", instanceKeys: ["1"]), value: "true", type: .boolean))
    }

    @Test func severalProvidersAllValidateBeforeAnyApplies() async throws {
        let model = DataModel(schema: TestSchema.tree)
        let device = CountingProvider(try InMemoryProvider(schema: TestSchema.tree, values: TestSchema.values))
        let server = CountingProvider(try InMemoryProvider(schema: TestSchema.tree, values: TestSchema.values))
        try await model.mount(device, at: "Device.")
        try await model.mount(server, at: "Device.ManagementServer.")
        await server.failValidation(with: ProviderSetValuesError(entries: [.init(index: 0, faultCode: .invalidParameterValue,
                                                                                 reason: "unreachable URL")]))
        let result = await fault {
            try await model.setParameterValues([value("Device.IP.Interface.1.Enable", "0"),
                                                value("Device.ManagementServer.URL", "https://nowhere.example/")], parameterKey: "k")
        }
        #expect(result?.code == .invalidArguments)
        #expect(result?.setParameterValuesFaults == [SetParameterValuesFault(parameterName: "Device.ManagementServer.URL",
                                                                             faultCode: .invalidParameterValue, faultString: "unreachable URL")])
        #expect(await device.setCalls == 0)
        #expect(await server.setCalls == 0)
    }

    @Test func aProviderThatAppliesLaterMakesTheStatusOne() async throws {
        let (model, provider) = try await TestSchema.make()
        await provider.inner.setSetValuesStatus(.appliedLater)
        #expect(try await model.setParameterValues([value("Device.ManagementServer.URL", "https://b.example/")], parameterKey: "k") == .appliedLater)
    }

    @Test func aProviderFailingWhileApplyingLeavesTheEngineStateAlone() async throws {
        let (model, provider) = try await TestSchema.make(state: DataModelState(parameterKey: "before"))
        await provider.failSetValues(with: CWMPFault(.internalError))
        let result = await fault {
            try await model.setParameterValues([value("Device.IP.Interface.1.Alias", "uplink"),
                                                value("Device.IP.Interface.1.Enable", "0")], parameterKey: "after")
        }
        #expect(result?.code == .internalError)
        #expect(await model.parameterKey == "before")
        #expect(try await model.getParameterValues(["Device.IP.Interface.1.Alias"]).first?.value == "wan")
    }

    @Test func aProviderRejectingAValueBecomesAPerParameterFault() async throws {
        let (model, provider) = try await TestSchema.make()
        await provider.failSetValues(with: ProviderSetValuesError(entries: [.init(index: 1, faultCode: .invalidParameterValue,
                                                                                  reason: "MTU not supported by the NIC")]))
        let result = await fault {
            try await model.setParameterValues([value("Device.IP.Interface.1.Enable", "0"),
                                                value("Device.IP.Interface.1.MaxMTUSize", "9000")], parameterKey: "k")
        }
        #expect(result?.setParameterValuesFaults.map(\.parameterName) == ["Device.IP.Interface.1.MaxMTUSize"])
    }

    @Test func aliasesAreSetByTheEngineAndMustBeValidAndUnique() async throws {
        let (model, provider) = try await TestSchema.make()
        _ = try await model.setParameterValues([value("Device.IP.Interface.2.Alias", "lan")], parameterKey: "k")
        #expect(try await model.getParameterValues(["Device.IP.Interface.[lan].Name"]).first?.value == "br-lan")
        #expect(await provider.setCalls == 0)
        for bad in ["wan", "", "1lan", "a.b", String(repeating: "x", count: 65)] {
            let result = await fault { try await model.setParameterValues([value("Device.IP.Interface.2.Alias", bad)], parameterKey: "k") }
            #expect(result?.setParameterValuesFaults.first?.faultCode == .invalidParameterValue, "\(bad)")
        }
        // Two instances cannot take the same new alias in one request either.
        let clash = await fault {
            try await model.setParameterValues([value("Device.IP.Interface.1.Alias", "same"), value("Device.IP.Interface.2.Alias", "same")],
                                               parameterKey: "k")
        }
        #expect(clash?.setParameterValuesFaults.count == 1)
    }

    @Test func theSubscriberMayOnlyWriteParametersWhoseAccessListAllowsIt() async throws {
        let (model, _) = try await TestSchema.make(state: DataModelState(parameterKey: "acs"))
        let name = "Device.ManagementServer.PeriodicInformInterval"
        let denied = await fault { try await model.setParameterValues([value(name, "60")], parameterKey: "", origin: .subscriber) }
        #expect(denied?.setParameterValuesFaults.first?.faultCode == .attemptToSetNonWritableParameter)
        try await model.setParameterAttributes([SetParameterAttributesStruct(name: name, notificationChange: false, notification: .off,
                                                                             accessListChange: true, accessList: ["Subscriber"])])
        #expect(try await model.setParameterValues([value(name, "60")], parameterKey: "ignored", origin: .subscriber) == .applied)
        // Only the ACS sets the ParameterKey.
        #expect(await model.parameterKey == "acs")
    }
}
