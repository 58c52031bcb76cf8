// The gateway's writable values outside ManagementServer: ProvisioningCode, the local time zone and the LAN
// configuration password. They live in one store shared by the providers that serve them, so that the layer that
// persists them subscribes to one stream.
import Synchronization

/// Writable gateway values outside `Device.ManagementServer.`; `configPassword` never appears in descriptions.
public struct GatewayLocalSettings: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `Device.DeviceInfo.ProvisioningCode`.
    public var provisioningCode: String
    /// `Device.Time.LocalTimeZone`: a POSIX TZ string (`CET-1CEST,M3.5.0/2,M10.5.0/3`); empty means UTC.
    public var localTimeZone: String
    /// `Device.LANConfigSecurity.ConfigPassword` (secured: reads as the empty string).
    public var configPassword: String

    public init(provisioningCode: String = "", localTimeZone: String = "", configPassword: String = "") {
        self.provisioningCode = provisioningCode
        self.localTimeZone = localTimeZone
        self.configPassword = configPassword
    }

    public var description: String {
        "GatewayLocalSettings(provisioningCode: \(provisioningCode.debugDescription), localTimeZone: "
            + "\(localTimeZone.debugDescription), configPassword: \(configPassword.isEmpty ? "<empty>" : "<redacted>"))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["provisioningCode": provisioningCode, "localTimeZone": localTimeZone,
                                "configPassword": configPassword.isEmpty ? "<empty>" : "<redacted>"])
    }
}

/// Holds the current `GatewayLocalSettings` and tells subscribers about every change.
public final class GatewayLocalSettingsStore: Sendable {
    private let value: Mutex<GatewayLocalSettings>
    private let broadcaster = ChangeBroadcaster<GatewayLocalSettings>()

    public init(_ initial: GatewayLocalSettings) { value = Mutex(initial) }

    public var current: GatewayLocalSettings { value.withLock { $0 } }

    /// The new settings after every change from now on (ACS writes and `update`).
    public func changes() -> AsyncStream<GatewayLocalSettings> { broadcaster.subscribe() }

    /// Changes the settings and publishes the result when anything changed.
    public func update(_ body: (inout GatewayLocalSettings) -> Void) {
        let (old, new) = value.withLock { settings in
            let old = settings
            body(&settings)
            return (old, settings)
        }
        if old != new { broadcaster.publish(new) }
    }
}
