import CWMPClient

/// The error type of the UPnP DM control point (SSDP, HTTP, descriptions, SOAP
/// control, GENA), in the style of swift-asn1's `ASN1Error`: an extensible `code`,
/// a `reason`, the call site, and an optional underlying error. Equality looks at `code` only.
///
/// Codes are added by the parts of the module as they need them (keep the list sorted by area). The conversion to a
/// CWMP fault lives in one place: `cwmpFault` below.
public struct UPnPDMError: Error, Hashable, CustomStringConvertible, @unchecked Sendable {
    public struct ErrorCode: Hashable, Sendable, CustomStringConvertible {
        enum BackingCode: Hashable, Sendable {
            case invalidArgument
            case invalidURL
            case connectFailed
            case connectTimeout
            case deadlineExceeded
            case connectionClosed
            case malformedHTTPResponse
            case responseTooLarge
            case unexpectedHTTPStatus
            case malformedXML
            case forbiddenDocumentType
            case documentTooLarge
            case documentTooDeep
            case invalidDescription
            case malformedSOAPResponse
            case actionFailed
            case invalidResponse
            case malformedSSDPMessage
            case interfaceUnavailable
            case socketFailure
            case subscriptionFailed
            case malformedEvent
        }

        let backingCode: BackingCode

        /// A caller passed something the module cannot use (a malformed address, an empty list, ...).
        public static let invalidArgument = ErrorCode(backingCode: .invalidArgument)

        // HTTP transport (UPnPHTTPClient).
        /// A URL the module was given or found in a description is not an absolute `http://host[:port]/path`.
        public static let invalidURL = ErrorCode(backingCode: .invalidURL)
        /// The TCP connection could not be established (refused, unreachable, local address not available).
        public static let connectFailed = ErrorCode(backingCode: .connectFailed)
        /// The TCP connection was not established within the connect timeout.
        public static let connectTimeout = ErrorCode(backingCode: .connectTimeout)
        /// The whole exchange (connect, request, response) did not finish within its deadline (slow or endless
        /// devices end here).
        public static let deadlineExceeded = ErrorCode(backingCode: .deadlineExceeded)
        /// The device closed the connection before a complete response head arrived.
        public static let connectionClosed = ErrorCode(backingCode: .connectionClosed)
        /// The response is not HTTP/1.x as far as even a lenient reader can tell (bad status line, header line
        /// without a colon, broken chunked framing).
        public static let malformedHTTPResponse = ErrorCode(backingCode: .malformedHTTPResponse)
        /// The response head or body is larger than the configured cap.
        public static let responseTooLarge = ErrorCode(backingCode: .responseTooLarge)
        /// The device answered with a status the operation cannot use (a 404 for a description, a 400 instead of
        /// a SOAP fault from a non-compliant device, ...).
        public static let unexpectedHTTPStatus = ErrorCode(backingCode: .unexpectedHTTPStatus)

        // XML documents (descriptions, SCPDs, SOAP responses).
        /// The document is not well-formed XML (libxml2's message is in the reason).
        public static let malformedXML = ErrorCode(backingCode: .malformedXML)
        /// The document has a DOCTYPE (internal or external DTD, entity declarations): refused, since that is
        /// how entity expansion (billion laughs) and external fetches (XXE) get in; UPnP documents never have one.
        public static let forbiddenDocumentType = ErrorCode(backingCode: .forbiddenDocumentType)
        /// The document is larger than the configured cap.
        public static let documentTooLarge = ErrorCode(backingCode: .documentTooLarge)
        /// The document nests elements deeper than the configured cap.
        public static let documentTooDeep = ErrorCode(backingCode: .documentTooDeep)
        /// A device description or SCPD lacks what UDA requires (root element, device, UDN, ...).
        public static let invalidDescription = ErrorCode(backingCode: .invalidDescription)

        // SOAP control (UPnPControlClient).
        /// The response to an action is not a SOAP envelope with the `<ActionResponse>` or a `Fault` in its Body.
        public static let malformedSOAPResponse = ErrorCode(backingCode: .malformedSOAPResponse)
        /// The device answered a SOAP action with a UPnP fault (`UPnPError`): `upnpErrorCode` and
        /// `upnpErrorDescription` say which (401, 402, 501, 600-series, 700-series).
        public static let actionFailed = ErrorCode(backingCode: .actionFailed)
        /// An SSDP datagram (M-SEARCH, NOTIFY or search response) that cannot be read: not HTTPU, too large,
        /// a header without a colon, conflicting duplicated headers, a USN without a UUID.
        public static let malformedSSDPMessage = ErrorCode(backingCode: .malformedSSDPMessage)
        /// A configured SSDP interface does not exist or has no address of the wanted family.
        public static let interfaceUnavailable = ErrorCode(backingCode: .interfaceUnavailable)
        /// Binding an SSDP socket, setting its multicast options or joining the group failed.
        public static let socketFailure = ErrorCode(backingCode: .socketFailure)

        // GENA eventing (GENASubscription, GENANotifyListener).
        /// SUBSCRIBE kept failing (refused, unreachable, no SID) for the configured number of attempts.
        public static let subscriptionFailed = ErrorCode(backingCode: .subscriptionFailed)
        /// A NOTIFY that cannot be used: wrong NT/NTS, no SID, a SEQ that is not a ui4, a body that is not an
        /// `e:propertyset`, or an evented value that does not read as its variable's type.
        public static let malformedEvent = ErrorCode(backingCode: .malformedEvent)

        // DM service clients (ConfigurationManagementClient, …).
        /// The device answered, but not as the action defines: an out-argument is missing or not of its type, an XML
        /// argument document has the wrong root or lacks a required element.
        public static let invalidResponse = ErrorCode(backingCode: .invalidResponse)

        public var description: String { String(describing: backingCode) }
    }

    public let code: ErrorCode
    public let reason: String
    public let file: String
    public let line: Int
    public let underlying: (any Error)?
    /// The `UPnPError/errorCode` of a SOAP fault (with `.actionFailed`).
    public let upnpErrorCode: Int?
    /// The `UPnPError/errorDescription` of a SOAP fault, as the device sent it.
    public let upnpErrorDescription: String?
    /// The service type the failed action belongs to (with `.actionFailed`): the 700-series codes mean different
    /// things in CMS, BMS and SMS (706 is Read Only Violation in CMS, No Such Test in BMS).
    public let upnpServiceType: String?

    public init(_ code: ErrorCode, _ reason: String, underlying: (any Error)? = nil,
                upnpErrorCode: Int? = nil, upnpErrorDescription: String? = nil, upnpServiceType: String? = nil,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.underlying = underlying
        self.upnpErrorCode = upnpErrorCode
        self.upnpErrorDescription = upnpErrorDescription
        self.upnpServiceType = upnpServiceType
        self.file = file
        self.line = line
    }

    public static func == (lhs: UPnPDMError, rhs: UPnPDMError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        var text = "UPnPDMError.\(code): \(reason) \(file):\(line)"
        if let upnpErrorCode { text += " (UPnP error \(upnpErrorCode): \(upnpErrorDescription ?? ""))" }
        if let underlying { text += " (underlying: \(underlying))" }
        return text
    }
}

extension UPnPDMError: CWMPFaultConvertible {
    /// The one place where this module's errors become CWMP faults.
    ///
    /// UPnP faults (`.actionFailed`) go through `UPnPDMError.cwmpFaultCode(upnpErrorCode:serviceType:)`; every
    /// transport, XML and description failure means the proxied device could not be reached or understood,
    /// which the ACS sees as 9002 Internal error (the reason says which).
    public var cwmpFault: CWMPFault {
        switch code.backingCode {
        case .invalidArgument:
            CWMPFault(.invalidArguments, reason)
        case .actionFailed:
            CWMPFault(Self.cwmpFaultCode(upnpErrorCode: upnpErrorCode, serviceType: upnpServiceType),
                      upnpErrorDescription.map { "UPnP error \(upnpErrorCode ?? 0): \($0)" } ?? reason)
        case .invalidURL, .connectFailed, .connectTimeout, .deadlineExceeded, .connectionClosed,
             .malformedHTTPResponse, .responseTooLarge, .unexpectedHTTPStatus, .malformedXML,
             .forbiddenDocumentType, .documentTooLarge, .documentTooDeep, .invalidDescription,
             .malformedSOAPResponse, .invalidResponse:
            CWMPFault(.internalError, reason)
        // Discovery and eventing problems are the proxier's own, never the ACS's: internal error.
        case .malformedSSDPMessage, .interfaceUnavailable, .socketFailure, .subscriptionFailed, .malformedEvent:
            CWMPFault(.internalError, reason)
        }
    }

    /// The UPnP error code → CWMP fault table (UDA 1.1 Table 3-3, CMS:2/BMS:2 700-series; upnp-dm.md §2.6, §5.3,
    /// §7). `serviceType` is the `urn:…:service:Name:v` of the action; it decides the 700-series.
    public static func cwmpFaultCode(upnpErrorCode: Int?, serviceType: String?) -> CWMPFault.Code {
        guard let upnpErrorCode else { return .internalError }
        switch upnpErrorCode {
        case 401: return .methodNotSupported                 // Invalid Action
        case 402: return .invalidArguments                   // Invalid Args
        case 501: return .internalError                      // Action Failed
        case 600, 601: return .invalidParameterValue         // Argument Value Invalid / Out of Range
        case 602: return .methodNotSupported                 // Optional Action Not Implemented
        case 603: return .resourcesExceeded                  // Out of Memory
        case 604: return .requestDenied                      // Human Intervention Required
        case 605: return .invalidArguments                   // String Argument Too Long
        case 606...612: return .requestDenied                // security / DeviceProtection (not authorized)
        case 700...799:
            switch UPnPServiceKind(serviceType: serviceType) {
            case .configurationManagement:
                switch upnpErrorCode {
                case 701, 702: return .invalidArguments           // Invalid Argument Syntax / Invalid XML Argument
                case 703: return .invalidParameterName            // No Such Name
                case 704: return .invalidParameterType            // Invalid Value Type
                case 705: return .invalidParameterValue           // Invalid Value
                case 706: return .attemptToSetNonWritableParameter // Read Only Violation
                default: return .internalError                    // 708 Resource Temporarily Unavailable, unconfirmed 7xx
                }
            case .basicManagement:
                switch upnpErrorCode {
                case 706, 707: return .invalidArguments           // No Such Test / Wrong Test Type
                case 709: return .requestDenied                   // State Precludes Cancel
                default: return .internalError                    // 708 Invalid Test State (no results yet), other
                }
            case .softwareManagement, .other:
                // No SMS 700-series codes are confirmed (upnp-dm.md §4): a generic action failure.
                return .internalError
            }
        default:
            return .internalError                            // 613-699 reserved, 800-899 vendor, anything else
        }
    }
}

/// Which DM service a service type names, for the 700-series of the fault table.
enum UPnPServiceKind {
    case configurationManagement, basicManagement, softwareManagement, other

    init(serviceType: String?) {
        // `urn:schemas-upnp-org:service:ConfigurationManagement:2`; the version does not change the codes.
        let parts = (serviceType ?? "").split(separator: ":")
        let name = parts.count >= 2 ? parts[parts.count - 2] : ""
        switch name {
        case "ConfigurationManagement": self = .configurationManagement
        case "BasicManagement": self = .basicManagement
        case "SoftwareManagement": self = .softwareManagement
        default: self = .other
        }
    }
}
