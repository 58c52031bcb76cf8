// The description fetcher and the control client against the project's sloppy and hostile devices
// (Tests/Peers/upnp-dm/sloppy_device.py, hostile_device.py) inside a network namespace the test creates; the client
// socket is pinned to the root-side veth address.
import CWMPTestSupport
import Foundation
import NIOCore
import Testing
@testable import UPnPDM

private let cmsType = "urn:schemas-upnp-org:service:ConfigurationManagement:2"

/// A client pinned to the host side of `namespace`'s veth.
private func pinnedClient(_ namespace: NetworkNamespace, timeout: TimeAmount = .seconds(5)) throws -> UPnPHTTPClient {
    UPnPHTTPClient(configuration: .init(connectTimeout: .seconds(2), timeout: timeout,
                                        limits: .init(maximumBodyBytes: 4 << 20),
                                        localAddress: try SocketAddress(ipAddress: namespace.hostAddress, port: 0)))
}

@Suite(.enabled(if: UPnPDMPeer.isAvailable, "\(UPnPDMPeer.unavailableReason ?? "")"))
struct SloppyPeerTests {
    /// Every quirk on its own, then all of them, then none: the description parses and GetValues returns the
    /// ParameterValueList document with the value the device holds.
    @Test func everyQuirkIsTolerated() async throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let peer = try UPnPDMPeer.sloppy(in: namespace, quirks: ["all"])
        defer { peer.stop() }
        let http = try pinnedClient(namespace)
        let control = UPnPControlClient(httpClient: http, actionTimeout: .seconds(5))
        let location = try #require(peer.devices.first?.location)
        let paths = "<cms:ContentPathList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\">"
            + "<ContentPath>/BBF/DSL/Line/0/UpstreamCurrRate</ContentPath></cms:ContentPathList>"

        for quirks in ["short-body", "http10-no-length", "empty-content-length", "unescaped-xml", "padded-values",
                       "all", "none"] {
            try peer.command("quirks 0 \(quirks)")
            let raw = try await http.execute(UPnPHTTPRequest(method: .GET, url: location))
            if quirks == "short-body" || quirks == "all" {
                #expect(raw.anomalies.contains { if case .bodyShorterThanContentLength = $0 { true } else { false } },
                        "\(quirks): \(raw.anomalies)")
            }
            let description = try await http.fetchDeviceDescription(location: location)
            #expect(description.device.serialNumber == "SLOPPY0001", "\(quirks)")
            let cms = try #require(description.device.service(type: cmsType), "\(quirks)")

            let out = try await control.invoke("GetValues", arguments: [
                UPnPActionArgument(name: "Parameters", value: paths),
            ], on: cms.endpoint)
            #expect(out.map(\.name) == ["ParameterValueList"], "\(quirks)")
            let list = try UPnPXML.parse(Array(try #require(out.first).value.utf8))
            #expect(list.localName == "ParameterValueList", "\(quirks)")
            #expect(list.child("Parameter")?.childText("ParameterPath") == "/BBF/DSL/Line/0/UpstreamCurrRate", "\(quirks)")
            // The document keeps the device's padding; trimmed, the value is what the device holds.
            #expect(list.child("Parameter")?.childText("Value") == "8", "\(quirks)")

            // Faults come through whatever the framing: an unknown path is 703, another action 401.
            let missing = paths.replacingOccurrences(of: "UpstreamCurrRate", with: "NoSuchRate")
            await expectUPnPError(703, fault: 9005) {
                try await control.invoke("GetValues", arguments: [UPnPActionArgument(name: "Parameters", value: missing)],
                                         on: cms.endpoint)
            }
            await expectUPnPError(401, fault: 9000) {
                try await control.invoke("SetValues", arguments: [UPnPActionArgument(name: "ParameterValueList", value: "")],
                                         on: cms.endpoint)
            }
        }
    }
}

@Suite(.enabled(if: UPnPDMPeer.isAvailable, "\(UPnPDMPeer.unavailableReason ?? "")"))
struct HostilePeerTests {
    /// Each attack on the description and on the SOAP answer ends in its clear error within the caps, and the
    /// device reports that the client (not the device) gave up or that the response ended.
    @Test func everyAttackEndsInAClearError() async throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let peer = try UPnPDMPeer.hostile(in: namespace, mode: "xxe", target: "soap",
                                          arguments: ["--slow-interval", "1"])
        defer { peer.stop() }
        let http = try pinnedClient(namespace, timeout: .seconds(3))
        let control = UPnPControlClient(httpClient: http, actionTimeout: .seconds(3))
        let location = try #require(peer.devices.first?.location)
        // With the SOAP answer as the target, the description is sound: take the control URL from it.
        let cms = try #require(try await http.fetchDeviceDescription(location: location).device.service(type: cmsType))

        let cases: [(mode: String, target: String, expected: UPnPDMError.ErrorCode)] = [
            ("xxe", "description", .forbiddenDocumentType),
            ("entity-bomb", "description", .forbiddenDocumentType),
            ("huge", "description", .responseTooLarge),
            ("endless", "description", .responseTooLarge),
            ("slowloris", "description", .deadlineExceeded),
            ("wrong-content-type", "description", .malformedXML),
            ("endless-headers", "description", .responseTooLarge),
            ("xxe", "scpd", .forbiddenDocumentType),
            ("xxe", "soap", .forbiddenDocumentType),
            ("entity-bomb", "soap", .forbiddenDocumentType),
            ("huge", "soap", .responseTooLarge),
            ("endless", "soap", .responseTooLarge),
            ("slowloris", "soap", .deadlineExceeded),
            ("deep-nesting", "soap", .documentTooDeep),
            ("endless-headers", "soap", .responseTooLarge),
        ]
        for (mode, target, expected) in cases {
            try peer.command("mode 0 \(mode) \(target)")
            do {
                switch target {
                case "description":
                    let description = try await http.fetchDeviceDescription(location: location)
                    Issue.record("\(mode) \(target): parsed \(description.device.udn)")
                case "scpd":
                    let scpd = try await http.fetchServiceDescription(url: cms.scpdURL)
                    Issue.record("\(mode) \(target): parsed \(scpd.actions.count) actions")
                default:
                    let out = try await control.invokeTyped("GetValues", arguments: [
                        UPnPActionArgument(name: "Parameters", value: "<cms:ContentPathList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\">"
                                           + "<ContentPath>/UPnP/DM/DeviceInfo/</ContentPath></cms:ContentPathList>"),
                    ], on: cms.endpoint)
                    Issue.record("\(mode) \(target): answered \(out)")
                }
            } catch {
                #expect(error.code == expected, "\(mode) \(target): \(error)")
            }
        }
        // Every hostile response was started; none is still being written to us.
        let status = try peer.status()
        #expect(status["started"] as? Int ?? 0 >= cases.count, "\(status)")
    }
}
