// The control client against Rygel (Debian `rygel`, GUPnP): a third-party, strict UDA device with a real
// BasicManagement:2 service. Rygel runs inside a network namespace the test creates, pinned to the namespace's
// veth interface, with its configuration, cache and home in a temporary directory. The UPnPDMPeer harness does not
// start Rygel yet, so this test does, with the settings upnp-testbed.md §4 found to work (diagnostics=true in the
// plugin section; the configuration goes to $XDG_CONFIG_HOME/rygel.conf because `-c` did not take effect).
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
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rygel-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = directory.appendingPathComponent("config")
        try FileManager.default.createDirectory(at: configuration, withIntermediateDirectories: true)
        let port = 49160
        try """
            [general]
            upnp-enabled=true
            interface=\(namespace.namespaceInterface)
            port=\(port)
            enable-transcoding=false
            [MediaExport]
            enabled=true
            diagnostics=true
            uris=
            monitor-changes=false
            [Tracker3]
            enabled=false
            [Tracker]
            enabled=false
            [Playbin]
            enabled=false
            [Renderer]
            enabled=false
            """.write(to: configuration.appendingPathComponent("rygel.conf"), atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CONFIG_HOME"] = configuration.path
        environment["XDG_CACHE_HOME"] = directory.appendingPathComponent("cache").path
        environment["XDG_DATA_HOME"] = directory.appendingPathComponent("data").path
        environment["HOME"] = directory.path
        let rygel = try namespace.run(["/usr/bin/rygel"], environment: environment)
        defer { rygel.stop() }

        // Rygel writes its device description (with a fresh UDN) into the configuration directory, then serves it
        // at /<uuid>.xml.
        let written = configuration.appendingPathComponent("Rygel/MediaExport.xml")
        let udn = try await poll("Rygel's description file") { () -> String? in
            guard let data = FileManager.default.contents(atPath: written.path),
                  let root = try? UPnPXML.parse([UInt8](data)) else { return nil }
            return root.child("device")?.childText("UDN")
        }
        let http = UPnPHTTPClient(configuration: .init(
            connectTimeout: .seconds(2), timeout: .seconds(5),
            localAddress: try SocketAddress(ipAddress: namespace.hostAddress, port: 0)))
        let location = "http://\(namespace.namespaceAddress):\(port)/\(udn.dropFirst("uuid:".count)).xml"
        let description = try await poll("Rygel's description at \(location)") {
            try? await http.fetchDeviceDescription(location: location)
        }
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
