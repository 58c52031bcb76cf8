// Invokes UPnP actions over SOAP 1.1 (UDA 1.1 §3.2): `POST <controlURL>` with `SOAPACTION: "<serviceType>#<action>"`
// and `Content-Type: text/xml; charset="utf-8"`, one connection per action, bounded by a per-action deadline.

import Logging
import NIOCore
import NIOHTTP1

/// The real `UPnPActionInvoking`. Sendable; holds no connection between actions.
public struct UPnPControlClient: UPnPActionInvoking {
    public var httpClient: UPnPHTTPClient
    /// The deadline of one action, connect to last byte. UDA lets a device take 30 s, but the answer must reach
    /// the ACS within its session (the RPC dispatcher gives an RPC 25 s, and an RPC may need several actions).
    public var actionTimeout: TimeAmount
    private let logger: Logger

    public init(httpClient: UPnPHTTPClient = UPnPHTTPClient(configuration: .init(
                    limits: .init(maximumBodyBytes: 4 * 1024 * 1024))),
                actionTimeout: TimeAmount = .seconds(10),
                logger: Logger = Logger(label: "cwmp-proxy.upnp.control")) {
        self.httpClient = httpClient
        self.actionTimeout = actionTimeout
        self.logger = logger
    }

    public func invoke(_ action: String, arguments: [UPnPActionArgument],
                       on service: UPnPServiceEndpoint) async throws -> [UPnPActionArgument] {
        try await invokeTyped(action, arguments: arguments, on: service)
    }

    /// `invoke` with the error type spelled out: always `UPnPDMError`.
    public func invokeTyped(_ action: String, arguments: [UPnPActionArgument],
                            on service: UPnPServiceEndpoint) async throws(UPnPDMError) -> [UPnPActionArgument] {
        let body = try UPnPSOAP.requestEnvelope(action: action, serviceType: service.serviceType, arguments: arguments)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/xml; charset=\"utf-8\"")
        headers.add(name: "SOAPACTION", value: UPnPSOAP.soapAction(action, serviceType: service.serviceType))
        let request = UPnPHTTPRequest(method: .POST, url: service.controlURL, headers: headers, body: body)
        // Argument values are never logged: SetValues may carry passwords.
        let metadata: Logger.Metadata = ["upnp.action": "\(action)", "upnp.service": "\(service.serviceType)",
                                         "upnp.control_url": "\(service.controlURL)"]
        do {
            let response = try await httpClient.execute(request, timeout: actionTimeout)
            let out = try UPnPSOAP.decodeResponse(response, action: action, serviceType: service.serviceType,
                                                  maximumBytes: httpClient.configuration.limits.maximumBodyBytes)
            logger.debug("upnp.action.done", metadata: metadata)
            return out
        } catch {
            var metadata = metadata
            metadata["error.code"] = "\(error.code)"
            if let code = error.upnpErrorCode { metadata["upnp.error_code"] = "\(code)" }
            logger.debug("upnp.action.failed", metadata: metadata)
            throw error
        }
    }
}
