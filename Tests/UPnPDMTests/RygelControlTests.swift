// The control client against Rygel (Debian `rygel`, GUPnP): a third-party, strict UDA device with a real
// BasicManagement:2 service, started by the UPnPDMPeer harness (rygel/rygel_bms.py) inside a network namespace the
// test creates and pinned to the namespace's veth interface; the client is pinned to the root side.
import CWMPTestSupport
import Foundation
import NIOCore
import Testing
@testable import UPnPDM

private let bmsType = "urn:schemas-upnp-org:service:BasicManagement:2"

@Suite(.enabled(if: UPnPDMPeer.rygelUnavailableReason == nil, "\(UPnPDMPeer.rygelUnavailableReason ?? "")"))
struct RygelControlTests {
    @Test func getDeviceStatusPingAndFaults() async throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let rygel = try UPnPDMPeer.rygel(in: namespace)
        defer { rygel.stop() }
        let peerDevice = try #require(rygel.devices.first)
        let udn = peerDevice.udn
        let http = UPnPHTTPClient(configuration: .init(
            connectTimeout: .seconds(2), timeout: .seconds(5),
            localAddress: try SocketAddress(ipAddress: namespace.hostAddress, port: 0)))
        let description = try await http.fetchDeviceDescription(location: peerDevice.location)
        #expect(description.device.udn == udn)
        #expect(description.device.deviceType == "urn:schemas-upnp-org:device:MediaServer:3")
        let service = try #require(description.device.service(type: bmsType))
        let scpd = try await http.fetchServiceDescription(url: service.scpdURL)
        #expect(scpd.action(named: "GetDeviceStatus") != nil)

        let control = UPnPControlClient(httpClient: http, actionTimeout: .seconds(5))
        let status = try await control.invoke("GetDeviceStatus", arguments: [], on: service.endpoint)
        #expect(status.map(\.name) == ["DeviceStatus"])
        #expect(status.first?.value.hasPrefix("OK,") == true)
        // GUPnP answers an unknown action with a proper fault 401 → 9000.
        await expectUPnPError(401, fault: 9000) {
            try await control.invoke("NoSuchAction", arguments: [], on: service.endpoint)
        }
        // BMS 706 No Such Test → 9003 (not CMS's 706 Read Only Violation → 9008).
        await expectUPnPError(706, fault: 9003) {
            try await control.invoke("GetTestInfo", arguments: [UPnPActionArgument(name: "TestID", value: "99")],
                                     on: service.endpoint)
        }

        // A Ping round trip to the root side of the veth (Rygel spawns iputils ping inside the namespace).
        let ping = try await control.invoke("Ping", arguments: [
            UPnPActionArgument(name: "Host", value: namespace.hostAddress),
            UPnPActionArgument(name: "NumberOfRepetitions", value: "2"),
            UPnPActionArgument(name: "Timeout", value: "1000"),
            UPnPActionArgument(name: "DataBlockSize", value: "32"),
            UPnPActionArgument(name: "DSCP", value: "0"),
        ], on: service.endpoint)
        let testID = try #require(ping.first { $0.name == "TestID" }?.value)
        let testIDArgument = [UPnPActionArgument(name: "TestID", value: testID)]
        let info = try await poll("Ping test \(testID) to complete") { () -> [UPnPActionArgument]? in
            let info = try await control.invoke("GetTestInfo", arguments: testIDArgument, on: service.endpoint)
            return info.contains(UPnPActionArgument(name: "State", value: "Completed")) ? info : nil
        }
        #expect(info.contains(UPnPActionArgument(name: "Type", value: "Ping")))
        let result = try await control.invoke("GetPingResult", arguments: testIDArgument, on: service.endpoint)
        #expect(result.first?.name == "Status")
        #expect(result.contains(UPnPActionArgument(name: "Status", value: "Success")), "\(result)")
        #expect(result.contains(UPnPActionArgument(name: "SuccessCount", value: "2")), "\(result)")
        // 709 State Precludes Cancel: the test has completed → 9001.
        await expectUPnPError(709, fault: 9001) {
            try await control.invoke("CancelTest", arguments: testIDArgument, on: service.endpoint)
        }
    }
}

/// Retries `attempt` every 100 ms for up to `seconds` until it yields a value.
func poll<T>(_ what: String, seconds: Double = 20, _ attempt: () async throws -> T?) async throws -> T {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if let value = try await attempt() { return value }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw NetworkNamespaceUnavailable("\(what) did not appear within \(seconds) s")
}
