// Invokes UPnP actions over SOAP 1.1 (UDA 1.1 §3.2): `POST <controlURL>` with `SOAPACTION: "<serviceType>#<action>"`
// and `Content-Type: text/xml; charset="utf-8"`, bounded by a per-action deadline. Connections are kept alive by
// `UPnPHTTPClient`; only the read-only `Get…` actions count as idempotent (see `isIdempotent(action:)`), so only
// they ride a reused connection and are retried once when it was closed under them.

import Logging
import NIOCore
import NIOHTTP1

/// The real `UPnPActionInvoking`. Sendable; its `UPnPHTTPClient` keeps connections between actions.
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

    /// The event loop that carries the device's connections.
    public func preferredExecutor(for service: UPnPServiceEndpoint) -> (any TaskExecutor)? {
        httpClient.preferredExecutor(for: service.controlURL)
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
        let request = UPnPHTTPRequest(method: .POST, url: service.controlURL, headers: headers, body: body,
                                      isIdempotent: Self.isIdempotent(action: action))
        // Argument values are never logged: SetValues may carry passwords. The metadata is built only when the
        // level is enabled (the autoclosure): per action it costs more than the rest of the bookkeeping.
        do {
            let response = try await httpClient.execute(request, timeout: actionTimeout)
            let out = try UPnPSOAP.decodeResponse(response, action: action, serviceType: service.serviceType,
                                                  maximumBytes: httpClient.configuration.limits.maximumBodyBytes)
            logger.debug("upnp.action.done", metadata: Self.metadata(action, service))
            return out
        } catch {
            logger.debug("upnp.action.failed", metadata: {
                var metadata = Self.metadata(action, service)
                metadata["error.code"] = "\(error.code)"
                if let code = error.upnpErrorCode { metadata["upnp.error_code"] = "\(code)" }
                return metadata
            }())
            throw error
        }
    }

    private static func metadata(_ action: String, _ service: UPnPServiceEndpoint) -> Logger.Metadata {
        ["upnp.action": "\(action)", "upnp.service": "\(service.serviceType)",
         "upnp.control_url": "\(service.controlURL)"]
    }

    /// Whether invoking `action` twice has the effect of invoking it once. In the DM services (CMS, BMS, SMS)
    /// every action whose name begins with `Get` only reads state (GetValues, GetInstances, GetTestResult,
    /// GetDUIDs, …); everything else may change it (SetValues, CreateInstance, Reboot, Install, …) and must not
    /// be sent twice, so it never goes out on a reused connection.
    static func isIdempotent(action: String) -> Bool {
        action.hasPrefix("Get")
    }
}
