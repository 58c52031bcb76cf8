// The interface the typed CMS/BMS/SMS clients code against: invoke one action on one service, get its out
// arguments. `UPnPControlClient` is the real implementation (SOAP 1.1 over `UPnPHTTPClient`).

/// Where a service's actions are sent.
public struct UPnPServiceEndpoint: Hashable, Sendable {
    public var serviceType: String   // "urn:schemas-upnp-org:service:ConfigurationManagement:2"
    public var controlURL: String    // absolute http URL
    public init(serviceType: String, controlURL: String) {
        self.serviceType = serviceType
        self.controlURL = controlURL
    }
}

/// One in or out argument of an action.
public struct UPnPActionArgument: Hashable, Sendable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

public protocol UPnPActionInvoking: Sendable {
    /// Invokes `action` with in-arguments in order; returns the out-arguments in the order received.
    /// SOAP faults throw `UPnPDMError` with code `.actionFailed` and `upnpErrorCode`/`upnpErrorDescription`.
    func invoke(_ action: String, arguments: [UPnPActionArgument], on service: UPnPServiceEndpoint) async throws -> [UPnPActionArgument]

    /// Where a caller should run a sequence of actions on `service` to spare the thread crossings (the event loop
    /// of the device's connection, see EventLoopTaskExecutor.swift); nil when any executor is as good.
    func preferredExecutor(for service: UPnPServiceEndpoint) -> (any TaskExecutor)?
}

extension UPnPActionInvoking {
    public func preferredExecutor(for service: UPnPServiceEndpoint) -> (any TaskExecutor)? { nil }
}
