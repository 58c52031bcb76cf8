// Every CMS, BMS and SMS action of the clients: the action name, the in-arguments by name and in SCPD order, and the
// typed out-arguments. CMS runs against FakeCMSDevice (CMS semantics), BMS/SMS against scripted answers.

import Testing
@testable import UPnPDM

private func cmsDevice() -> FakeCMSDevice {
    FakeCMSDevice(values: [
        "/UPnP/DM/DeviceInfo/SerialNumber": "SN-1",
        "/UPnP/DM/DeviceInfo/ProductClass": "Sensor",
        "/BBF/IP/Interface/0/Enable": "1",
        "/BBF/IP/Interface/0/Name": "eth0",
        "/BBF/IP/Interface/2/Enable": "0",
        "/BBF/IP/Interface/2/Name": "wlan0",
    ], readOnly: ["/BBF/IP/Interface/0/Name", "/BBF/IP/Interface/2/Name"],
       tables: ["/BBF/IP/Interface/": ["Enable": "0", "Name": ""]])
}

@Suite struct ConfigurationManagementClientTests {
    @Test func getSupportedDataModels() async throws {
        let device = cmsDevice()
        let models = try await ConfigurationManagementClient(invoker: device, service: cmsEndpoint).getSupportedDataModels()
        #expect(models.map(\.location) == ["/BBF/"])
        #expect(await device.calls.map(\.argumentNames) == [[]])
    }

    @Test func getSupportedParameters() async throws {
        let device = cmsDevice()
        let paths = try await ConfigurationManagementClient(invoker: device, service: cmsEndpoint).getSupportedParameters(startingNode: "/BBF/", searchDepth: 0)
        #expect(paths == ["/BBF/IP/Interface/#/Enable", "/BBF/IP/Interface/#/Name"])
        #expect(await device.calls.first?.arguments == [.init(name: "StartingNode", value: "/BBF/"), .init(name: "SearchDepth", value: "0")])
    }

    @Test func getInstances() async throws {
        let device = cmsDevice()
        let paths = try await ConfigurationManagementClient(invoker: device, service: cmsEndpoint).getInstances(startingNode: "/BBF/IP/Interface/", searchDepth: 1)
        #expect(paths == ["/BBF/IP/Interface/0/", "/BBF/IP/Interface/2/"])
        #expect(await device.calls.first?.argumentNames == ["StartingNode", "SearchDepth"])
    }

    @Test func getValuesOfLeavesAndPartialPaths() async throws {
        let device = cmsDevice()
        let client = ConfigurationManagementClient(invoker: device, service: cmsEndpoint)
        #expect(try await client.getValues(["/BBF/IP/Interface/2/Name"]) == [DMParameterValue(path: "/BBF/IP/Interface/2/Name", value: "wlan0")])
        #expect(try await client.getValues(["/UPnP/DM/DeviceInfo/"]).map(\.value) == ["Sensor", "SN-1"])
        let sent = try #require(await device.calls.first?.argument("Parameters"))
        #expect(try CMSDocuments.parseContentPathList(sent) == ["/BBF/IP/Interface/2/Name"])
    }

    @Test func getSelectedValues() async throws {
        let device = cmsDevice()
        let values = try await ConfigurationManagementClient(invoker: device, service: cmsEndpoint)
            .getSelectedValues(startingNode: "/BBF/IP/Interface/#/Name", filter: "")
        #expect(values.map(\.value) == ["eth0", "wlan0"])
        #expect(await device.calls.first?.argumentNames == ["StartingNode", "Filter"])
    }

    @Test func setValuesAppliedAndCommitted() async throws {
        let device = cmsDevice()
        let client = ConfigurationManagementClient(invoker: device, service: cmsEndpoint)
        #expect(try await client.setValues([DMParameterValue(path: "/BBF/IP/Interface/0/Enable", value: "0")]) == .changesApplied)
        await device.setSetStatus(.changesCommitted)
        #expect(try await client.setValues([DMParameterValue(path: "/BBF/IP/Interface/2/Enable", value: "<a&b>")]) == .changesCommitted)
        #expect(await device.values["/BBF/IP/Interface/2/Enable"] == "<a&b>")
        #expect(await device.calls.first?.argumentNames == ["ParameterValueList"])
    }

    @Test func createAndDeleteInstance() async throws {
        let device = cmsDevice()
        let client = ConfigurationManagementClient(invoker: device, service: cmsEndpoint)
        let created = try await client.createInstance(multiInstanceName: "/BBF/IP/Interface/#/")
        #expect(created.instanceIdentifier == "/BBF/IP/Interface/3/")
        #expect(created.status == .changesApplied)
        #expect(await device.calls.first?.argumentNames == ["MultiInstanceName", "ChildrenInitialization"])
        #expect(try await client.deleteInstance("/BBF/IP/Interface/3/") == .changesApplied)
        #expect(await device.values["/BBF/IP/Interface/3/Name"] == nil)
        #expect(await device.calls.last?.arguments == [.init(name: "InstanceIdentifier", value: "/BBF/IP/Interface/3/")])
    }

    @Test func getAndSetAttributes() async throws {
        let device = cmsDevice()
        let client = ConfigurationManagementClient(invoker: device, service: cmsEndpoint)
        let path = "/BBF/IP/Interface/0/Enable"
        #expect(try await client.getAttributes([path]).first?[attribute: "EventOnChange"] == "0")
        #expect(try await client.setAttributes([DMNodeAttributeValues(path: path, attributes: [.init(name: "EventOnChange", value: "1")])]) == .changesApplied)
        #expect(try await client.getAttributes([path]).first?[attribute: "EventOnChange"] == "1")
        #expect(await device.calls.map(\.argumentNames) == [["Parameters"], ["NodeAttributeValueList"], ["Parameters"]])
    }

    @Test func configurationVersionAndUpdate() async throws {
        let device = cmsDevice()
        let client = ConfigurationManagementClient(invoker: device, service: cmsEndpoint)
        #expect(try await client.getCurrentConfigurationVersion() == 1)
        _ = try await client.setValues([DMParameterValue(path: "/BBF/IP/Interface/0/Enable", value: "0")])
        #expect(try await client.getCurrentConfigurationVersion() == 2)
        #expect(try await client.getConfigurationUpdate() == DMConfigurationUpdate(version: 2, time: "2026-11-23T16:30:00Z"))
    }

    @Test func stateVariableActions() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("GetInconsistentStatus", [("StateVariableValue", "1")])
        await invoker.answer("GetAlarmsEnabled", [("StateVariableValue", "false")])
        await invoker.answer("SetAlarmsEnabled", [])
        await invoker.answer("GetSupportedDataModelsUpdate", [("StateVariableValue", "3,2026-11-23T16:00:00Z")])
        await invoker.answer("GetSupportedParametersUpdate", [("StateVariableValue", "4,2026-11-23T16:00:00Z")])
        await invoker.answer("GetAttributeValuesUpdate", [("StateVariableValue", "5,2026-11-23T16:00:00Z")])
        let client = ConfigurationManagementClient(invoker: invoker, service: cmsEndpoint)
        #expect(try await client.getInconsistentStatus() == true)
        #expect(try await client.getAlarmsEnabled() == false)
        try await client.setAlarmsEnabled(true)
        #expect(try await client.getSupportedDataModelsUpdate() == "3,2026-11-23T16:00:00Z")
        #expect(try await client.getSupportedParametersUpdate() == "4,2026-11-23T16:00:00Z")
        #expect(try await client.getAttributeValuesUpdate() == "5,2026-11-23T16:00:00Z")
        #expect(await invoker.calls[2].arguments == [.init(name: "StateVariableValue", value: "1")])
    }

    @Test func anUnknownChangeStatusIsAnInvalidResponse() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("SetValues", [("Status", "Done")])
        await #expect(throws: UPnPDMError(.invalidResponse, "")) {
            try await ConfigurationManagementClient(invoker: invoker, service: cmsEndpoint).setValues([DMParameterValue(path: "/A", value: "1")])
        }
    }

    @Test func aMissingOutArgumentIsAnInvalidResponse() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("GetValues", [("Result", "")])
        await #expect(throws: UPnPDMError(.invalidResponse, "")) {
            try await ConfigurationManagementClient(invoker: invoker, service: cmsEndpoint).getValues(["/A"])
        }
    }

    @Test func aHostileDocumentFromTheDeviceIsAnInvalidResponse() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("GetValues", [("ParameterValueList", HostileArgumentDocumentTests.hostile[0].1)])
        await #expect(throws: UPnPDMError(.forbiddenDocumentType, "")) {
            try await ConfigurationManagementClient(invoker: invoker, service: cmsEndpoint).getValues(["/A"])
        }
    }
}

@Suite struct BasicManagementClientTests {
    @Test func rebootBaselineResetAndDeviceStatus() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("Reboot", [("RebootStatus", "RebootLater")])
        await invoker.answer("BaselineReset", [])
        await invoker.answer("GetDeviceStatus", [("DeviceStatus", "OK,2026-11-23T12:37:21Z")])
        let client = BasicManagementClient(invoker: invoker, service: bmsEndpoint)
        #expect(try await client.reboot() == .rebootLater)
        try await client.baselineReset()
        #expect(try await client.getDeviceStatus() == "OK,2026-11-23T12:37:21Z")
        #expect(await invoker.calls.map(\.action) == ["Reboot", "BaselineReset", "GetDeviceStatus"])
    }

    @Test func pingFlow() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("Ping", [("TestID", "17")])
        await invoker.answer("GetTestInfo", [("Type", "Ping"), ("State", "Requested")], [("Type", "Ping"), ("State", "InProgress")],
                             [("Type", "Ping"), ("State", "Completed")])
        await invoker.answer("GetPingResult", [("Status", "Success"), ("AdditionalInfo", ""), ("SuccessCount", "3"), ("FailureCount", "1"),
                                               ("AverageResponseTime", "12"), ("MinimumResponseTime", "10"), ("MaximumResponseTime", " 15 ")])
        let client = BasicManagementClient(invoker: invoker, service: bmsEndpoint)
        let testID = try await client.ping(host: "192.0.2.1", numberOfRepetitions: 4, timeout: 1000, dataBlockSize: 64, dscp: 0)
        #expect(testID == 17)
        #expect(try await client.waitForTest(testID: testID, sleep: { _ in }) == .completed)
        let result = try await client.getPingResult(testID: testID)
        #expect(result == BMSPingResult(status: .success, additionalInfo: "", successCount: 3, failureCount: 1,
                                        averageResponseTime: 12, minimumResponseTime: 10, maximumResponseTime: 15))
        let calls = await invoker.calls
        #expect(calls[0].arguments == [.init(name: "Host", value: "192.0.2.1"), .init(name: "NumberOfRepetitions", value: "4"),
                                       .init(name: "Timeout", value: "1000"), .init(name: "DataBlockSize", value: "64"), .init(name: "DSCP", value: "0")])
        #expect(calls.map(\.action) == ["Ping", "GetTestInfo", "GetTestInfo", "GetTestInfo", "GetPingResult"])
        #expect(calls.last?.arguments == [.init(name: "TestID", value: "17")])
    }

    @Test func waitForTestIsBounded() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("GetTestInfo", [("Type", "Ping"), ("State", "InProgress")])
        await #expect(throws: UPnPDMError(.deadlineExceeded, "")) {
            try await BasicManagementClient(invoker: invoker, service: bmsEndpoint).waitForTest(testID: 1, maximumPolls: 3, sleep: { _ in })
        }
        #expect(await invoker.calls.count == 3)
    }

    @Test func nsLookupFlow() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("NSLookup", [("TestID", "5")])
        let result = try BMSDocuments.nsLookupResult([[("Status", "Success"), ("HostNameReturned", "example.org"), ("IPAddresses", "192.0.2.1")]])
        await invoker.answer("GetNSLookupResult", [("Status", "Success"), ("AdditionalInfo", "ok"), ("SuccessCount", "1"), ("Result", result)])
        let client = BasicManagementClient(invoker: invoker, service: bmsEndpoint)
        #expect(try await client.nsLookup(hostName: "example.org", dnsServer: "192.0.2.53", numberOfRepetitions: 1, timeout: 2000) == 5)
        let answer = try await client.getNSLookupResult(testID: 5)
        #expect(answer.status == .success)
        #expect(answer.result.first?.hostNameReturned == "example.org")
        #expect(await invoker.calls.first?.argumentNames == ["HostName", "DNSServer", "NumberOfRepetitions", "Timeout"])
    }

    @Test func tracerouteFlow() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("Traceroute", [("TestID", "9")])
        await invoker.answer("GetTracerouteResult", [("Status", "Error_MaxHopCountExceeded"), ("AdditionalInfo", ""), ("ResponseTime", "40"),
                                                     ("HopHosts", "192.0.2.1, 198.51.100.1,203.0.113.1")])
        let client = BasicManagementClient(invoker: invoker, service: bmsEndpoint)
        #expect(try await client.traceroute(host: "203.0.113.9", timeout: 5000, dataBlockSize: 38, maxHopCount: 3, dscp: 46) == 9)
        let result = try await client.getTracerouteResult(testID: 9)
        #expect(result == BMSTracerouteResult(status: .errorMaxHopCountExceeded, additionalInfo: "", responseTime: 40,
                                              hopHosts: ["192.0.2.1", "198.51.100.1", "203.0.113.1"]))
        #expect(await invoker.calls.first?.argumentNames == ["Host", "Timeout", "DataBlockSize", "MaxHopCount", "DSCP"])
    }

    @Test func testIDsTestInfoAndCancel() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("GetTestIDs", [("TestIDs", "1,2,17")])
        await invoker.answer("GetActiveTestIDs", [("TestIDs", "")])
        await invoker.answer("GetTestInfo", [("Type", "Traceroute"), ("State", "Canceled")])
        await invoker.answer("CancelTest", [])
        let client = BasicManagementClient(invoker: invoker, service: bmsEndpoint)
        #expect(try await client.getTestIDs() == [1, 2, 17])
        #expect(try await client.getActiveTestIDs() == [])
        let info = try await client.getTestInfo(testID: 2)
        #expect(info.type == .traceroute && info.state == .canceled)
        try await client.cancelTest(testID: 2)
        #expect(await invoker.calls.last?.arguments == [.init(name: "TestID", value: "2")])
    }

    @Test func dscpOutsideItsRangeIsRefusedBeforeSending() async throws {
        let invoker = ScriptedInvoker()
        await #expect(throws: UPnPDMError(.invalidArgument, "")) {
            try await BasicManagementClient(invoker: invoker, service: bmsEndpoint).ping(host: "h", numberOfRepetitions: 1, timeout: 1, dataBlockSize: 1, dscp: 64)
        }
        #expect(await invoker.calls.isEmpty)
    }

    @Test func aTestIDThatIsNotAui4IsAnInvalidResponse() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("Ping", [("TestID", "-1")])
        await #expect(throws: UPnPDMError(.invalidResponse, "")) {
            try await BasicManagementClient(invoker: invoker, service: bmsEndpoint).ping(host: "h", numberOfRepetitions: 1, timeout: 1, dataBlockSize: 1, dscp: 0)
        }
    }
}

@Suite struct SoftwareManagementClientTests {
    @Test func firmwareInstallWithTheOperationIDFlow() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("Install", [("OperationID", "31")])
        let running: [(String, String)] = [("OperationState", "InProgress"), ("TargetedIDs", ""), ("Action", "Install"), ("ErrorDescription", "Error_None"), ("AdditionalInfo", "")]
        let done: [(String, String)] = [("OperationState", "Completed"), ("TargetedIDs", "4"), ("Action", "Install"), ("ErrorDescription", "Error_None"), ("AdditionalInfo", "ok")]
        await invoker.answer("GetOperationInfo", running, done)
        let client = SoftwareManagementClient(invoker: invoker, service: smsEndpoint)
        let operation = try await client.install(url: "http://192.0.2.5/fw-2.0.bin", duType: .firmware, handleDependencies: false)
        #expect(operation == 31)
        let info = try await client.waitForOperation(operationID: operation, sleep: { _ in })
        #expect(info == SMSOperationInfo(operationState: .completed, targetedIDs: [4], action: .install, errorDescription: .none, additionalInfo: "ok"))
        let calls = await invoker.calls
        #expect(calls[0].arguments == [.init(name: "DUURI", value: "http://192.0.2.5/fw-2.0.bin"), .init(name: "DUType", value: "Firmware"),
                                       .init(name: "HandleDependencies", value: "0")])
        #expect(calls.map(\.action) == ["Install", "GetOperationInfo", "GetOperationInfo"])
        #expect(calls[1].arguments == [.init(name: "OperationID", value: "31")])
    }

    @Test func updateUninstallStartStop() async throws {
        let invoker = ScriptedInvoker()
        for (action, id) in [("Update", "1"), ("Uninstall", "2"), ("Start", "3"), ("Stop", "4")] { await invoker.answer(action, [("OperationID", id)]) }
        let client = SoftwareManagementClient(invoker: invoker, service: smsEndpoint)
        #expect(try await client.update(duID: 4, newURL: "http://192.0.2.5/app-2.tgz") == 1)
        #expect(try await client.uninstall(duID: 4) == 2)
        #expect(try await client.start(euID: 8) == 3)
        #expect(try await client.stop(euID: 8, handleDependencies: false) == 4)
        let calls = await invoker.calls
        #expect(calls[0].arguments == [.init(name: "DUID", value: "4"), .init(name: "NewDUURI", value: "http://192.0.2.5/app-2.tgz"), .init(name: "HandleDependencies", value: "1")])
        #expect(calls[1].argumentNames == ["DUID", "HandleDependencies"])
        #expect(calls[2].argumentNames == ["EUID", "HandleDependencies"])
        #expect(calls[3].arguments == [.init(name: "EUID", value: "8"), .init(name: "HandleDependencies", value: "0")])
    }

    @Test func idListQueries() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("GetDUIDs", [("DUIDs", "4,5")])
        await invoker.answer("GetEUIDs", [("EUIDs", "8")])
        await invoker.answer("GetActiveEUIDs", [("ActiveEUIDs", "8")])
        await invoker.answer("GetRunningEUIDs", [("RunningEUIDs", "")])
        await invoker.answer("GetErrorEUIDs", [("ErrorEUIDs", " 9 ")])
        await invoker.answer("GetOperationIDs", [("OperationIDs", "31,32")])
        let client = SoftwareManagementClient(invoker: invoker, service: smsEndpoint)
        #expect(try await client.getDUIDs() == [4, 5])
        #expect(try await client.getEUIDs() == [8])
        #expect(try await client.getActiveEUIDs() == [8])
        #expect(try await client.getRunningEUIDs() == [])
        #expect(try await client.getErrorEUIDs() == [9])
        #expect(try await client.getOperationIDs() == [31, 32])
    }

    @Test func duAndEUInfo() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("GetDUInfo", [("DUName", "fw"), ("DUVersion", "2.0"), ("DUType", "Firmware"), ("DUState", "Installed"), ("DUURI", "http://192.0.2.5/fw-2.0.bin")])
        await invoker.answer("GetEUInfo", [("EUName", "app"), ("EUVersion", "1"), ("EURequestedState", "Active"), ("EURunningState", "Running")])
        let client = SoftwareManagementClient(invoker: invoker, service: smsEndpoint)
        #expect(try await client.getDUInfo(duID: 4) == SMSDUInfo(name: "fw", version: "2.0", type: .firmware, state: "Installed", uri: "http://192.0.2.5/fw-2.0.bin"))
        #expect(try await client.getEUInfo(euID: 8) == SMSEUInfo(name: "app", version: "1", requestedState: "Active", runningState: "Running"))
        #expect(await invoker.calls.map(\.arguments) == [[.init(name: "DUID", value: "4")], [.init(name: "EUID", value: "8")]])
    }

    @Test func anIDListWithGarbageIsAnInvalidResponse() async throws {
        let invoker = ScriptedInvoker()
        await invoker.answer("GetDUIDs", [("DUIDs", "4,x")])
        await #expect(throws: UPnPDMError(.invalidResponse, "")) { try await SoftwareManagementClient(invoker: invoker, service: smsEndpoint).getDUIDs() }
    }
}
