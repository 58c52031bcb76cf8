// The description fetcher, the SCPD parser and the SOAP control client against the async-upnp-client DM device
// (Tests/Peers/upnp-dm/dm_device.py) in a network namespace the test creates; the client socket is pinned to the
// root-side veth address, so nothing touches eth0.
import CWMPTestSupport
import Foundation
import NIOCore
import Testing
@testable import UPnPDM

private let cmsType = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
private let bmsType = "urn:schemas-upnp-org:service:BasicManagement:2"
private let smsType = "urn:schemas-upnp-org:service:SoftwareManagement:2"

/// The DM device in a fresh namespace, with an HTTP client and a control client pinned to the host side.
struct DMDeviceFixture {
    let namespace: NetworkNamespace
    let peer: UPnPDMPeer
    let http: UPnPHTTPClient
    let control: UPnPControlClient

    init(arguments: [String] = []) throws {
        namespace = try NetworkNamespace()
        do {
            peer = try UPnPDMPeer.device(in: namespace, arguments: arguments)
        } catch {
            namespace.shutdown()
            throw error
        }
        let configuration = UPnPHTTPClient.Configuration(
            connectTimeout: .seconds(3), timeout: .seconds(10), limits: .init(maximumBodyBytes: 4 << 20),
            localAddress: try SocketAddress(ipAddress: namespace.hostAddress, port: 0))
        http = UPnPHTTPClient(configuration: configuration)
        control = UPnPControlClient(httpClient: http, actionTimeout: .seconds(10))
    }

    func shutdown() {
        peer.stop()
        namespace.shutdown()
    }

    func description() async throws -> UPnPDeviceDescription {
        let device = try #require(peer.devices.first)
        let response = try await http.execute(UPnPHTTPRequest(method: .GET, url: device.location))
        #expect(response.statusCode == 200)
        return try UPnPDeviceDescription(parsing: response.body, location: device.location)
    }

    func endpoint(_ type: String) async throws -> UPnPServiceEndpoint {
        try #require(try await description().device.service(type: type)).endpoint
    }
}

@Suite(.enabled(if: UPnPDMPeer.isAvailable, "\(UPnPDMPeer.unavailableReason ?? "")"))
struct ControlPeerTests {
    @Test func descriptionAndSCPDsOfTheDMDevice() async throws {
        let fixture = try DMDeviceFixture()
        defer { fixture.shutdown() }
        let peerDevice = try #require(fixture.peer.devices.first)
        let description = try await fixture.description()
        #expect(description.device.deviceType == "urn:schemas-upnp-org:device:ManageableDevice:2")
        #expect(description.device.udn == peerDevice.udn)
        #expect(description.device.serialNumber == peerDevice.serialNumber)
        #expect(Set(description.device.services.map(\.serviceType)) == [cmsType, bmsType, smsType])
        for service in description.device.services {
            #expect(service.controlURL.hasPrefix("http://\(fixture.namespace.namespaceAddress):"))
            let response = try await fixture.http.execute(UPnPHTTPRequest(method: .GET, url: service.scpdURL))
            let scpd = try UPnPServiceDescription(parsing: response.body)
            switch service.serviceType {
            case cmsType:
                let getValues = try #require(scpd.action(named: "GetValues"))
                #expect(getValues.inArguments.map(\.name) == ["Parameters"])
                #expect(getValues.outArguments.map(\.name) == ["ParameterValueList"])
                #expect(scpd.action(named: "CreateInstance")?.inArguments.map(\.name)
                        == ["MultiInstanceName", "ChildrenInitialization"])
            case bmsType:
                #expect(scpd.action(named: "GetDeviceStatus")?.outArguments.map(\.name) == ["DeviceStatus"])
                #expect(scpd.stateVariable(named: "DeviceStatus")?.sendEvents == true)
            default:
                #expect(scpd.action(named: "Install")?.inArguments.map(\.name) == ["DUURI", "DUType", "HandleDependencies"])
            }
        }
    }

    @Test func getDeviceStatusGetValuesAndFaults() async throws {
        let fixture = try DMDeviceFixture()
        defer { fixture.shutdown() }
        let peerDevice = try #require(fixture.peer.devices.first)
        let bms = try await fixture.endpoint(bmsType)
        let cms = try await fixture.endpoint(cmsType)

        let status = try await fixture.control.invoke("GetDeviceStatus", arguments: [], on: bms)
        #expect(status.map(\.name) == ["DeviceStatus"])
        #expect(status.first?.value.hasPrefix("OK,") == true)

        let paths = "<cms:ContentPathList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\">"
            + "<ContentPath>/UPnP/DM/DeviceInfo/SerialNumber</ContentPath></cms:ContentPathList>"
        let values = try await fixture.control.invoke("GetValues", arguments: [
            UPnPActionArgument(name: "Parameters", value: paths),
        ], on: cms)
        #expect(values.map(\.name) == ["ParameterValueList"])
        let list = try UPnPXML.parse(Array(try #require(values.first).value.utf8))
        #expect(list.localName == "ParameterValueList")
        #expect(list.child("Parameter")?.childText("ParameterPath") == "/UPnP/DM/DeviceInfo/SerialNumber")
        #expect(list.child("Parameter")?.childText("Value") == peerDevice.serialNumber)

        // 703 No Such Name → 9005.
        let missing = paths.replacingOccurrences(of: "SerialNumber", with: "NoSuchParameter")
        await expectUPnPError(703, fault: 9005) {
            try await fixture.control.invoke("GetValues", arguments: [UPnPActionArgument(name: "Parameters", value: missing)],
                                             on: cms)
        }
        // Unknown action → 401 → 9000.
        await expectUPnPError(401, fault: 9000) {
            try await fixture.control.invoke("NoSuchAction", arguments: [], on: bms)
        }
        // A fault the test injects: 501 on the next GetDeviceStatus, then back to normal.
        try fixture.peer.fail("GetDeviceStatus", code: 501)
        await expectUPnPError(501, fault: 9002) {
            try await fixture.control.invoke("GetDeviceStatus", arguments: [], on: bms)
        }
        #expect(try await fixture.control.invoke("GetDeviceStatus", arguments: [], on: bms).count == 1)
    }
}

extension ControlPeerTests {
    /// async-upnp-client as shipped (no UDA patches) answers an unknown action with a bare HTTP 400 and
    /// errorDescription "Action Failed" for every fault (upnp-dm.md §8): both must still be clear errors.
    @Test func unpatchedAsyncUPnPClientDevice() async throws {
        let fixture = try DMDeviceFixture(arguments: ["--no-patches"])
        defer { fixture.shutdown() }
        let bms = try await fixture.endpoint(bmsType)
        do {
            let out = try await fixture.control.invoke("NoSuchAction", arguments: [], on: bms)
            Issue.record("expected an error, got \(out)")
        } catch let error as UPnPDMError {
            #expect(error.code == .unexpectedHTTPStatus, "\(error)")
            #expect(error.reason.contains("HTTP 400"))
            #expect(error.cwmpFault.code == .internalError)
        }
        #expect(try await fixture.control.invoke("GetDeviceStatus", arguments: [], on: bms).count == 1)
    }
}

/// Expects `body` to throw a UPnP fault with this code that becomes this CWMP fault.
func expectUPnPError(_ code: Int, fault: UInt32, sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () async throws -> [UPnPActionArgument]) async {
    do {
        let out = try await body()
        Issue.record("expected UPnP error \(code), got \(out)", sourceLocation: sourceLocation)
    } catch let error as UPnPDMError {
        #expect(error.code == .actionFailed, "\(error)", sourceLocation: sourceLocation)
        #expect(error.upnpErrorCode == code, "\(error)", sourceLocation: sourceLocation)
        #expect(error.cwmpFault.code.rawValue == fault, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected UPnPDMError, got \(error)", sourceLocation: sourceLocation)
    }
}
