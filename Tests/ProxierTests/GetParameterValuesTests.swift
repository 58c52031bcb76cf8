import CWMPClient
import Testing
@testable import Proxier

@Suite struct GetParameterValuesTests {
    @Test func fullNamesReturnTypedValues() async throws {
        let (model, _) = try await TestSchema.make()
        let values = try await model.getParameterValues(["Device.DeviceInfo.UpTime", "Device.DeviceInfo.Manufacturer",
                                                         "Device.ManagementServer.PeriodicInformEnable"])
        #expect(values == [
            ParameterValueStruct(name: "Device.DeviceInfo.UpTime", value: "1234", type: .unsignedInt),
            ParameterValueStruct(name: "Device.DeviceInfo.Manufacturer", value: "ACME", type: .string),
            // The provider stores "1"; responses use one boolean form.
            ParameterValueStruct(name: "Device.ManagementServer.PeriodicInformEnable", value: "true", type: .boolean),
        ])
    }

    @Test func partialNamesReturnTheWholeSubtree() async throws {
        let (model, _) = try await TestSchema.make()
        let values = try await model.getParameterValues(["Device.IP.Interface.1."])
        #expect(values["Device.IP.Interface.1.Name"] == "eth0")
        #expect(values["Device.IP.Interface.1.Stats.BytesSent"] == "99")
        #expect(values["Device.IP.Interface.1.IPv4Address.1.IPAddress"] == "192.0.2.1")
        #expect(!values.contains { $0.name.hasPrefix("Device.IP.Interface.2.") })
    }

    @Test func duplicatesAreAnsweredEachTime() async throws {
        let (model, provider) = try await TestSchema.make()
        let values = try await model.getParameterValues(["Device.DeviceInfo.UpTime", "Device.DeviceInfo.UpTime"])
        #expect(values.map(\.name) == ["Device.DeviceInfo.UpTime", "Device.DeviceInfo.UpTime"])
        #expect(await provider.lastValuesBatch.count == 1)
    }

    @Test func oneUnknownNameFailsTheWholeRequestWith9005() async throws {
        let (model, provider) = try await TestSchema.make()
        #expect(await fault { try await model.getParameterValues(["Device.DeviceInfo.UpTime", "Device.DeviceInfo.Nope"]) }?.code
                == .invalidParameterName)
        #expect(await provider.valuesCalls == 0)
    }

    @Test func securedParametersReadAsEmpty() async throws {
        let (model, provider) = try await TestSchema.make()
        #expect(try await model.getParameterValues(["Device.ManagementServer.Password"])
                == [ParameterValueStruct(name: "Device.ManagementServer.Password", value: "", type: .string)])
        #expect(await provider.inner.nativeValue(at: try InMemoryProvider.providerPath("Device.ManagementServer.Password")) == "s3cret")
    }

    @Test func fiftyNamesUnderOneProviderAreOneProviderCall() async throws {
        let (model, provider) = try await TestSchema.make()
        let names = (0..<50).map { ["Device.DeviceInfo.UpTime", "Device.DeviceInfo.Manufacturer", "Device.ManagementServer.URL",
                                    "Device.DeviceInfo.SoftwareVersion", "Device.RootDataModelVersion"][$0 % 5] }
        _ = try await model.getParameterValues(names)
        #expect(await provider.totalCalls == 1)
    }

    @Test func aPartialPathListsEachDepthOfTablesInOneCall() async throws {
        let (model, provider) = try await TestSchema.make()
        _ = try await model.getParameterValues(["Device."])
        // Depth 1: IP.Interface and Hosts.Host together; depth 2: both interfaces' IPv4Address tables; then values.
        #expect(await provider.instancesCalls == 2)
        #expect(await provider.valuesCalls == 1)
    }

    @Test func knownInstancesAreNotListedAgainForFullNames() async throws {
        let (model, provider) = try await TestSchema.make()
        _ = try await model.getParameterValues(["Device.IP.Interface.1.Name"])
        #expect(await provider.instancesCalls == 1)
        _ = try await model.getParameterValues(["Device.IP.Interface.1.Name", "Device.IP.Interface.2.Name"])
        #expect(await provider.instancesCalls == 1)
    }

    @Test func theParameterKeyAndCountersAreTheEnginesOwn() async throws {
        let (model, _) = try await TestSchema.make(state: DataModelState(parameterKey: "key-7"))
        let values = try await model.getParameterValues(["Device.ManagementServer.ParameterKey", "Device.IP.InterfaceNumberOfEntries",
                                                         "Device.Hosts.HostNumberOfEntries", "Device.IP.Interface.1.IPv4AddressNumberOfEntries",
                                                         "Device.IP.Interface.2.IPv4AddressNumberOfEntries"])
        #expect(values.map(\.value) == ["key-7", "2", "3", "1", "0"])
        #expect(values[1].type == .unsignedInt)
    }

    @Test func instanceWildcardsExpandToEveryInstance() async throws {
        let (model, _) = try await TestSchema.make()
        let values = try await model.getParameterValues(["Device.Hosts.Host.*.HostName"])
        #expect(values.map(\.value) == ["laptop", "phone", "tv"])
        #expect(values.map(\.name) == ["Device.Hosts.Host.1.HostName", "Device.Hosts.Host.2.HostName", "Device.Hosts.Host.3.HostName"])
    }

    @Test func instanceWildcardsAreRefusedWhenNotSupported() async throws {
        let (model, _) = try await TestSchema.make(configuration: DataModel.Configuration(instanceWildcards: false))
        #expect(await fault { try await model.getParameterValues(["Device.Hosts.Host.*.HostName"]) }?.code == .invalidParameterName)
    }

    @Test func aliasesResolveThroughTheAliasParameter() async throws {
        let (model, _) = try await TestSchema.make()
        #expect(try await model.getParameterValues(["Device.IP.Interface.[wan].Name"])
                == [ParameterValueStruct(name: "Device.IP.Interface.1.Name", value: "eth0", type: .string)])
        #expect(try await model.getParameterValues(["Device.IP.Interface.2.Alias"]).first?.value == "cpe-2")
        #expect(await fault { try await model.getParameterValues(["Device.IP.Interface.[lan].Name"]) }?.code == .invalidParameterName)
    }

    @Test func instancesCreatedNativelyAreDiscoveredAndVanishedOnesForgotten() async throws {
        let (model, provider) = try await TestSchema.make()
        #expect(try await model.getParameterValues(["Device.Hosts.HostNumberOfEntries"]).first?.value == "3")
        await provider.inner.removeNativeInstance(try InMemoryProvider.providerPath("Device.Hosts.Host.2."))
        #expect(try await model.getParameterValues(["Device.Hosts.HostNumberOfEntries"]).first?.value == "2")
        // The device re-creates key "2" and creates key "9".
        _ = try await provider.inner.addInstance(to: ProviderPath(template: "Device.Hosts.Host."), instanceNumber: 2)
        _ = try await provider.inner.addInstance(to: ProviderPath(template: "Device.Hosts.Host."), instanceNumber: 9)
        let names = try await model.getParameterValues(["Device.Hosts.Host.*.HostName"]).map(\.name)
        // Number 2 is never reused, so key "2" gets the next number, 4; key "9" is adopted as 9, never used before.
        #expect(names == ["Device.Hosts.Host.1.HostName", "Device.Hosts.Host.3.HostName", "Device.Hosts.Host.4.HostName",
                          "Device.Hosts.Host.9.HostName"])
    }

    @Test func providerFailuresBecomeTheirOwnFaultOr9002() async throws {
        struct Unplugged: Error {}
        final class Failing: DataModelProvider {
            func instances(of tables: [ProviderPath]) async throws -> [[ProviderInstance]] { throw Unplugged() }
            func values(of parameters: [ProviderPath]) async throws -> [String] { throw CWMPFault(.requestDenied) }
            func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus { throw Unplugged() }
            func addInstance(to table: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus) {
                throw Unplugged()
            }
            func deleteInstance(_ instance: ProviderPath) async throws -> ApplyStatus { throw Unplugged() }
        }
        let model = DataModel(schema: TestSchema.tree)
        try await model.mount(Failing(), at: "Device.")
        #expect(await fault { try await model.getParameterValues(["Device.DeviceInfo.UpTime"]) }?.code == .requestDenied)
        #expect(await fault { try await model.getParameterValues(["Device.Hosts."]) }?.code == .internalError)
    }
}
