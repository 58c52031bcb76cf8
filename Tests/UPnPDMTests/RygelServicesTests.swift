// BasicManagementClient against Rygel (Debian `rygel`, GUPnP): a third-party BasicManagement:2 implementation that
// runs real ping. Rygel runs inside a network namespace the test creates (UPnPDMPeer.rygel), pinned to its veth.

import CWMPClient
import CWMPTestSupport
import NIOCore
import Testing
@testable import UPnPDM

@Suite(.enabled(if: UPnPDMPeer.rygelUnavailableReason == nil, "\(UPnPDMPeer.rygelUnavailableReason ?? "")"))
struct RygelServicesTests {
    @Test func pingFlowAndTestFaults() async throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let rygel = try UPnPDMPeer.rygel(in: namespace)
        defer { rygel.stop() }
        let device = try #require(rygel.devices.first)
        let http = UPnPHTTPClient(configuration: .init(connectTimeout: .seconds(2), timeout: .seconds(10),
                                                       localAddress: try SocketAddress(ipAddress: namespace.hostAddress, port: 0)))
        let description = try await http.fetchDeviceDescription(location: device.location)
        let service = try #require(description.device.service(type: BasicManagementClient.serviceType))
        let bms = BasicManagementClient(invoker: UPnPControlClient(httpClient: http, actionTimeout: .seconds(10)), service: service.endpoint)

        #expect(try await bms.getDeviceStatus().hasPrefix("OK,"))

        let testID = try await bms.ping(host: namespace.namespaceAddress, numberOfRepetitions: 2, timeout: 1000, dataBlockSize: 32, dscp: 0)
        #expect(try await bms.getTestInfo(testID: testID).type == .ping)
        let state = try await bms.waitForTest(testID: testID, interval: .milliseconds(200), maximumPolls: 100,
                                              sleep: { try await Task.sleep(for: $0) })
        #expect(state == .completed)
        let result = try await bms.getPingResult(testID: testID)
        #expect(result.status == .success)
        #expect(result.successCount == 2 && result.failureCount == 0)
        #expect(result.minimumResponseTime <= result.maximumResponseTime)
        #expect(try await bms.getTestIDs().contains(testID))
        #expect(try await bms.getActiveTestIDs().contains(testID) == false)

        // Rygel's BMS faults, through the typed client: 709 State Precludes Cancel, 706 No Such Test,
        // 707 Wrong Test Type; the fault table sees the BMS service (706 there is not CMS's Read Only Violation).
        let cancel = await #expect(throws: UPnPDMError.self) { try await bms.cancelTest(testID: testID) }
        #expect(cancel?.upnpErrorCode == 709)
        #expect(cancel?.cwmpFault.code == .requestDenied)
        let unknown = await #expect(throws: UPnPDMError.self) { try await bms.getPingResult(testID: testID + 1000) }
        #expect(unknown?.upnpErrorCode == 706)
        #expect(unknown?.cwmpFault.code == .invalidArguments)
        let wrongType = await #expect(throws: UPnPDMError.self) { try await bms.getTracerouteResult(testID: testID) }
        #expect(wrongType?.upnpErrorCode == 707)
    }
}
