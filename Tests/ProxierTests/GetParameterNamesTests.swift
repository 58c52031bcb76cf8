import CWMPClient
import Testing
@testable import Proxier

@Suite struct GetParameterNamesTests {
    @Test func emptyPathWithNextLevelListsOnlyTheRootObject() async throws {
        let (model, _) = try await TestSchema.make()
        #expect(try await model.getParameterNames(path: "", nextLevel: true) == [ParameterInfoStruct(name: "Device.", writable: false)])
    }

    @Test func emptyPathWithoutNextLevelListsEverything() async throws {
        let (model, _) = try await TestSchema.make()
        let names = try await model.getParameterNames(path: "", nextLevel: false).map(\.name)
        #expect(names.first == "Device.")
        #expect(names.contains("Device.IP.Interface.2.Stats.BytesSent"))
        #expect(names.contains("Device.Hosts.Host.3."))
        #expect(names.contains("Device.IP.Interface.1.IPv4Address.1.IPAddress"))
        #expect(Set(names).count == names.count)
    }

    @Test func nextLevelListsImmediateChildrenOnly() async throws {
        let (model, _) = try await TestSchema.make()
        let names = try await model.getParameterNames(path: "Device.IP.Interface.1.", nextLevel: true).map(\.name)
        #expect(names == ["Device.IP.Interface.1.Enable", "Device.IP.Interface.1.Alias", "Device.IP.Interface.1.Name",
                          "Device.IP.Interface.1.Status", "Device.IP.Interface.1.MaxMTUSize", "Device.IP.Interface.1.LowerLayers",
                          "Device.IP.Interface.1.IPv4AddressNumberOfEntries", "Device.IP.Interface.1.IPv4Address.",
                          "Device.IP.Interface.1.Stats."])
    }

    @Test func nextLevelOnATableListsItsInstances() async throws {
        let (model, _) = try await TestSchema.make()
        #expect(try await model.getParameterNames(path: "Device.Hosts.Host.", nextLevel: true).map(\.name)
                == ["Device.Hosts.Host.1.", "Device.Hosts.Host.2.", "Device.Hosts.Host.3."])
    }

    @Test func withoutNextLevelThePathItselfAndTheWholeSubtree() async throws {
        let (model, _) = try await TestSchema.make()
        let names = try await model.getParameterNames(path: "Device.IP.Interface.2.", nextLevel: false).map(\.name)
        #expect(names.first == "Device.IP.Interface.2.")
        #expect(names.contains("Device.IP.Interface.2.IPv4Address."))
        #expect(names.contains("Device.IP.Interface.2.Stats.BytesSent"))
        #expect(!names.contains { $0.hasPrefix("Device.IP.Interface.1.") })
    }

    @Test func aParameterNameWithoutNextLevelListsItself() async throws {
        let (model, _) = try await TestSchema.make()
        #expect(try await model.getParameterNames(path: "Device.DeviceInfo.UpTime", nextLevel: false)
                == [ParameterInfoStruct(name: "Device.DeviceInfo.UpTime", writable: false)])
    }

    @Test func aParameterNameWithNextLevelIs9003() async throws {
        let (model, _) = try await TestSchema.make()
        #expect(await fault { try await model.getParameterNames(path: "Device.DeviceInfo.UpTime", nextLevel: true) }?.code
                == .invalidArguments)
    }

    @Test func writableFollowsAccessAndAddDeleteRights() async throws {
        let (model, _) = try await TestSchema.make()
        let infos = try await model.getParameterNames(path: "Device.", nextLevel: false)
        func writable(_ name: String) -> Bool? { infos.first { $0.name == name }?.writable }
        #expect(writable("Device.ManagementServer.URL") == true)
        #expect(writable("Device.DeviceInfo.UpTime") == false)
        #expect(writable("Device.IP.Interface.") == true)    // AddObject allowed
        #expect(writable("Device.IP.Interface.1.") == true)  // DeleteObject allowed
        #expect(writable("Device.Hosts.Host.") == false)
        #expect(writable("Device.Hosts.Host.1.") == false)
        #expect(writable("Device.DeviceInfo.") == false)
    }

    @Test(arguments: ["Device.Nope.", "Device.DeviceInfo.Nope", "Device.IP.Interface.9.", "Device.IP.Interface.[nobody].",
                      "Device.DeviceInfo", "Device.IP.Interface.1", "Device.DeviceInfo.UpTime.", "InternetGatewayDevice.",
                      "Device.DeviceInfo.1.", "Device.IP.Interface.Enable", "Device..", "Device.IP.Interface.*."])
    func unknownOrMalformedPathsAre9005(_ path: String) async throws {
        let (model, _) = try await TestSchema.make()
        #expect(await fault { try await model.getParameterNames(path: path, nextLevel: false) }?.code == .invalidParameterName)
    }

    @Test func aliasesAddressInstances() async throws {
        let (model, _) = try await TestSchema.make()
        #expect(try await model.getParameterNames(path: "Device.IP.Interface.[wan].Name", nextLevel: false).map(\.name)
                == ["Device.IP.Interface.1.Name"])
    }

    @Test func aliasesAreRefusedWhenAliasBasedAddressingIsOff() async throws {
        let (model, _) = try await TestSchema.make(configuration: DataModel.Configuration(aliasBasedAddressing: false))
        #expect(await fault { try await model.getParameterNames(path: "Device.IP.Interface.[wan].", nextLevel: true) }?.code
                == .invalidParameterName)
    }

    @Test func onlyWhatProvidersServeIsPartOfTheDevice() async throws {
        let model = DataModel(schema: TestSchema.tree)
        let provider = try InMemoryProvider(schema: TestSchema.tree, values: ["Device.DeviceInfo.Manufacturer": "ACME"])
        try await model.mount(provider, at: "Device.DeviceInfo.")
        let names = try await model.getParameterNames(path: "", nextLevel: false).map(\.name)
        #expect(names.first == "Device.")
        #expect(names.contains("Device.DeviceInfo.Manufacturer"))
        // Device. leads to the mount point, but its own parameters and its other objects have no provider.
        #expect(!names.contains("Device.RootDataModelVersion"))
        #expect(!names.contains { $0.hasPrefix("Device.ManagementServer.") || $0.hasPrefix("Device.IP.") })
        #expect(await fault { try await model.getParameterValues(["Device.ManagementServer.URL"]) }?.code == .invalidParameterName)
        #expect(await fault { try await model.getParameterNames(path: "Device.IP.", nextLevel: true) }?.code == .invalidParameterName)
    }
}
