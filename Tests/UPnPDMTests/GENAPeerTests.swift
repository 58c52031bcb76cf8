// GENA eventing end to end: GENASubscription + GENANotifyListener against the async-upnp-client DM device
// (dm_device.py) in a network namespace each test creates, the listener bound to the root-side veth address; and
// against Rygel's BasicManagement:2 (GUPnP). The hostile-NOTIFY test talks to a listener on loopback.

import CWMPClient
import CWMPTestSupport
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Proxier
import Testing
@testable import UPnPDM

/// Collects a subscription's updates so a test can wait (bounded) for the one it expects.
final class UpdateRecorder: Sendable {
    private let updates = NIOLockedValueBox<[GENASubscriptionUpdate]>([])
    private let task: Task<Void, Never>

    init(_ subscription: GENASubscription) {
        let box = updates
        task = Task {
            for await update in subscription.updates { box.withLockedValue { $0.append(update) } }
        }
    }

    deinit { task.cancel() }

    var all: [GENASubscriptionUpdate] { updates.withLockedValue { $0 } }

    /// The first update after the first `skipping` that matches, waiting up to `timeout`.
    func next(after skipping: Int = 0, timeout: Duration = .seconds(15),
              _ matches: (GENASubscriptionUpdate) -> Bool) async throws -> (index: Int, update: GENASubscriptionUpdate) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let snapshot = all
            if let index = snapshot.indices.first(where: { $0 >= skipping && matches(snapshot[$0]) }) {
                return (index, snapshot[index])
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw GENATestTimeout(seen: all)
    }

    func event(after skipping: Int = 0, seq: UInt32) async throws -> (index: Int, event: GENAEvent) {
        let found = try await next(after: skipping) { if case .event(let event) = $0 { event.seq == seq } else { false } }
        guard case .event(let event) = found.update else { throw GENATestTimeout(seen: all) }
        return (found.index, event)
    }

    func subscribed(after skipping: Int = 0, reason: GENASubscriptionStateMachine.SubscribeReason)
        async throws -> (index: Int, sid: String, timeout: GENATimeout?) {
        let found = try await next(after: skipping) { if case .subscribed(_, _, let r) = $0 { r == reason } else { false } }
        guard case .subscribed(let sid, let timeout, _) = found.update else { throw GENATestTimeout(seen: all) }
        return (found.index, sid, timeout)
    }
}

struct GENATestTimeout: Error, CustomStringConvertible {
    let seen: [GENASubscriptionUpdate]
    var description: String { "the expected GENA update did not come; seen: \(seen)" }
}

/// A DM device in a namespace, a listener on the host side of the veth, and one subscription to a service.
struct GENAFixture {
    static let cmsType = ConfigurationManagementClient.serviceType
    let device: DMDeviceFixture
    let listener: GENANotifyListener
    let description: UPnPDeviceDescription

    init(arguments: [String] = []) async throws {
        device = try DMDeviceFixture(arguments: arguments)
        listener = GENANotifyListener(configuration: .init(host: device.namespace.hostAddress))
        do {
            try await listener.start()
            description = try await device.description()
        } catch {
            try? await listener.shutdown()
            device.shutdown()
            throw error
        }
    }

    func subscription(_ type: String = cmsType, configuration: GENASubscriptionStateMachine.Configuration = .init())
        throws -> GENASubscription {
        let service = try #require(description.device.service(type: type))
        return GENASubscription(eventSubURL: service.eventSubURL, listener: listener, client: device.http,
                                configuration: configuration)
    }

    func cms() throws -> ConfigurationManagementClient {
        ConfigurationManagementClient(invoker: device.control,
                                      service: try #require(description.device.service(type: Self.cmsType)).endpoint)
    }

    func subscribers(_ name: String = "ConfigurationManagement") throws -> Int? {
        (try device.peer.status()["subscribers"] as? [String: Any])?[name] as? Int
    }

    func shutdown() async {
        try? await listener.shutdown()
        device.shutdown()
    }
}

@Suite(.enabled(if: UPnPDMPeer.isAvailable, "\(UPnPDMPeer.unavailableReason ?? "")"))
struct GENAPeerTests {
    @Test func subscribeInitialEventChangesAndUnsubscribe() async throws {
        let fixture = try await GENAFixture()
        let subscription = try fixture.subscription()
        let recorder = UpdateRecorder(subscription)
        try await subscription.start()

        let granted = try await recorder.subscribed(reason: .initial)
        #expect(granted.sid.hasPrefix("uuid:"))
        #expect(granted.timeout == .seconds(1800))
        let initial = try await recorder.event(seq: 0)
        #expect(initial.event.properties.contains { $0.name == "ConfigurationUpdate" })
        #expect(try fixture.subscribers() == 1)

        // The tracker's baseline is the initial event; the first change has no third field (no EventOnChange set),
        // so the watched path is read with GetValues.
        let tracker = UPnPDMChangeTracker(cms: try fixture.cms(), watched: ["/BBF/Time/NTPServer1", "/BBF/Time/LocalTimeZone"])
        // (The recorder consumes the updates; the tracker is fed by hand. `changeStreamReportsConfigurationUpdates`
        // covers the stream.)
        #expect(try await tracker.changes(for: update(in: initial.event)) == [])
        try fixture.device.peer.set("/BBF/Time/NTPServer1", "ntp.changed.example")
        let first = try await recorder.event(seq: 1)
        #expect(try await tracker.changes(for: update(in: first.event)) == [
            UPnPDMParameterChange(upnpPath: "/BBF/Time/NTPServer1", value: "ntp.changed.example",
                                  providerPath: ProviderPath(template: "Device.Time.NTPServer1", instanceKeys: [])),
        ])

        // With EventOnChange set, the device lists the change (and its value) in the third field.
        let cms = try fixture.cms()
        _ = try await cms.setAttributes([DMNodeAttributeValues(path: "/BBF/IP/Interface/1/MaxMTUSize",
                                                               attributes: [.init(name: "EventOnChange", value: "1")])])
        let afterAttributes = try await recorder.event(seq: 2)
        #expect(try await tracker.changes(for: update(in: afterAttributes.event)) == [])
        try fixture.device.peer.set("/BBF/IP/Interface/1/MaxMTUSize", "1400")
        let second = try await recorder.event(seq: 3)
        let listed = try update(in: second.event)
        #expect(listed.changes == [DMParameterValue(path: "/BBF/IP/Interface/1/MaxMTUSize", value: "1400")])
        let tableTracker = UPnPDMChangeTracker(cms: cms, tables: ["Device.IP.Interface."])
        _ = try await tableTracker.changes(for: DMConfigurationUpdate(version: 1, time: ""))
        #expect(try await tableTracker.changes(for: listed) == [
            UPnPDMParameterChange(upnpPath: "/BBF/IP/Interface/1/MaxMTUSize", value: "1400",
                                  providerPath: ProviderPath(template: "Device.IP.Interface.{i}.MaxMTUSize", instanceKeys: ["1"])),
        ])

        await subscription.stop()
        #expect(try fixture.subscribers() == 0)
        await fixture.shutdown()
    }

    @Test func changeStreamReportsConfigurationUpdates() async throws {
        let fixture = try await GENAFixture()
        let subscription = try fixture.subscription()
        let tracker = UPnPDMChangeTracker(cms: try fixture.cms(), watched: ["/BBF/Time/NTPServer1"])
        let changes = tracker.changes(from: subscription.updates)
        try await subscription.start()
        // The initial event is the baseline; wait until the device has a subscriber before changing anything.
        for _ in 0..<200 where try fixture.subscribers() != 1 { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(300))
        try fixture.device.peer.set("/BBF/Time/NTPServer1", "ntp.stream.example")
        let first = try await withThrowingTaskGroup(of: [UPnPDMParameterChange]?.self) { group in
            group.addTask { for await batch in changes { return batch }; return nil }
            group.addTask { try await Task.sleep(for: .seconds(15)); return nil }
            let result = try await group.next() ?? nil
            group.cancelAll()
            return result
        }
        #expect(first?.map(\.upnpPath) == ["/BBF/Time/NTPServer1"])
        #expect(first?.first?.value == "ntp.stream.example")
        await subscription.stop()
        await fixture.shutdown()
    }

    @Test func renewsBeforeTheGrantedTimeoutExpires() async throws {
        // The device grants 30 s whatever is asked: renewal is due at 15 s (half of a short grant). The test drives
        // the subscription's clock there: real timers on a loaded test machine (two cores, blocking peer commands on
        // the cooperative pool) fired seconds late and let the device expire the subscription.
        let fixture = try await GENAFixture(arguments: ["--max-subscription-timeout", "30"])
        let subscription = try fixture.subscription()
        let recorder = UpdateRecorder(subscription)
        try await subscription.start()
        let granted = try await recorder.subscribed(reason: .initial)
        #expect(granted.timeout == .seconds(30))
        await subscription.timerFired(at: .now + .seconds(10))
        try await Task.sleep(for: .milliseconds(300))
        #expect(!recorder.all.contains { if case .renewed = $0 { true } else { false } })
        await subscription.timerFired(at: .now + .seconds(16))
        let renewed = try await recorder.next { if case .renewed = $0 { true } else { false } }
        #expect(renewed.update == .renewed(sid: granted.sid, timeout: .seconds(30)))
        // Still the same subscription, still delivering in sequence.
        try fixture.device.peer.set("/BBF/Time/NTPServer1", "after.renewal")
        let event = try await recorder.event(seq: 1)
        #expect(event.event.sid == granted.sid)
        #expect(!recorder.all.contains { if case .subscribed(_, _, let reason) = $0 { reason != .initial } else { false } })
        await subscription.stop()
        await fixture.shutdown()
    }

    @Test func sequenceGapResubscribes() async throws {
        let fixture = try await GENAFixture()
        let subscription = try fixture.subscription()
        let recorder = UpdateRecorder(subscription)
        try await subscription.start()
        let granted = try await recorder.subscribed(reason: .initial)
        _ = try await recorder.event(seq: 0)

        try fixture.device.peer.skipSequence(1)
        try fixture.device.peer.set("/BBF/Time/NTPServer1", "gap.example")
        let gap = try await recorder.event(seq: 2)
        #expect(gap.event.sid == granted.sid)
        let again = try await recorder.subscribed(after: gap.index, reason: .sequenceGap)
        #expect(again.sid != granted.sid)
        let fresh = try await recorder.event(after: again.index, seq: 0)
        #expect(fresh.event.sid == again.sid)
        // The old SID was unsubscribed: one subscriber left.
        for _ in 0..<100 where try fixture.subscribers() != 1 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(try fixture.subscribers() == 1)
        await subscription.stop()
        await fixture.shutdown()
    }

    @Test func renewalAnswered412Resubscribes() async throws {
        let fixture = try await GENAFixture(arguments: ["--max-subscription-timeout", "30"])
        let subscription = try fixture.subscription()
        let recorder = UpdateRecorder(subscription)
        try await subscription.start()
        let granted = try await recorder.subscribed(reason: .initial)
        _ = try await recorder.event(seq: 0)
        try fixture.device.peer.dropSubscriptions()
        // Renewal is due at 15 s (half the 30 s grant): drive the subscription's clock there instead of waiting.
        await subscription.timerFired(at: .now + .seconds(16))
        let again = try await recorder.subscribed(reason: .preconditionFailed)
        #expect(again.sid != granted.sid)
        _ = try await recorder.event(after: again.index, seq: 0)
        await subscription.stop()
        await fixture.shutdown()
    }

    @Test func rebootResubscribes() async throws {
        let fixture = try await GENAFixture(arguments: ["--reboot-downtime", "0.3"])
        let subscription = try fixture.subscription()
        let recorder = UpdateRecorder(subscription)
        try await subscription.start()
        let granted = try await recorder.subscribed(reason: .initial)
        _ = try await recorder.event(seq: 0)
        let rebooted = try fixture.device.peer.reboot()
        #expect(rebooted.bootID == 2)
        #expect(try fixture.subscribers() == 0)
        // What discovery reports on the new BOOTID.
        await subscription.deviceRebooted()
        let again = try await recorder.subscribed(reason: .deviceRebooted)
        #expect(again.sid != granted.sid)
        _ = try await recorder.event(after: again.index, seq: 0)
        #expect(try fixture.subscribers() == 1)
        await subscription.stop()
        await fixture.shutdown()
    }

    @Test func unpatchedDeviceBareSIDAndTimeout() async throws {
        let fixture = try await GENAFixture(arguments: ["--no-patches"])
        let subscription = try fixture.subscription()
        let recorder = UpdateRecorder(subscription)
        try await subscription.start()
        let granted = try await recorder.subscribed(reason: .initial)
        #expect(!granted.sid.hasPrefix("uuid:"))
        #expect(granted.timeout == .seconds(1800))
        _ = try await recorder.event(seq: 0)
        // Unpatched async-upnp-client adds the subscriber only after the initial NOTIFY's answer: a change made
        // before that reaches nobody, so wait until the device counts us.
        for _ in 0..<200 where try fixture.subscribers() != 1 { try await Task.sleep(for: .milliseconds(20)) }
        try fixture.device.peer.set("/BBF/Time/NTPServer1", "unpatched.example")
        let change = try await recorder.event(seq: 1)
        #expect(change.event.sid == granted.sid)
        await subscription.stop()
        #expect(try fixture.subscribers() == 0)
        await fixture.shutdown()
    }

    @Test func everyEventedServiceOfTheDeviceIsSubscribed() async throws {
        let fixture = try await GENAFixture()
        let subscriptions = GENADeviceSubscriptions(device: fixture.description.device, listener: fixture.listener,
                                                    client: fixture.device.http)
        #expect(subscriptions.subscriptions.count == 3)
        let bms = try #require(subscriptions.subscription(serviceTypePrefix: "urn:schemas-upnp-org:service:BasicManagement:"))
        let recorder = UpdateRecorder(bms)
        try await subscriptions.start()
        let initial = try await recorder.event(seq: 0)
        #expect(initial.event.properties.map { DMServiceEvent($0) }.contains(.testIDs([])))
        for name in ["ConfigurationManagement", "BasicManagement", "SoftwareManagement"] {
            for _ in 0..<200 where try fixture.subscribers(name) != 1 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(try fixture.subscribers(name) == 1)
        }
        await subscriptions.stop()
        #expect(try fixture.subscribers("BasicManagement") == 0)
        await fixture.shutdown()
    }

    @Test func discoveryEventsDriveTheDeviceSubscriptions() async throws {
        let fixture = try await GENAFixture(arguments: ["--reboot-downtime", "0.3"])
        let subscriptions = GENADeviceSubscriptions(device: fixture.description.device, listener: fixture.listener,
                                                    client: fixture.device.http)
        let cms = try #require(subscriptions.subscription(serviceTypePrefix: "urn:schemas-upnp-org:service:ConfigurationManagement:"))
        let recorder = UpdateRecorder(cms)
        try await subscriptions.start()
        let granted = try await recorder.subscribed(reason: .initial)
        let rebooted = try fixture.device.peer.reboot()
        // The event SSDP discovery delivers for the new BOOTID (built here: live SSDP is SSDPDiscovery's own tests').
        let seen = SSDPDevice(uuid: subscriptions.uuid, isRoot: true, rootUUID: nil, deviceType: nil, location: rebooted.location,
                              server: "", host: fixture.device.namespace.namespaceAddress, bootID: UInt32(rebooted.bootID),
                              configID: 1, serviceTypes: [])
        await subscriptions.handle(.left(uuid: "someone-else", reason: .byebye))
        await subscriptions.handle(.rebooted(seen, previousBootID: 1))
        let again = try await recorder.subscribed(reason: .deviceRebooted)
        #expect(again.sid != granted.sid)
        for name in ["ConfigurationManagement", "BasicManagement", "SoftwareManagement"] {
            for _ in 0..<200 where try fixture.subscribers(name) != 1 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(try fixture.subscribers(name) == 1)
        }
        // byebye: stopped without an UNSUBSCRIBE (the device still counts us), and no more updates.
        await subscriptions.handle(.left(uuid: subscriptions.uuid, reason: .byebye))
        #expect(await cms.sid == nil)
        #expect(try fixture.subscribers() == 1)
        await fixture.shutdown()
    }

    @Test func aChangeDuringTheBaselineReadIsReportedNotLost() async throws {
        let fixture = try await GENAFixture()
        let tracker = UPnPDMChangeTracker(cms: try fixture.cms(), watched: ["/BBF/Time/NTPServer1"])
        // The initial event said version 1, but the device changed before the tracker read its baseline.
        try fixture.device.peer.set("/BBF/Time/NTPServer1", "changed.before.baseline")
        #expect(try await tracker.changes(for: DMConfigurationUpdate(version: 1, time: "")) == [])
        let changes = try await tracker.changes(for: DMConfigurationUpdate(version: 2, time: ""))
        #expect(changes.map(\.upnpPath) == ["/BBF/Time/NTPServer1"])
        #expect(changes.map(\.value) == ["changed.before.baseline"])
        // Once known, an unchanged value is not reported again.
        #expect(try await tracker.changes(for: DMConfigurationUpdate(version: 3, time: "")) == [])
        await fixture.shutdown()
    }

    func update(in event: GENAEvent) throws -> DMConfigurationUpdate {
        let value = try #require(event.properties.first { $0.name == "ConfigurationUpdate" }).value
        return try CMSDocuments.parseConfigurationUpdate(value)
    }
}

/// ConfigurationUpdate → the engine's VALUE CHANGE list, with the provider mounted at `Device.` over the real device.
@Suite(.enabled(if: UPnPDMPeer.isAvailable, "\(UPnPDMPeer.unavailableReason ?? "")"))
struct GENAValueChangeTests {
    @Test func configurationUpdateBecomesAValueChangeOfTheEngine() async throws {
        let fixture = try await GENAFixture()
        let provider = UPnPDMProvider(cms: try fixture.cms(), logger: Logger(label: "test.gena"))
        let model = DataModel(schema: SchemaTree(.tr181))
        try await model.mount(provider, at: "Device.")
        // Interface key 0 (br-lan) is CWMP instance 1; only its MaxMTUSize gets a Notification.
        try await model.setParameterAttributes([
            SetParameterAttributesStruct(name: "Device.IP.Interface.1.MaxMTUSize", notificationChange: true, notification: .active,
                                         accessListChange: false, accessList: []),
        ])
        let tracker = provider.changeTracker(tables: ["Device.IP.Interface."],
                                             watched: ["/BBF/IP/Interface/0/MaxMTUSize", "/BBF/IP/Interface/1/MaxMTUSize"])
        let subscription = try fixture.subscription()
        let recorder = UpdateRecorder(subscription)
        try await subscription.start()
        let initial = try await recorder.event(seq: 0)
        #expect(try await tracker.changes(for: GENAPeerTests().update(in: initial.event)) == [])

        // Both interfaces change, but only instance 1 has a Notification: only it is reported.
        try fixture.device.peer.set("/BBF/IP/Interface/0/MaxMTUSize", "1400")
        try fixture.device.peer.set("/BBF/IP/Interface/1/MaxMTUSize", "1300")
        let second = try await recorder.event(seq: 2)
        let changes = try await tracker.changes(for: GENAPeerTests().update(in: second.event))
        #expect(changes == [
            UPnPDMParameterChange(upnpPath: "/BBF/IP/Interface/0/MaxMTUSize", value: "1400",
                                  providerPath: ProviderPath(template: "Device.IP.Interface.{i}.MaxMTUSize", instanceKeys: ["0"])),
            UPnPDMParameterChange(upnpPath: "/BBF/IP/Interface/1/MaxMTUSize", value: "1300",
                                  providerPath: ProviderPath(template: "Device.IP.Interface.{i}.MaxMTUSize", instanceKeys: ["1"])),
        ])
        await model.recordValueChanges(changes, mountedAt: "Device.")
        let recorded = await model.takeValueChanges()
        #expect(recorded.map(\.name) == ["Device.IP.Interface.1.MaxMTUSize"])
        #expect(recorded.map(\.notification) == [.active])
        await subscription.stop()
        await fixture.shutdown()
    }
}
