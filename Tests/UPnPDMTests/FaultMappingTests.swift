// A UPnP fault from the invoker surfaces from every client method as UPnPDMError(.actionFailed) with the device's
// errorCode and errorDescription untouched; the provider turns the faults the CWMP side needs into its own terms.

import CWMPClient
import Logging
import Proxier
import Testing
@testable import UPnPDM

/// Calls one client method by action name (the arguments do not matter: the invoker faults).
private func perform(_ action: String, on invoker: ScriptedInvoker) async throws {
    let cms = ConfigurationManagementClient(invoker: invoker, service: cmsEndpoint)
    let bms = BasicManagementClient(invoker: invoker, service: bmsEndpoint)
    let sms = SoftwareManagementClient(invoker: invoker, service: smsEndpoint)
    switch action {
    case "GetSupportedDataModels": _ = try await cms.getSupportedDataModels()
    case "GetSupportedParameters": _ = try await cms.getSupportedParameters(startingNode: "/BBF/", searchDepth: 1)
    case "GetInstances": _ = try await cms.getInstances(startingNode: "/BBF/", searchDepth: 1)
    case "GetValues": _ = try await cms.getValues(["/BBF/A"])
    case "GetSelectedValues": _ = try await cms.getSelectedValues(startingNode: "/BBF/", filter: "")
    case "SetValues": _ = try await cms.setValues([DMParameterValue(path: "/BBF/A", value: "1")])
    case "CreateInstance": _ = try await cms.createInstance(multiInstanceName: "/BBF/T/#/")
    case "DeleteInstance": _ = try await cms.deleteInstance("/BBF/T/0/")
    case "GetAttributes": _ = try await cms.getAttributes(["/BBF/A"])
    case "SetAttributes": _ = try await cms.setAttributes([DMNodeAttributeValues(path: "/BBF/A", attributes: [.init(name: "EventOnChange", value: "1")])])
    case "GetConfigurationUpdate": _ = try await cms.getConfigurationUpdate()
    case "GetCurrentConfigurationVersion": _ = try await cms.getCurrentConfigurationVersion()
    case "GetInconsistentStatus": _ = try await cms.getInconsistentStatus()
    case "GetSupportedDataModelsUpdate": _ = try await cms.getSupportedDataModelsUpdate()
    case "GetSupportedParametersUpdate": _ = try await cms.getSupportedParametersUpdate()
    case "GetAttributeValuesUpdate": _ = try await cms.getAttributeValuesUpdate()
    case "GetAlarmsEnabled": _ = try await cms.getAlarmsEnabled()
    case "SetAlarmsEnabled": try await cms.setAlarmsEnabled(true)
    case "Reboot": _ = try await bms.reboot()
    case "BaselineReset": try await bms.baselineReset()
    case "GetDeviceStatus": _ = try await bms.getDeviceStatus()
    case "Ping": _ = try await bms.ping(host: "h", numberOfRepetitions: 1, timeout: 1, dataBlockSize: 1, dscp: 0)
    case "GetPingResult": _ = try await bms.getPingResult(testID: 1)
    case "NSLookup": _ = try await bms.nsLookup(hostName: "h", dnsServer: "", numberOfRepetitions: 1, timeout: 1)
    case "GetNSLookupResult": _ = try await bms.getNSLookupResult(testID: 1)
    case "Traceroute": _ = try await bms.traceroute(host: "h", timeout: 1, dataBlockSize: 1, maxHopCount: 1, dscp: 0)
    case "GetTracerouteResult": _ = try await bms.getTracerouteResult(testID: 1)
    case "GetTestIDs": _ = try await bms.getTestIDs()
    case "GetActiveTestIDs": _ = try await bms.getActiveTestIDs()
    case "GetTestInfo": _ = try await bms.getTestInfo(testID: 1)
    case "CancelTest": try await bms.cancelTest(testID: 1)
    case "Install": _ = try await sms.install(url: "http://x/fw", duType: .firmware)
    case "Update": _ = try await sms.update(duID: 1, newURL: "http://x/fw")
    case "Uninstall": _ = try await sms.uninstall(duID: 1)
    case "Start": _ = try await sms.start(euID: 1)
    case "Stop": _ = try await sms.stop(euID: 1)
    case "GetDUIDs": _ = try await sms.getDUIDs()
    case "GetEUIDs": _ = try await sms.getEUIDs()
    case "GetActiveEUIDs": _ = try await sms.getActiveEUIDs()
    case "GetRunningEUIDs": _ = try await sms.getRunningEUIDs()
    case "GetErrorEUIDs": _ = try await sms.getErrorEUIDs()
    case "GetOperationIDs": _ = try await sms.getOperationIDs()
    case "GetOperationInfo": _ = try await sms.getOperationInfo(operationID: 1)
    case "GetDUInfo": _ = try await sms.getDUInfo(duID: 1)
    case "GetEUInfo": _ = try await sms.getEUInfo(euID: 1)
    default: Issue.record("no client method for \(action)")
    }
}

/// Each action with a fault code a device really sends for it (UDA 401/402/501/60x, CMS 70x, BMS 706–709).
private let actionFaults: [(String, Int)] = [
    ("GetSupportedDataModels", 401), ("GetSupportedParameters", 703), ("GetInstances", 703), ("GetValues", 703),
    ("GetSelectedValues", 702), ("SetValues", 706), ("CreateInstance", 706), ("DeleteInstance", 703), ("GetAttributes", 703),
    ("SetAttributes", 701), ("GetConfigurationUpdate", 501), ("GetCurrentConfigurationVersion", 501), ("GetInconsistentStatus", 602),
    ("GetSupportedDataModelsUpdate", 602), ("GetSupportedParametersUpdate", 602), ("GetAttributeValuesUpdate", 602),
    ("GetAlarmsEnabled", 602), ("SetAlarmsEnabled", 402), ("Reboot", 606), ("BaselineReset", 501), ("GetDeviceStatus", 501),
    ("Ping", 402), ("GetPingResult", 708), ("NSLookup", 402), ("GetNSLookupResult", 707), ("Traceroute", 600),
    ("GetTracerouteResult", 706), ("GetTestIDs", 501), ("GetActiveTestIDs", 501), ("GetTestInfo", 706), ("CancelTest", 709),
    ("Install", 600), ("Update", 600), ("Uninstall", 600), ("Start", 600), ("Stop", 600), ("GetDUIDs", 501),
    ("GetEUIDs", 501), ("GetActiveEUIDs", 501), ("GetRunningEUIDs", 501), ("GetErrorEUIDs", 501), ("GetOperationIDs", 501),
    ("GetOperationInfo", 600), ("GetDUInfo", 600), ("GetEUInfo", 600),
]

@Suite struct FaultMappingTests {
    @Test(arguments: actionFaults.map(\.0))
    func aUPnPFaultSurfacesWithItsCode(action: String) async throws {
        let code = actionFaults.first { $0.0 == action }!.1
        let invoker = ScriptedInvoker()
        await invoker.fail(action, with: dmFault(code, "Fault \(code) for \(action)"))
        let error = await #expect(throws: UPnPDMError.self) { try await perform(action, on: invoker) }
        #expect(error?.code == .actionFailed)
        #expect(error?.upnpErrorCode == code)
        #expect(error?.upnpErrorDescription == "Fault \(code) for \(action)")
        #expect(await invoker.calls.map(\.action) == [action])
    }

    @Test(arguments: [(703, 9005), (704, 9006), (705, 9007), (706, 9008)])
    func setValuesFaultsBecomePerParameterFaults(upnp: Int, cwmp: UInt32) {
        let error = UPnPDMProvider.setValuesError(dmFault(upnp, "refused"), paths: ["/BBF/A", "/BBF/B"])
        #expect(error?.entries.map(\.faultCode.rawValue) == [cwmp, cwmp])
        #expect(error?.entries.map(\.index) == [0, 1])
    }

    @Test func aFaultThatNamesTheParameterFaultsOnlyThatOne() {
        let error = UPnPDMProvider.setValuesError(dmFault(706, "Read Only Violation: /BBF/B"), paths: ["/BBF/A", "/BBF/B"])
        #expect(error?.entries == [.init(index: 1, faultCode: .attemptToSetNonWritableParameter, reason: "UPnP error 706: Read Only Violation: /BBF/B")])
    }

    @Test(arguments: [501, 708, 402])
    func otherSetValuesFaultsStayUPnPDMErrors(code: Int) {
        #expect(UPnPDMProvider.setValuesError(dmFault(code), paths: ["/BBF/A"]) == nil)
    }

    /// Through the data-model engine: SetParameterValues on a read-only UPnP parameter answers 9003 with a 9008
    /// entry for the ACS's parameter name.
    @Test func setParameterValuesReadOnlyViolationReachesTheACSAs9008() async throws {
        let device = FakeCMSDevice(values: ["/BBF/IP/Interface/0/Enable": "1"], readOnly: ["/BBF/IP/Interface/0/Enable"],
                                   tables: ["/BBF/IP/Interface/": [:]])
        let model = try await mountedModel(device)
        let error = await #expect(throws: ProxierError.self) {
            try await model.setParameterValues([ParameterValueStruct(name: "Device.IP.Interface.1.Enable", value: "false", type: .boolean)], parameterKey: "k")
        }
        let fault = try #require(error).cwmpFault
        #expect(fault.code == .invalidArguments)
        #expect(fault.setParameterValuesFaults.map(\.parameterName) == ["Device.IP.Interface.1.Enable"])
        #expect(fault.setParameterValuesFaults.map(\.faultCode) == [.attemptToSetNonWritableParameter])
    }

    /// GetValues 703 is ProxierError(.unknownPath), 9005 for the ACS.
    @Test func getValuesNoSuchNameIsInvalidParameterName() async throws {
        let device = FakeCMSDevice(values: ["/BBF/IP/Interface/0/Enable": "1"], tables: ["/BBF/IP/Interface/": [:]])
        let model = try await mountedModel(device)
        await device.failNext("GetValues", with: dmFault(703, "No Such Name"))
        let error = await #expect(throws: ProxierError.self) { try await model.getParameterValues(["Device.IP.Interface.1.Enable"]) }
        #expect(error?.code == .unknownPath)
        #expect(error?.cwmpFault.code == .invalidParameterName)
    }

    /// Any other fault passes through the engine to UPnPDMError.cwmpFault (the table the control layer owns).
    @Test func otherFaultsReachTheACSThroughUPnPDMErrorsConversion() async throws {
        let device = FakeCMSDevice(values: ["/BBF/IP/Interface/0/Enable": "1"], tables: ["/BBF/IP/Interface/": [:]])
        let model = try await mountedModel(device)
        let upnp = dmFault(501, "Action Failed")
        await device.failNext("GetValues", with: upnp)
        let error = await #expect(throws: ProxierError.self) { try await model.getParameterValues(["Device.IP.Interface.1.Enable"]) }
        #expect((error?.underlying as? UPnPDMError)?.upnpErrorCode == 501)
        #expect(error?.cwmpFault == upnp.cwmpFault)
    }
}

func mountedModel(_ device: FakeCMSDevice, mapping: DMPathMapping = DMPathMapping()) async throws -> DataModel {
    let model = DataModel(schema: SchemaTree(.tr181))
    let provider = UPnPDMProvider(cms: ConfigurationManagementClient(invoker: device, service: cmsEndpoint), mapping: mapping,
                                  logger: Logger(label: "test.upnpdm"))
    try await model.mount(provider, at: "Device.")
    return model
}
