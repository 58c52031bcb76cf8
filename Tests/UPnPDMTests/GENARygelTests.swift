// GENA against Rygel's BasicManagement:2 (GUPnP underneath: strict UDA, `uuid:` SIDs, its own TIMEOUT policy) in a
// network namespace, the listener on the root-side veth address.

import CWMPTestSupport
import NIOCore
import Testing
@testable import UPnPDM

@Suite(.enabled(if: UPnPDMPeer.rygelUnavailableReason == nil, "\(UPnPDMPeer.rygelUnavailableReason ?? "")"))
struct GENARygelTests {
    @Test func basicManagementSubscriptionGrantedSecond300AndRenewedFromIt() async throws {
        let namespace = try NetworkNamespace()
        defer { namespace.shutdown() }
        let rygel = try UPnPDMPeer.rygel(in: namespace)
        defer { rygel.stop() }
        let device = try #require(rygel.devices.first)
        let http = UPnPHTTPClient(configuration: .init(connectTimeout: .seconds(2), timeout: .seconds(10),
                                                       localAddress: try SocketAddress(ipAddress: namespace.hostAddress, port: 0)))
        let description = try await http.fetchDeviceDescription(location: device.location)
        let service = try #require(description.device.service(type: BasicManagementClient.serviceType))
        let listener = GENANotifyListener(configuration: .init(host: namespace.hostAddress))
        try await listener.start()

        // Ask for less than GUPnP's minimum: it grants Second-300, and renewal is planned from that.
        let subscription = GENASubscription(eventSubURL: service.eventSubURL, listener: listener, client: http,
                                            configuration: .init(requestedTimeout: .seconds(120), renewMargin: .seconds(60)))
        let recorder = UpdateRecorder(subscription)
        try await subscription.start()
        let granted = try await recorder.subscribed(reason: .initial)
        #expect(granted.sid.hasPrefix("uuid:"))
        #expect(granted.timeout == .seconds(300))
        let initial = try await recorder.event(seq: 0)
        let names = Set(initial.event.properties.map(\.name))
        #expect(names.isSuperset(of: ["TestIDs", "ActiveTestIDs"]))

        // Renewal is due 240 s after the grant (300 granted − 60 margin), not 60 s (120 asked − 60): drive the
        // subscription's clock past each point instead of waiting.
        await subscription.timerFired(at: .now + .seconds(61))
        try await Task.sleep(for: .milliseconds(300))
        #expect(!recorder.all.contains { if case .renewed = $0 { true } else { false } })
        await subscription.timerFired(at: .now + .seconds(241))
        let renewed = try await recorder.next { if case .renewed = $0 { true } else { false } }
        #expect(renewed.update == .renewed(sid: granted.sid, timeout: .seconds(300)))

        // A ping changes TestIDs: the next NOTIFY, SEQ 1, carries the new test.
        let bms = BasicManagementClient(invoker: UPnPControlClient(httpClient: http, actionTimeout: .seconds(10)), service: service.endpoint)
        let testID = try await bms.ping(host: namespace.namespaceAddress, numberOfRepetitions: 1, timeout: 1000, dataBlockSize: 32, dscp: 0)
        let found = try await recorder.next {
            guard case .event(let event) = $0 else { return false }
            return event.properties.contains { DMServiceEvent($0).testIDs?.contains(testID) ?? false }
        }
        if case .event(let event) = found.update { #expect(event.seq >= 1) }

        await subscription.stop()
        try await listener.shutdown()
    }
}

extension DMServiceEvent {
    var testIDs: [UInt32]? { if case .testIDs(let ids) = self { ids } else { nil } }
}
