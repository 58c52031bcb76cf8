// One GENA subscription per evented service of a DM device (CMS, BMS, SMS: every service with an eventSubURL),
// driven together: discovery's reboot (new BOOTID) and byebye/lease expiry reach all of them.

import Logging

public final class GENADeviceSubscriptions: Sendable {
    /// The subscriptions by service type.
    public let subscriptions: [String: GENASubscription]
    /// The device's UUID (its UDN without `uuid:`), as SSDP discovery names it.
    public let uuid: String

    public init(device: UPnPDevice, listener: GENANotifyListener, client: UPnPHTTPClient = UPnPHTTPClient(),
                configuration: GENASubscriptionStateMachine.Configuration = .init(),
                logger: Logger = Logger(label: "cwmp-proxy.upnp.gena")) {
        var logger = logger
        logger[metadataKey: "upnp.udn"] = "\(device.udn)"
        var subscriptions: [String: GENASubscription] = [:]
        for service in device.services where !service.eventSubURL.isEmpty {
            subscriptions[service.serviceType] = GENASubscription(eventSubURL: service.eventSubURL, listener: listener,
                                                                  client: client, configuration: configuration,
                                                                  logger: logger)
        }
        self.subscriptions = subscriptions
        self.uuid = device.uuid
    }

    /// Applies what discovery says about this device: a new BOOTID (`rebooted`) resubscribes every service, byebye
    /// or lease expiry (`left`) stops them without sending anything. Events about other devices are ignored.
    public func handle(_ event: SSDPDiscoveryEvent) async {
        switch event {
        case .rebooted(let device, _) where device.uuid.lowercased() == uuid.lowercased():
            await deviceRebooted()
        case .left(let left, _) where left.lowercased() == uuid.lowercased():
            await deviceGone()
        default:
            break
        }
    }

    /// The subscription of the service whose type starts with `prefix` (`urn:schemas-upnp-org:service:ConfigurationManagement:`).
    public func subscription(serviceTypePrefix prefix: String) -> GENASubscription? {
        subscriptions.first { $0.key.hasPrefix(prefix) }?.value
    }

    public func start() async throws {
        for subscription in subscriptions.values { try await subscription.start() }
    }

    public func deviceRebooted() async {
        for subscription in subscriptions.values { await subscription.deviceRebooted() }
    }

    public func deviceGone() async {
        for subscription in subscriptions.values { await subscription.deviceGone() }
    }

    public func stop() async {
        for subscription in subscriptions.values { await subscription.stop() }
    }
}
