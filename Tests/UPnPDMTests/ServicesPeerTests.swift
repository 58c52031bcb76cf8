// The typed CMS/BMS/SMS clients, the provider and the identity rule over real SOAP (UPnPControlClient) against the
// async-upnp-client DM device (Tests/Peers/upnp-dm/dm_device.py) in a network namespace each test creates
// (DMDeviceFixture: veth pair, client sockets pinned to the host side, nothing on eth0).

import CWMPClient
import CWMPTestSupport
import Logging
import Proxier
import Testing
@testable import UPnPDM

private extension DMDeviceFixture {
    func cms() async throws -> ConfigurationManagementClient {
        ConfigurationManagementClient(invoker: control, service: try await endpoint(ConfigurationManagementClient.serviceType))
    }
    func bms() async throws -> BasicManagementClient {
        BasicManagementClient(invoker: control, service: try await endpoint(BasicManagementClient.serviceType))
    }
    func sms() async throws -> SoftwareManagementClient {
        SoftwareManagementClient(invoker: control, service: try await endpoint(SoftwareManagementClient.serviceType))
    }
}

/// Short real waits: the device finishes a test after 0.3 s and an operation after 0.4 s (dm_device.py defaults).
private let poll: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }

@Suite(.enabled(if: UPnPDMPeer.isAvailable, "\(UPnPDMPeer.unavailableReason ?? "")"))
struct ServicesPeerTests {
    @Test func configurationManagementRoundTrips() async throws {
        let fixture = try DMDeviceFixture()
        defer { fixture.shutdown() }
        let cms = try await fixture.cms()

        let models = try await cms.getSupportedDataModels()
        #expect(DMPathMapping.bbfLocation(in: models) == "/BBF/")
        #expect(try await cms.getSupportedParameters(startingNode: "/BBF/NAT/", searchDepth: 0).contains("/BBF/NAT/PortMapping/#/Description"))
        // 0-based and sparse: the device deleted row 1 at start-up.
        #expect(try await cms.getInstances(startingNode: "/BBF/NAT/PortMapping/", searchDepth: 1)
                == ["/BBF/NAT/PortMapping/0/", "/BBF/NAT/PortMapping/2/"])

        // Double escaping through the real SOAP layer and the Python device, both ways.
        let version = try await cms.getCurrentConfigurationVersion()
        let awkward = #"<a&b> "q" 'x' é 中文 😀"#
        #expect(try await cms.setValues([DMParameterValue(path: "/BBF/NAT/PortMapping/0/Description", value: awkward)]) == .changesApplied)
        #expect(try await cms.getValues(["/BBF/NAT/PortMapping/0/Description"]) == [DMParameterValue(path: "/BBF/NAT/PortMapping/0/Description", value: awkward)])
        #expect(try await cms.getCurrentConfigurationVersion() == version + 1)
        #expect(try await cms.getConfigurationUpdate().version == version + 1)

        let selected = try await cms.getSelectedValues(startingNode: "/BBF/NAT/PortMapping/#/", filter: #"Description = "ssh""#)
        #expect(selected.contains(DMParameterValue(path: "/BBF/NAT/PortMapping/2/InternalPort", value: "22")))
        #expect(!selected.contains { $0.path.hasPrefix("/BBF/NAT/PortMapping/0/") })

        let created = try await cms.createInstance(multiInstanceName: "/BBF/NAT/PortMapping/#/", childrenInitialization: [
            DMParameterValue(path: "/BBF/NAT/PortMapping/#/Description", value: "new & shiny"),
        ])
        #expect(created.instanceIdentifier == "/BBF/NAT/PortMapping/3/")
        #expect(created.status == .changesApplied)
        #expect(try await cms.getValues(["/BBF/NAT/PortMapping/3/Description"]).first?.value == "new & shiny")
        #expect(try await cms.deleteInstance("/BBF/NAT/PortMapping/3/") == .changesApplied)
        #expect(try await cms.getInstances(startingNode: "/BBF/NAT/PortMapping/", searchDepth: 1).count == 2)

        let path = "/BBF/NAT/PortMapping/2/Enable"
        #expect(try await cms.getAttributes([path]).first?[attribute: "EventOnChange"] == "0")
        #expect(try await cms.setAttributes([DMNodeAttributeValues(path: path, attributes: [.init(name: "EventOnChange", value: "1")])]) == .changesApplied)
        let attributes = try await cms.getAttributes([path])
        #expect(attributes.first?[attribute: "EventOnChange"] == "1")
        #expect(attributes.first?[attribute: "Access"] == "readWrite")
    }

    @Test func configurationManagementFaultsFromTheDevice() async throws {
        let fixture = try DMDeviceFixture()
        defer { fixture.shutdown() }
        let cms = try await fixture.cms()
        func code(_ body: () async throws -> Void) async -> Int? {
            let error = await #expect(throws: UPnPDMError.self) { try await body() }
            #expect(error?.code == .actionFailed)
            return error?.upnpErrorCode
        }
        #expect(await code { _ = try await cms.getValues(["/BBF/NoSuch/Thing"]) } == 703)
        #expect(await code { _ = try await cms.setValues([DMParameterValue(path: "/UPnP/DM/DeviceInfo/SerialNumber", value: "x")]) } == 706)
        #expect(await code { _ = try await cms.setValues([DMParameterValue(path: "/BBF/NAT/PortMapping/0/Enable", value: "maybe")]) } == 704)
        #expect(await code { _ = try await cms.setValues([DMParameterValue(path: "/BBF/NAT/PortMapping/0/ExternalPort", value: "70000")]) } == 705)
        #expect(await code { _ = try await cms.createInstance(multiInstanceName: "/BBF/IP/Interface/#/") } == 706)
        #expect(await code { _ = try await cms.deleteInstance("/BBF/NAT/PortMapping/9/") } == 703)
        // The fault table (UPnPDMError.cwmpFault) sees the service: CMS 706 is 9008.
        let error = await #expect(throws: UPnPDMError.self) {
            _ = try await cms.setValues([DMParameterValue(path: "/UPnP/DM/DeviceInfo/SerialNumber", value: "x")])
        }
        #expect(error?.cwmpFault.code == .attemptToSetNonWritableParameter)
    }

    @Test func basicManagementTestFlows() async throws {
        let fixture = try DMDeviceFixture()
        defer { fixture.shutdown() }
        let bms = try await fixture.bms()
        #expect(try await bms.getDeviceStatus().hasPrefix("OK,"))

        let ping = try await bms.ping(host: "192.0.2.1", numberOfRepetitions: 3, timeout: 1000, dataBlockSize: 64, dscp: 0)
        #expect(try await bms.waitForTest(testID: ping, interval: .milliseconds(100), maximumPolls: 300, sleep: poll) == .completed)
        let pingResult = try await bms.getPingResult(testID: ping)
        #expect(pingResult.status == .success && pingResult.successCount == 3 && pingResult.failureCount == 0)

        let unresolved = try await bms.ping(host: "nowhere.invalid", numberOfRepetitions: 1, timeout: 1000, dataBlockSize: 64, dscp: 0)
        _ = try await bms.waitForTest(testID: unresolved, interval: .milliseconds(100), maximumPolls: 300, sleep: poll)
        #expect(try await bms.getPingResult(testID: unresolved).status == .errorCannotResolveHostName)

        let trace = try await bms.traceroute(host: "203.0.113.9", timeout: 2000, dataBlockSize: 38, maxHopCount: 2, dscp: 0)
        #expect(try await bms.getTestInfo(testID: trace).type == .traceroute)
        _ = try await bms.waitForTest(testID: trace, interval: .milliseconds(100), maximumPolls: 300, sleep: poll)
        #expect(try await bms.getTracerouteResult(testID: trace)
                == BMSTracerouteResult(status: .errorMaxHopCountExceeded, additionalInfo: "", responseTime: 0, hopHosts: ["10.77.0.1", "198.51.100.1"]))

        let lookup = try await bms.nsLookup(hostName: "example.org", dnsServer: "192.0.2.53", numberOfRepetitions: 2, timeout: 1000)
        _ = try await bms.waitForTest(testID: lookup, interval: .milliseconds(100), maximumPolls: 300, sleep: poll)
        let lookupResult = try await bms.getNSLookupResult(testID: lookup)
        #expect(lookupResult.successCount == 2)
        #expect(lookupResult.result.count == 2)
        #expect(lookupResult.result.first?.hostNameReturned == "example.org")
        #expect(lookupResult.result.first?.ipAddresses == ["192.0.2.10"])

        #expect(Set(try await bms.getTestIDs()).isSuperset(of: [ping, unresolved, trace, lookup]))
        #expect(try await bms.getActiveTestIDs().isEmpty)

        // Cancel a running test; a finished one cannot be canceled (709), an unknown one does not exist (706).
        // Held by the peer, so the test is still running when CancelTest arrives however loaded the machine is.
        try fixture.peer.hold()
        let running = try await bms.ping(host: "192.0.2.1", numberOfRepetitions: 1, timeout: 1000, dataBlockSize: 64, dscp: 0)
        try await bms.cancelTest(testID: running)
        #expect(try await bms.getTestInfo(testID: running).state == .canceled)
        try fixture.peer.release()
        let finished = await #expect(throws: UPnPDMError.self) { try await bms.cancelTest(testID: ping) }
        #expect(finished?.upnpErrorCode == 709)
        let unknown = await #expect(throws: UPnPDMError.self) { try await bms.getTestInfo(testID: 999_999) }
        #expect(unknown?.upnpErrorCode == 706)

        // BaselineReset restarts the device 0.2 s after answering (as real ones do): the Reboot waits until it is
        // back, or under load it reaches a device whose HTTP is down (connection refused).
        let bootID = try #require(try fixture.peer.status()["boot_id"] as? Int)
        try await bms.baselineReset()
        try await fixture.peer.waitForReboot(after: bootID)
        #expect(try await bms.reboot() == .rebootNow)
        #expect(try await fixture.peer.waitForReboot(after: bootID + 1).bootID == bootID + 2)
    }

    @Test func softwareManagementOperationFlows() async throws {
        let fixture = try DMDeviceFixture()
        defer { fixture.shutdown() }
        let sms = try await fixture.sms()
        let before = try await sms.getDUIDs()

        let install = try await sms.install(url: "http://192.0.2.5/weather-1.2.tgz", duType: .application)
        let installed = try await sms.waitForOperation(operationID: install, interval: .milliseconds(100), maximumPolls: 300, sleep: poll)
        #expect(installed.operationState == .completed && installed.action == .install && installed.errorDescription == .none)
        let duID = try #require(installed.targetedIDs.first)
        #expect(Set(try await sms.getDUIDs()) == Set(before + [duID]))
        let du = try await sms.getDUInfo(duID: duID)
        #expect(du.version == "1.2" && du.type == .application && du.state == "Installed")
        // This device lists only unfinished operations in OperationIDs; GetOperationInfo still answers for finished ones.
        #expect(!(try await sms.getOperationIDs().contains(install)))

        let euID = try #require(try await sms.getEUIDs().last)
        _ = try await sms.waitForOperation(operationID: try await sms.start(euID: euID), interval: .milliseconds(100), maximumPolls: 300, sleep: poll)
        #expect(try await sms.getEUInfo(euID: euID).requestedState == "Active")
        #expect(try await sms.getActiveEUIDs().contains(euID))
        _ = try await sms.getRunningEUIDs()
        _ = try await sms.getErrorEUIDs()
        _ = try await sms.waitForOperation(operationID: try await sms.stop(euID: euID), interval: .milliseconds(100), maximumPolls: 300, sleep: poll)
        #expect(try await sms.getEUInfo(euID: euID).requestedState == "Inactive")

        let update = try await sms.update(duID: duID, newURL: "http://192.0.2.5/weather-1.3.tgz")
        #expect(try await sms.waitForOperation(operationID: update, interval: .milliseconds(100), maximumPolls: 300, sleep: poll).operationState == .completed)
        #expect(try await sms.getDUInfo(duID: duID).version == "1.3")

        let broken = try await sms.install(url: "http://192.0.2.5/corrupt-2.0.tgz", duType: .application)
        let failed = try await sms.waitForOperation(operationID: broken, interval: .milliseconds(100), maximumPolls: 300, sleep: poll)
        #expect(failed.operationState == .error && failed.errorDescription == .corruptedFile)

        let uninstall = try await sms.uninstall(duID: duID)
        #expect(try await sms.waitForOperation(operationID: uninstall, interval: .milliseconds(100), maximumPolls: 300, sleep: poll).action == .uninstall)

        // DUType Firmware replaces DU 1 and the device restarts into it (byebye, HTTP down, BOOTID + 1).
        let bootID = try #require(try fixture.peer.status()["boot_id"] as? Int)
        // Held by the peer until checked, so the operation is still listed however loaded the machine is.
        try fixture.peer.hold()
        let firmware = try await sms.install(url: "http://192.0.2.5/firmware-2.0.bin", duType: .firmware, handleDependencies: false)
        #expect(try await sms.getOperationIDs().contains(firmware))
        try fixture.peer.release()
        var rebooted = false
        for _ in 0..<300 where !rebooted {
            try await Task.sleep(for: .milliseconds(100))
            rebooted = (try fixture.peer.status()["boot_id"] as? Int) == bootID + 1
        }
        #expect(rebooted)
        var firmwareDU: SMSDUInfo?
        for _ in 0..<300 where firmwareDU == nil {
            do { firmwareDU = try await sms.getDUInfo(duID: 1) } catch let error as UPnPDMError where error.code == .connectFailed {
                try await Task.sleep(for: .milliseconds(100))  // HTTP comes back just after the new BOOTID
            }
        }
        #expect(firmwareDU?.type == .firmware && firmwareDU?.version == "2.0")
        let flashed = try await sms.getOperationInfo(operationID: firmware)
        #expect(flashed.operationState == .completed && flashed.targetedIDs == [1] && flashed.action == .install)
    }

    @Test func providerAndIdentityAgainstTheDevice() async throws {
        let fixture = try DMDeviceFixture()
        defer { fixture.shutdown() }
        let peerDevice = try #require(fixture.peer.devices.first)
        let cms = try await fixture.cms()

        let description = try await fixture.description()
        let identity = try await UPnPDMDeviceIdentity.read(using: cms, description: UPnPDeviceDescriptionIdentity(device: description.device),
                                                           fallbackOUI: "001122")
        #expect(identity.deviceId.oui == "0A1B2C")
        #expect(identity.deviceId.productClass == "DMTestDevice")
        #expect(identity.deviceId.serialNumber == peerDevice.serialNumber)
        #expect(identity.deviceId.manufacturer == description.device.manufacturer)

        let model = DataModel(schema: SchemaTree(.tr181))
        let mapping = DMPathMapping(location: DMPathMapping.bbfLocation(in: try await cms.getSupportedDataModels()))
        try await model.mount(UPnPDMProvider(cms: cms, mapping: mapping, logger: Logger(label: "test.upnpdm")), at: "Device.")
        let values = try await model.getParameterValues([
            "Device.DeviceInfo.SerialNumber", "Device.DeviceInfo.ManufacturerOUI", "Device.IP.Interface.1.Name",
            "Device.IP.Interface.2.Name", "Device.IP.Interface.1.IPv4Address.1.IPAddress", "Device.Time.LocalTimeZone",
        ])
        #expect(values.map(\.value) == [peerDevice.serialNumber, "0A1B2C", "br-lan", "wan0", fixture.namespace.namespaceAddress,
                                        "CET-1CEST,M3.5.0,M10.5.0/3"])
        #expect(try await model.getParameterNames(path: "Device.IP.Interface.", nextLevel: true).map(\.name)
                == ["Device.IP.Interface.1.", "Device.IP.Interface.2."])

        let supported = try await UPnPDMProvider(cms: cms, mapping: mapping, logger: Logger(label: "test.upnpdm")).supportedParameterTemplates()
        #expect(supported.isSuperset(of: ["Device.IP.Interface.{i}.Name", "Device.IP.Interface.{i}.IPv4Address.{i}.IPAddress",
                                          "Device.Time.LocalTimeZone", "Device.DeviceInfo.SerialNumber", "Device.NAT.PortMapping.{i}.Description"]))
        #expect(!supported.contains("Device.IP.Interface.{i}.IPv4Enable"))

        // The discovering provider serves a whole-object read of what the device has.
        let partial = DataModel(schema: SchemaTree(.tr181))
        try await partial.mount(try await UPnPDMProvider.discovering(cms: cms, mapping: mapping, logger: Logger(label: "test.upnpdm")),
                                at: "Device.")
        let whole = try await partial.getParameterValues(["Device.IP.Interface.", "Device.DeviceInfo.", "Device.Time."])
        #expect(whole.contains(ParameterValueStruct(name: "Device.IP.Interface.2.Name", value: "wan0", type: .string)))
        #expect(whole.contains(ParameterValueStruct(name: "Device.DeviceInfo.ModelName", value: "DM-Sim", type: .string)))
        #expect(whole.contains { $0.name == "Device.IP.Interface.1.IPv4Address.1.IPAddress" })
        #expect(!whole.contains { $0.name.hasSuffix(".IPv4Enable") })

        #expect(try await model.setParameterValues([ParameterValueStruct(name: "Device.Time.LocalTimeZone", value: "UTC0", type: .string)],
                                                   parameterKey: "k1") == .applied)
        #expect(try await cms.getValues(["/BBF/Time/LocalTimeZone"]).first?.value == "UTC0")

        // Writable in TR-181, read-only on this device: the device's 706 is a 9008 for the ACS's parameter name.
        let refused = await #expect(throws: ProxierError.self) {
            try await model.setParameterValues([ParameterValueStruct(name: "Device.IP.Interface.1.IPv4Address.1.IPAddress",
                                                                     value: "10.0.0.1", type: .string)], parameterKey: "k2")
        }
        let fault = try #require(refused).cwmpFault
        #expect(fault.setParameterValuesFaults.map(\.parameterName) == ["Device.IP.Interface.1.IPv4Address.1.IPAddress"])
        #expect(fault.setParameterValuesFaults.map(\.faultCode) == [.attemptToSetNonWritableParameter])
    }
}
