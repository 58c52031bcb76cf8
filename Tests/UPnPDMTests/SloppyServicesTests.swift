// ConfigurationManagementClient and the identity rule against the deliberately sloppy device
// (Tests/Peers/upnp-dm/sloppy_device.py): XML documents embedded unescaped as child elements, padded values, HTTP/1.0
// answers without Content-Length. The typed client must read the same values with every quirk on as with none.

import CWMPClient
import CWMPTestSupport
import NIOCore
import Testing
@testable import UPnPDM

@Suite(.enabled(if: UPnPDMPeer.isAvailable, "\(UPnPDMPeer.unavailableReason ?? "")"))
struct SloppyServicesTests {
    private func read(quirks: [String]) async throws -> (values: [DMParameterValue], models: [DMSupportedDataModel], identity: DeviceId, raw: String) {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let peer = try UPnPDMPeer.sloppy(in: namespace, quirks: quirks)
        defer { peer.stop() }
        let device = try #require(peer.devices.first)
        let http = UPnPHTTPClient(configuration: .init(connectTimeout: .seconds(2), timeout: .seconds(10),
                                                       localAddress: try SocketAddress(ipAddress: namespace.hostAddress, port: 0)))
        // The sloppy description promises more bytes than it sends; fetch it with every quirk off.
        try peer.command("quirks 0 none")
        let description = try await http.fetchDeviceDescription(location: device.location)
        try peer.command("quirks 0 \(quirks.isEmpty ? "none" : quirks.joined(separator: ","))")
        let service = try #require(description.device.service(type: ConfigurationManagementClient.serviceType))
        let control = UPnPControlClient(httpClient: http, actionTimeout: .seconds(10))
        let cms = ConfigurationManagementClient(invoker: control, service: service.endpoint)
        // What the SOAP layer hands over, to show that the quirks are really on.
        let raw = try await control.invoke("GetValues", arguments: [
            UPnPActionArgument(name: "Parameters", value: try CMSDocuments.contentPathList(["/BBF/DSL/Line/0/UpstreamCurrRate"])),
        ], on: service.endpoint).first?.value ?? ""
        let values = try await cms.getValues(["/UPnP/DM/DeviceInfo/", "/BBF/DSL/Line/0/UpstreamCurrRate"])
        let models = try await cms.getSupportedDataModels()
        let identity = try await UPnPDMDeviceIdentity.read(using: cms, description: UPnPDeviceDescriptionIdentity(device: description.device),
                                                           fallbackOUI: "001122")
        return (values, models, identity.deviceId, raw)
    }

    @Test func quirksDoNotChangeWhatTheClientReads() async throws {
        let clean = try await read(quirks: [])
        let sloppy = try await read(quirks: ["unescaped-xml", "padded-values", "http10-no-length"])
        #expect(clean.raw.contains("<Value>8</Value>"))
        #expect(sloppy.raw.contains("<Value> 8 </Value>"))
        #expect(clean.values.contains(DMParameterValue(path: "/BBF/DSL/Line/0/UpstreamCurrRate", value: "8")))
        #expect(sloppy.values == clean.values)
        #expect(sloppy.models == clean.models)
        #expect(DMPathMapping.bbfLocation(in: sloppy.models) == "/BBF/")
        #expect(sloppy.identity == DeviceId(manufacturer: clean.identity.manufacturer, oui: "00D0F8", productClass: "SloppyGW", serialNumber: "SLOPPY0001"))
        #expect(clean.identity == sloppy.identity)
    }
}
