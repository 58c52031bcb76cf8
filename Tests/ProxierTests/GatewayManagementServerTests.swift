// Device.ManagementServer. of the gateway: writes take effect and reach the agent, bad values are refused,
// secrets stay secret, InformParameter and the proxy tables.
import CWMPClient
import Testing
@testable import Proxier

private func spv(_ gateway: GatewayDataModel, _ values: [(String, String, ParameterValueType)], key: String = "key") async throws -> ApplyStatus {
    try await gateway.model.setParameterValues(values.map { ParameterValueStruct(name: $0.0, value: $0.1, type: $0.2) }, parameterKey: key)
}

@Suite struct GatewayManagementServerTests {
    @Test func setParameterValuesReachesTheObserverBeforeTheRPCReturns() async throws {
        let gateway = try await GatewayFixtures.model()
        let changes = gateway.managementServer.changes()
        let status = try await spv(gateway, [
            ("Device.ManagementServer.PeriodicInformInterval", "60", .unsignedInt),
            ("Device.ManagementServer.PeriodicInformTime", "2024-01-01T00:00:00Z", .dateTime),
            ("Device.ManagementServer.CWMPRetryIntervalMultiplier", "3000", .unsignedInt),
        ], key: "k-periodic")
        #expect(status == .applied)
        let change = try #require(await next(changes))
        #expect(change.origin == .acs)
        #expect(change.previous.periodicInformInterval == 300)
        #expect(change.current.periodicInformInterval == 60)
        #expect(change.current.periodicInformTime == "2024-01-01T00:00:00Z")
        #expect(change.periodicInformChanged && change.retryPolicyChanged)
        #expect(!change.acsURLChanged && !change.connectionRequestChanged && !change.acsCredentialsChanged)
        #expect(change.changedParameters == ["CWMPRetryIntervalMultiplier", "PeriodicInformInterval", "PeriodicInformTime"])
        #expect(await gateway.managementServer.settings.periodicInformInterval == 60)
        let values = try await gateway.model.getParameterValues(["Device.ManagementServer.PeriodicInformInterval",
                                                                 "Device.ManagementServer.ParameterKey"])
        #expect(values.map(\.value) == ["60", "k-periodic"])
    }

    @Test func aNewACSURLAndNewCredentialsAreFlagged() async throws {
        let gateway = try await GatewayFixtures.model()
        let first = gateway.managementServer.changes()
        let second = gateway.managementServer.changes()
        _ = try await spv(gateway, [
            ("Device.ManagementServer.URL", "http://[2001:db8::1]:7547/acs", .string),
            ("Device.ManagementServer.ConnectionRequestPassword", "new-cr-pw", .string),
            ("Device.ManagementServer.Password", "new-acs-pw", .string),
        ])
        for stream in [first, second] {
            let change = try #require(await next(stream))
            #expect(change.acsURLChanged && change.connectionRequestChanged && change.acsCredentialsChanged)
            #expect(change.current.url == "http://[2001:db8::1]:7547/acs")
            #expect(change.current.connectionRequestPassword == "new-cr-pw")
            #expect(!String(describing: change).contains("new-cr-pw") && !String(describing: change).contains("new-acs-pw"))
        }
    }

    @Test func invalidValuesAreRefusedPerParameterAndNothingIsApplied() async throws {
        let gateway = try await GatewayFixtures.model()
        let before = await gateway.managementServer.settings
        let changes = gateway.managementServer.changes()
        // Schema facets (checked by the engine) and gateway rules (checked by the provider) alike end in 9003 with
        // one 9007 entry per bad value, in request order.
        for (name, value, type) in [
            ("Device.ManagementServer.PeriodicInformInterval", "0", ParameterValueType.unsignedInt),
            ("Device.ManagementServer.CWMPRetryIntervalMultiplier", "999", .unsignedInt),
            ("Device.ManagementServer.CWMPRetryMinimumWaitInterval", "65536", .unsignedInt),
            ("Device.ManagementServer.HeartbeatPolicy.ReportingInterval", "29", .unsignedInt),
            ("Device.ManagementServer.URL", "ftp://acs.example.net/", .string),
            ("Device.ManagementServer.URL", "acs.example.net/cwmp", .string),
            ("Device.ManagementServer.URL", "https:///cwmp", .string),
            ("Device.ManagementServer.URL", "", .string),
            ("Device.ManagementServer.AutoCreateInstances", "true", .boolean),
            ("Device.ManagementServer.HTTPCompression", "GZIP", .string),
            ("Device.ManagementServer.InstanceMode", "Whatever", .string),
            ("Device.ManagementServer.InstanceMode", "InstanceAlias", .string),
        ] {
            let error = await fault {
                try await spv(gateway, [("Device.ManagementServer.PeriodicInformEnable", "false", .boolean), (name, value, type)])
            }
            #expect(error?.code == .invalidArguments, "\(name) = \(value)")
            #expect(error?.setParameterValuesFaults.map(\.parameterName) == [name], "\(name) = \(value)")
            #expect(error?.setParameterValuesFaults.map(\.faultCode) == [.invalidParameterValue], "\(name) = \(value)")
        }
        #expect(await gateway.managementServer.settings == before)
        // The first change the observer sees is the next valid one: no refused write was published.
        _ = try await spv(gateway, [("Device.ManagementServer.UpgradesManaged", "true", .boolean)])
        #expect(await next(changes)?.changedParameters == ["UpgradesManaged"])
    }

    @Test func readOnlyParametersAreComputedAndCannotBeSet() async throws {
        let gateway = try await GatewayFixtures.model()
        await gateway.setConnectionRequestURL("http://192.0.2.10:7547/cr/abc")
        let values = try await gateway.model.getParameterValues(["Device.ManagementServer."])
        #expect(values["Device.ManagementServer.ConnectionRequestURL"] == "http://192.0.2.10:7547/cr/abc")
        #expect(values["Device.ManagementServer.AliasBasedAddressing"] == "true")
        #expect(values["Device.ManagementServer.InstanceWildcardsSupported"] == "false")
        #expect(values["Device.ManagementServer.SupportedConnReqMethods"] == "HTTP")
        #expect(values["Device.ManagementServer.NATDetected"] == "false")
        #expect(values["Device.ManagementServer.AutoCreateInstances"] == "false")
        #expect(values["Device.ManagementServer.EmbeddedDeviceNumberOfEntries"] == "0")
        #expect(values["Device.ManagementServer.VirtualDeviceNumberOfEntries"] == "0")
        #expect(values["Device.ManagementServer.ManageableDeviceNumberOfEntries"] == "0")
        #expect(schemaViolations(values, tree: GatewayDataModel.schema) == [])
        // The ConnectionRequestURL change is a value change the ACS is told about (active notification by default).
        #expect(await gateway.model.takeValueChanges().map(\.name) == ["Device.ManagementServer.ConnectionRequestURL"])

        let error = await fault { try await spv(gateway, [("Device.ManagementServer.ConnectionRequestURL", "http://x/", .string)]) }
        #expect(error?.setParameterValuesFaults.map(\.faultCode) == [.attemptToSetNonWritableParameter])
    }

    @Test func passwordsReadAsEmptyAndNeverAppearInDescriptions() async throws {
        let gateway = try await GatewayFixtures.model()
        let values = try await gateway.model.getParameterValues(["Device.ManagementServer.Password",
                                                                 "Device.ManagementServer.ConnectionRequestPassword"])
        #expect(values.map(\.value) == ["", ""])
        // Even asked directly, the provider does not give them out.
        let direct = try await gateway.managementServer.values(of: [
            ProviderPath(template: "Device.ManagementServer.Password"),
            ProviderPath(template: "Device.ManagementServer.ConnectionRequestPassword"),
        ])
        #expect(direct == ["", ""])

        let settings = await gateway.managementServer.settings
        #expect(settings.password == "acs-s3cret-pw")
        var dumped = ""
        dump(settings, to: &dumped)
        for text in [String(describing: settings), String(reflecting: settings), "\(settings)", dumped] {
            #expect(!text.contains("acs-s3cret-pw") && !text.contains("cr-s3cret-pw"))
            #expect(text.contains("https://acs.example.net/cwmp"), "the rest is still shown")
        }
    }

    @Test func informParameterRowsCanBeAddedSetAndDeleted() async throws {
        let gateway = try await GatewayFixtures.model()
        let changes = gateway.managementServer.changes()
        let (number, status) = try await gateway.model.addObject("Device.ManagementServer.InformParameter.", parameterKey: "add1")
        #expect(status == .applied && number == 1)
        let added = try #require(await next(changes))
        #expect(added.current.informParameters.count == 1 && added.informParametersChanged)

        let row = "Device.ManagementServer.InformParameter.\(number)."
        _ = try await spv(gateway, [
            (row + "Enable", "1", .boolean),
            (row + "ParameterName", "Device.DeviceInfo.UpTime", .string),
            (row + "EventList", "1 BOOT, 2 PERIODIC", .string),
        ])
        let set = try #require(await next(changes))
        #expect(set.current.informParameters.map(\.parameterName) == ["Device.DeviceInfo.UpTime"])
        #expect(set.current.informParameters.first?.eventList == ["1 BOOT", "2 PERIODIC"])
        #expect(set.current.informParameters.first?.enable == true)
        let values = try await gateway.model.getParameterValues([row, "Device.ManagementServer.InformParameterNumberOfEntries"])
        #expect(values[row + "Alias"] == "cpe-1")
        #expect(values[row + "EventList"] == "1 BOOT,2 PERIODIC")
        #expect(values["Device.ManagementServer.InformParameterNumberOfEntries"] == "1")

        // A second enabled row may not name the same parameter; a partial path is not a parameter name.
        let (second, _) = try await gateway.model.addObject("Device.ManagementServer.InformParameter.", parameterKey: "add2")
        _ = await next(changes)
        let duplicate = await fault {
            try await spv(gateway, [("Device.ManagementServer.InformParameter.\(second).Enable", "true", .boolean),
                                    ("Device.ManagementServer.InformParameter.\(second).ParameterName", "Device.DeviceInfo.UpTime", .string)])
        }
        #expect(duplicate?.setParameterValuesFaults.map(\.faultCode).contains(.invalidParameterValue) == true)
        let partial = await fault {
            try await spv(gateway, [("Device.ManagementServer.InformParameter.\(second).ParameterName", "Device.DeviceInfo.", .string)])
        }
        #expect(partial?.setParameterValuesFaults.map(\.faultCode) == [.invalidParameterValue])

        _ = try await gateway.model.deleteObject(row, parameterKey: "del1")
        let deleted = try #require(await next(changes))
        #expect(deleted.current.informParameters.map(\.key) == [String(second)])
        #expect(deleted.changedParameters == ["InformParameter.{1}."])
        #expect(try await gateway.model.getParameterValues(["Device.ManagementServer.InformParameterNumberOfEntries"]).first?.value == "1")
        #expect(await fault { try await gateway.model.getParameterValues([row + "Enable"]) }?.code == .invalidParameterName)
    }

    @Test func proxyTablesShowTheRowsTheRegistryAdds() async throws {
        let gateway = try await GatewayFixtures.model()
        let server = gateway.managementServer
        let embedded = try await server.addEmbeddedDevice(EmbeddedDeviceEntry(
            controllerID: "", proxiedDeviceID: "uuid:1234/a", proxyProtocol: "UPnP-DM", discoveryProtocol: ["UPnP"],
            commandProcessed: .pending, lastSyncTime: "2024-05-01T10:00:00Z"))
        try await server.addVirtualDevice(VirtualDeviceEntry(manufacturerOUI: "001122", productClass: "Lamp", serialNumber: "L1",
                                                             proxyProtocol: "UPnP-DM"))
        let second = try await server.addVirtualDevice(VirtualDeviceEntry(manufacturerOUI: "001122", productClass: "Lamp",
                                                                          serialNumber: "L2", proxyProtocol: "ZigBee"))
        // Adding a row with the same unique key replaces it.
        try await server.addVirtualDevice(VirtualDeviceEntry(manufacturerOUI: "001122", productClass: "Lamp", serialNumber: "L2",
                                                             proxyProtocol: "Z-Wave"))

        var values = try await gateway.model.getParameterValues(["Device.ManagementServer."])
        #expect(values["Device.ManagementServer.EmbeddedDeviceNumberOfEntries"] == "1")
        #expect(values["Device.ManagementServer.VirtualDeviceNumberOfEntries"] == "2")
        #expect(values["Device.ManagementServer.EmbeddedDevice.1.ProxiedDeviceID"] == "uuid:1234/a")
        #expect(values["Device.ManagementServer.EmbeddedDevice.1.CommandProcessed"] == "Pending")
        #expect(values["Device.ManagementServer.VirtualDevice.2.ProxyProtocol"] == "Z-Wave")
        #expect(schemaViolations(values, tree: GatewayDataModel.schema) == [])
        let names = try await gateway.model.getParameterNames(path: "Device.ManagementServer.VirtualDevice.", nextLevel: true)
        #expect(names.map(\.name) == ["Device.ManagementServer.VirtualDevice.1.", "Device.ManagementServer.VirtualDevice.2."])

        #expect(await server.removeEmbeddedDevice(key: embedded))
        #expect(await server.removeVirtualDevice(key: second))
        #expect(await !server.removeVirtualDevice(key: second))
        values = try await gateway.model.getParameterValues(["Device.ManagementServer.EmbeddedDeviceNumberOfEntries",
                                                             "Device.ManagementServer.VirtualDeviceNumberOfEntries"])
        #expect(values.map(\.value) == ["0", "1"])

        // Rows are checked against the schema: the ACS never reads a value it would refuse.
        await #expect(throws: ProxierError.self) {
            try await server.addVirtualDevice(VirtualDeviceEntry(manufacturerOUI: "00112g", productClass: "X", serialNumber: "1",
                                                                 proxyProtocol: "UPnP-DM"))
        }
        await #expect(throws: ProxierError.self) {
            try await server.addEmbeddedDevice(EmbeddedDeviceEntry(proxiedDeviceID: "x", proxyProtocol: "SNMP"))
        }
        // The ACS can neither add nor delete rows of these tables.
        #expect(await fault { try await gateway.model.addObject("Device.ManagementServer.VirtualDevice.", parameterKey: "") }?.code
            == .invalidParameterName)
    }

    @Test func localUpdatesAreCheckedAndPublished() async throws {
        let gateway = try await GatewayFixtures.model()
        let changes = gateway.managementServer.changes()
        await #expect(throws: ProxierError.self) {
            try await gateway.managementServer.update { $0.cwmpRetryMinimumWaitInterval = 0 }
        }
        try await gateway.managementServer.update { $0.url = "https://other-acs.example.net/" }
        let change = try #require(await next(changes))
        #expect(change.origin == .local && change.acsURLChanged && change.changedParameters == ["URL"])
        let bad = ManagementServerSettings(cwmpRetryIntervalMultiplier: 10)
        #expect(throws: ProxierError.self) { try bad.validate() }
        #expect(await fault { try await GatewayFixtures.model(settings: bad) }?.code == .invalidParameterValue)
    }
}
