import CWMPClient
import Logging
import Proxier
import Testing
@testable import UPnPDM

@Suite struct PathMappingTests {
    let mapping = DMPathMapping()

    @Test func parametersObjectsAndTablesFollowAppendixC() throws {
        #expect(try mapping.upnpPath(ProviderPath(template: "Device.DSL.Line.{i}.TestParams.SNRpsds", instanceKeys: ["0"])) == "/BBF/DSL/Line/0/TestParams/SNRpsds")
        #expect(try mapping.upnpPath(ProviderPath(template: "Device.IP.Interface.{i}.", instanceKeys: ["7"])) == "/BBF/IP/Interface/7/")
        #expect(try mapping.upnpPath(ProviderPath(template: "Device.IP.Interface.")) == "/BBF/IP/Interface/")
        #expect(try mapping.upnpPath(ProviderPath(template: "Device.")) == "/BBF/")
        #expect(try mapping.upnpPath(ProviderPath(template: "Device.IP.Interface.{i}.IPv4Address.{i}.IPAddress", instanceKeys: ["0", "12"])) == "/BBF/IP/Interface/0/IPv4Address/12/IPAddress")
    }

    @Test func structurePathsAndMultiInstanceNamesUseHash() throws {
        #expect(try mapping.structurePath(template: "Device.IP.Interface.{i}.IPv4Address.{i}.") == "/BBF/IP/Interface/#/IPv4Address/#/")
        #expect(try mapping.multiInstanceName(table: ProviderPath(template: "Device.IP.Interface.{i}.IPv4Address.", instanceKeys: ["3"])) == "/BBF/IP/Interface/3/IPv4Address/#/")
    }

    @Test func identityLeavesComeFromTheUPnPDeviceInfo() throws {
        #expect(try mapping.upnpPath(ProviderPath(template: "Device.DeviceInfo.SerialNumber")) == "/UPnP/DM/DeviceInfo/SerialNumber")
        #expect(try mapping.upnpPath(ProviderPath(template: "Device.DeviceInfo.ManufacturerOUI")) == "/UPnP/DM/DeviceInfo/ManufacturerOUI")
        #expect(try mapping.upnpPath(ProviderPath(template: "Device.DeviceInfo.Manufacturer")) == "/BBF/DeviceInfo/Manufacturer")
        #expect(try mapping.upnpPath(ProviderPath(template: "Device.DeviceInfo.")) == "/BBF/DeviceInfo/")
    }

    @Test func anotherLocationAndAnEmbeddedMount() throws {
        let embedded = DMPathMapping(dottedRoot: "Device.X_Proxy.{i}.", location: "/Vendor/BBF")
        #expect(embedded.location == "/Vendor/BBF/")
        #expect(try embedded.upnpPath(ProviderPath(template: "Device.X_Proxy.{i}.IP.Interface.{i}.Enable", instanceKeys: ["4", "0"])) == "/Vendor/BBF/IP/Interface/0/Enable")
    }

    @Test func keysThatAreNotUPnPInstanceNumbersNameNothing() {
        #expect(throws: ProxierError(.unknownPath, "")) { try mapping.upnpPath(ProviderPath(template: "Device.IP.Interface.{i}.Enable", instanceKeys: ["eth0"])) }
        #expect(throws: ProxierError(.unknownPath, "")) { try mapping.upnpPath(ProviderPath(template: "Device.IP.Interface.{i}.Enable", instanceKeys: ["-1"])) }
        #expect(throws: ProxierError(.unknownPath, "")) { try mapping.upnpPath(ProviderPath(template: "Other.IP.")) }
        #expect(throws: ProxierError(.invalidPath, "")) { try mapping.upnpPath(ProviderPath(template: "Device.IP.Interface.{i}.Enable")) }
    }

    @Test func structurePathsBackToTemplates() {
        #expect(mapping.template(ofStructurePath: "/BBF/IP/Interface/#/IPv4Address/#/IPAddress") == "Device.IP.Interface.{i}.IPv4Address.{i}.IPAddress")
        #expect(mapping.template(ofStructurePath: "/BBF/IP/Interface/#/") == "Device.IP.Interface.{i}.")
        #expect(mapping.template(ofStructurePath: "/BBF/") == "Device.")
        #expect(mapping.template(ofStructurePath: "/UPnP/DM/DeviceInfo/SerialNumber") == "Device.DeviceInfo.SerialNumber")
        #expect(mapping.template(ofStructurePath: "/UPnP/DM/DeviceInfo/FriendlyName") == nil)
        #expect(mapping.template(ofStructurePath: "/Vendor/X") == nil)
        #expect(mapping.template(ofStructurePath: "/BBF//X") == nil)
    }

    @Test func instanceKeysFromInstancePaths() {
        #expect(DMPathMapping.instanceKey(of: "/BBF/IP/Interface/3/", inTable: "/BBF/IP/Interface/") == "3")
        #expect(DMPathMapping.instanceKey(of: "/BBF/IP/Interface/0", inTable: "/BBF/IP/Interface/") == "0")
        #expect(DMPathMapping.instanceKey(of: "/BBF/IP/Interface/3/IPv4Address/1/", inTable: "/BBF/IP/Interface/") == nil)
        #expect(DMPathMapping.instanceKey(of: "/BBF/DNS/", inTable: "/BBF/IP/Interface/") == nil)
    }

    @Test func upnpPathsBackToProviderPaths() {
        let tables: Set = ["Device.IP.Interface.", "Device.IP.Interface.{i}.IPv4Address."]
        #expect(mapping.providerPath(ofUPnPPath: "/BBF/IP/Interface/0/IPv4Address/5/IPAddress", tables: tables)
                == ProviderPath(template: "Device.IP.Interface.{i}.IPv4Address.{i}.IPAddress", instanceKeys: ["0", "5"]))
        #expect(mapping.providerPath(ofUPnPPath: "/BBF/IP/Interface/2/", tables: tables) == ProviderPath(template: "Device.IP.Interface.{i}.", instanceKeys: ["2"]))
        #expect(mapping.providerPath(ofUPnPPath: "/UPnP/DM/DeviceInfo/SerialNumber", tables: tables) == ProviderPath(template: "Device.DeviceInfo.SerialNumber"))
        #expect(mapping.providerPath(ofUPnPPath: "/UPnP/DM/DeviceInfo/FriendlyName", tables: tables) == nil)
        #expect(mapping.providerPath(ofUPnPPath: "/Other/X", tables: tables) == nil)
    }
}

/// The provider mounted at `Device.` of the TR-181 engine, against a device with 0-based, sparse instance numbers.
@Suite struct UPnPDMProviderTests {
    func device() -> FakeCMSDevice {
        FakeCMSDevice(values: [
            "/UPnP/DM/DeviceInfo/SerialNumber": "SN-42",
            "/BBF/IP/Interface/0/Enable": "1",
            "/BBF/IP/Interface/0/Name": "eth0",
            "/BBF/IP/Interface/2/Enable": "0",
            "/BBF/IP/Interface/2/Name": "wlan0",
        ], readOnly: ["/BBF/IP/Interface/0/Name", "/BBF/IP/Interface/2/Name"],
           tables: ["/BBF/IP/Interface/": ["Enable": "0", "Name": "new"]])
    }

    @Test func getParameterValuesIsOneGetValuesAndInstancesAreNumberedFromOne() async throws {
        let device = device()
        let model = try await mountedModel(device)
        let values = try await model.getParameterValues(["Device.IP.Interface.1.Name", "Device.IP.Interface.2.Name",
                                                         "Device.IP.Interface.2.Enable", "Device.DeviceInfo.SerialNumber"])
        // The engine canonicalises what the device sent ("0" is xsd:boolean false).
        #expect(values.map(\.value) == ["eth0", "wlan0", "false", "SN-42"])
        #expect(await device.calls(of: "GetValues").count == 1)
        #expect(await device.calls(of: "GetInstances").map { $0.argument("StartingNode") } == ["/BBF/IP/Interface/"])
    }

    @Test func setParameterValuesIsOneAtomicSetValues() async throws {
        let device = device()
        let model = try await mountedModel(device)
        let status = try await model.setParameterValues([
            ParameterValueStruct(name: "Device.IP.Interface.1.Enable", value: "false", type: .boolean),
            ParameterValueStruct(name: "Device.IP.Interface.2.Enable", value: "true", type: .boolean),
        ], parameterKey: "k1")
        #expect(status == .applied)
        #expect(await device.calls(of: "SetValues").count == 1)
        #expect(await device.values["/BBF/IP/Interface/2/Enable"] == "true")
        #expect(await device.values["/BBF/IP/Interface/0/Enable"] == "false")
    }

    @Test func changesCommittedIsStatusOne() async throws {
        let device = device()
        await device.setSetStatus(.changesCommitted)
        let model = try await mountedModel(device)
        let status = try await model.setParameterValues([ParameterValueStruct(name: "Device.IP.Interface.1.Enable", value: "true", type: .boolean)],
                                                        parameterKey: "k")
        #expect(status == .appliedLater)
    }

    /// The device reuses UPnP instance number 3 after it was deleted; the CWMP number 3 is never reused.
    @Test func addAndDeleteObjectKeepCWMPNumbersApartFromUPnPNumbers() async throws {
        let device = device()
        let model = try await mountedModel(device)
        let added = try await model.addObject("Device.IP.Interface.", parameterKey: "k1")
        #expect(added.instanceNumber == 3)
        #expect(await device.calls(of: "CreateInstance").first?.argument("MultiInstanceName") == "/BBF/IP/Interface/#/")
        #expect(await device.values["/BBF/IP/Interface/3/Name"] == "new")
        #expect(try await model.getParameterValues(["Device.IP.Interface.3.Name"]).first?.value == "new")

        _ = try await model.deleteObject("Device.IP.Interface.3.", parameterKey: "k2")
        #expect(await device.calls(of: "DeleteInstance").first?.argument("InstanceIdentifier") == "/BBF/IP/Interface/3/")
        let again = try await model.addObject("Device.IP.Interface.", parameterKey: "k3")
        #expect(await device.calls(of: "CreateInstance").count == 2)
        #expect(await device.values["/BBF/IP/Interface/3/Name"] == "new")
        #expect(again.instanceNumber == 4)

        _ = try await model.deleteObject("Device.IP.Interface.2.", parameterKey: "k4")
        #expect(await device.calls(of: "DeleteInstance").last?.argument("InstanceIdentifier") == "/BBF/IP/Interface/2/")
        let names = try await model.getParameterNames(path: "Device.IP.Interface.", nextLevel: true).map(\.name)
        #expect(names == ["Device.IP.Interface.1.", "Device.IP.Interface.4."])
    }

    /// The instance map outlives the process: a new engine started from the saved state (as the agent restores it)
    /// keeps every CWMP number, and still never reuses one when the device reuses its UPnP number.
    @Test func theInstanceMapSurvivesARestart() async throws {
        let device = device()
        let first = try await mountedModel(device)
        let added = try await first.addObject("Device.IP.Interface.", parameterKey: "k1")
        #expect(added.instanceNumber == 3)
        _ = try await first.deleteObject("Device.IP.Interface.1.", parameterKey: "k2")
        let saved = await first.exportState()

        let second = DataModel(schema: SchemaTree(.tr181), state: saved)
        try await second.mount(UPnPDMProvider(cms: ConfigurationManagementClient(invoker: device, service: cmsEndpoint),
                                              logger: Logger(label: "test.upnpdm")), at: "Device.")
        #expect(try await second.getParameterNames(path: "Device.IP.Interface.", nextLevel: true).map(\.name)
                == ["Device.IP.Interface.2.", "Device.IP.Interface.3."])
        #expect(try await second.getParameterValues(["Device.IP.Interface.2.Name", "Device.IP.Interface.3.Name"]).map(\.value) == ["wlan0", "new"])
        _ = try await second.deleteObject("Device.IP.Interface.3.", parameterKey: "k3")
        let again = try await second.addObject("Device.IP.Interface.", parameterKey: "k4")
        #expect(await device.values["/BBF/IP/Interface/3/Name"] == "new")  // the device handed out 3 again
        #expect(again.instanceNumber == 4)
    }

    /// A device with a small part of TR-181: partial-path reads return what it has, and a parameter it lacks is 9005
    /// from the engine, never a question to the device.
    @Test func aDiscoveringProviderServesOnlyWhatTheDeviceHas() async throws {
        let device = device()
        let provider = try await UPnPDMProvider.discovering(cms: ConfigurationManagementClient(invoker: device, service: cmsEndpoint),
                                                            logger: Logger(label: "test.upnpdm"))
        #expect(provider.supportedTemplates == ["Device.IP.Interface.{i}.Enable", "Device.IP.Interface.{i}.Name", "Device.DeviceInfo.SerialNumber"])
        let model = DataModel(schema: SchemaTree(.tr181))
        try await model.mount(provider, at: "Device.")
        let values = try await model.getParameterValues(["Device.IP.Interface.", "Device.DeviceInfo."])
        // NumberOfEntries and Alias are the engine's own; everything else comes from the device.
        #expect(Set(values.map(\.name).filter { !$0.hasSuffix("NumberOfEntries") && !$0.hasSuffix(".Alias") }) == ["Device.IP.Interface.1.Enable", "Device.IP.Interface.1.Name", "Device.IP.Interface.2.Enable",
                                            "Device.IP.Interface.2.Name", "Device.DeviceInfo.SerialNumber"])
        #expect(await device.calls(of: "GetValues").count == 2)  // the identity leaves while discovering, then one per RPC
        await #expect(throws: ProxierError(.unknownPath, "")) { try await model.getParameterValues(["Device.IP.Interface.1.MaxMTUSize"]) }
        #expect(await device.calls(of: "GetValues").count == 2)
        let names = try await model.getParameterNames(path: "Device.IP.Interface.1.", nextLevel: true).map(\.name)
        #expect(names.contains("Device.IP.Interface.1.Name") && !names.contains("Device.IP.Interface.1.MaxMTUSize"))
    }

    @Test func aTableTheDeviceLacksHasNoInstances() async throws {
        let device = FakeCMSDevice(values: ["/UPnP/DM/DeviceInfo/SerialNumber": "SN"])
        let provider = UPnPDMProvider(cms: ConfigurationManagementClient(invoker: device, service: cmsEndpoint), logger: Logger(label: "t"))
        #expect(try await provider.instances(of: [ProviderPath(template: "Device.IP.Interface.")]) == [[]])
    }

    @Test func aDeviceListingTheWholeSubtreeStillGivesDirectChildrenOnce() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("GetInstances", [("Result", try CMSDocuments.instancePathList([
            "/BBF/IP/Interface/5/", "/BBF/IP/Interface/5/IPv4Address/0/", "/BBF/IP/Interface/1", "/BBF/IP/Interface/5/",
        ]))])
        let provider = UPnPDMProvider(cms: ConfigurationManagementClient(invoker: invoker, service: cmsEndpoint), logger: Logger(label: "t"))
        #expect(try await provider.instances(of: [ProviderPath(template: "Device.IP.Interface.")]) == [[ProviderInstance(key: "5"), ProviderInstance(key: "1")]])
        #expect(await invoker.calls.first?.arguments == [.init(name: "StartingNode", value: "/BBF/IP/Interface/"), .init(name: "SearchDepth", value: "1")])
    }

    @Test func aValueMissingFromTheAnswerIsAnUnknownPath() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("GetValues", [("ParameterValueList", try CMSDocuments.parameterValueList([DMParameterValue(path: "/BBF/A/B", value: "1")]))])
        let provider = UPnPDMProvider(cms: ConfigurationManagementClient(invoker: invoker, service: cmsEndpoint), logger: Logger(label: "t"))
        await #expect(throws: ProxierError(.unknownPath, "")) {
            try await provider.values(of: [ProviderPath(template: "Device.A.B"), ProviderPath(template: "Device.A.C")])
        }
    }

    @Test func createInstanceAnsweringAnotherTableIsAnInvalidResponse() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("CreateInstance", [("InstanceIdentifier", "/BBF/Other/1/"), ("Status", "ChangesApplied")])
        let provider = UPnPDMProvider(cms: ConfigurationManagementClient(invoker: invoker, service: cmsEndpoint), logger: Logger(label: "t"))
        await #expect(throws: UPnPDMError(.invalidResponse, "")) {
            try await provider.addInstance(to: ProviderPath(template: "Device.IP.Interface."), instanceNumber: 1)
        }
    }

    @Test func deletingAnInstanceTheDeviceLacksIsAnUnknownPath() async throws {
        let device = device()
        let provider = UPnPDMProvider(cms: ConfigurationManagementClient(invoker: device, service: cmsEndpoint), logger: Logger(label: "t"))
        await #expect(throws: ProxierError(.unknownPath, "")) {
            try await provider.deleteInstance(ProviderPath(template: "Device.IP.Interface.{i}.", instanceKeys: ["9"]))
        }
    }
}

@Suite struct DeviceIdentityTests {
    let description = UPnPDeviceDescriptionIdentity(manufacturer: "Acme", modelName: "Sensor 3000", serialNumber: "D-77",
                                                    udn: "uuid:5e1f0d1c-0000-4000-8000-000000000001",
                                                    deviceType: "urn:schemas-upnp-org:device:ManageableDevice:2")

    @Test func dmDeviceInfoComesFirst() {
        let identity = UPnPDMDeviceIdentity(dmDeviceInfo: ["ManufacturerOUI": "00a0c9", "ProductClass": " SensorPro ", "SerialNumber": "SN-1"],
                                            description: description, fallbackOUI: "001122")
        #expect(identity.deviceId == DeviceId(manufacturer: "Acme", oui: "00A0C9", productClass: "SensorPro", serialNumber: "SN-1"))
        #expect([identity.ouiSource, identity.productClassSource, identity.serialNumberSource] == [.dmDeviceInfo, .dmDeviceInfo, .dmDeviceInfo])
    }

    @Test func theDescriptionFillsWhatTheDMDeviceInfoLacks() {
        let identity = UPnPDMDeviceIdentity(dmDeviceInfo: ["ManufacturerOUI": "Acme Inc", "SerialNumber": ""], description: description, fallbackOUI: "001122")
        #expect(identity.deviceId == DeviceId(manufacturer: "Acme", oui: "001122", productClass: "Sensor 3000", serialNumber: "D-77"))
        #expect([identity.ouiSource, identity.productClassSource, identity.serialNumberSource] == [.fallback, .description, .description])
    }

    @Test func macOUIThenUDNThenDeviceType() {
        var bare = description
        bare.serialNumber = nil
        bare.modelName = "  "
        bare.manufacturer = nil
        bare.macAddress = "3c:5a:b4:01:02:03"
        let identity = UPnPDMDeviceIdentity(dmDeviceInfo: [:], description: bare, fallbackOUI: "001122")
        #expect(identity.deviceId == DeviceId(manufacturer: "Unknown", oui: "3C5AB4", productClass: "ManageableDevice",
                                              serialNumber: "5e1f0d1c-0000-4000-8000-000000000001"))
        #expect([identity.ouiSource, identity.productClassSource, identity.serialNumberSource] == [.macAddress, .fallback, .udn])
    }

    @Test func fieldsAreCutToSixtyFourCharacters() {
        let identity = UPnPDMDeviceIdentity(dmDeviceInfo: ["SerialNumber": String(repeating: "9", count: 100)], description: description, fallbackOUI: "001122")
        #expect(identity.deviceId.serialNumber.count == 64)
    }

    @Test func readUsesOneGetValuesOnThePartialPath() async throws {
        let device = FakeCMSDevice(values: ["/UPnP/DM/DeviceInfo/ManufacturerOUI": "A0B1C2", "/UPnP/DM/DeviceInfo/ProductClass": "Cam",
                                            "/UPnP/DM/DeviceInfo/SerialNumber": "C-9", "/UPnP/DM/DeviceInfo/FriendlyName": "Door"])
        let identity = try await UPnPDMDeviceIdentity.read(using: ConfigurationManagementClient(invoker: device, service: cmsEndpoint),
                                                           description: description, fallbackOUI: "001122")
        #expect(identity.deviceId == DeviceId(manufacturer: "Acme", oui: "A0B1C2", productClass: "Cam", serialNumber: "C-9"))
        #expect(try CMSDocuments.parseContentPathList(try #require(await device.calls.first?.argument("Parameters"))) == ["/UPnP/DM/DeviceInfo/"])
    }

    @Test func aDeviceThatFaultsIsIdentifiedByItsDescription() async throws {
        let device = FakeCMSDevice(values: [:])
        await device.failNext("GetValues", with: dmFault(501, "Action Failed"))
        let identity = try await UPnPDMDeviceIdentity.read(using: ConfigurationManagementClient(invoker: device, service: cmsEndpoint),
                                                           description: description, fallbackOUI: "001122")
        #expect(identity.deviceId == DeviceId(manufacturer: "Acme", oui: "001122", productClass: "Sensor 3000", serialNumber: "D-77"))
    }
}
