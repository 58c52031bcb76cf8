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
            case actionFailed
            case invalidResponse
        }

        let backingCode: BackingCode

        /// A caller passed something the module cannot use (a malformed address, an empty list, ...).
        public static let invalidArgument = ErrorCode(backingCode: .invalidArgument)
        /// The device answered a SOAP action with a UPnP fault (`UPnPError`): `upnpErrorCode` and
        /// `upnpErrorDescription` say which (401, 402, 501, 600-series, 700-series).
        public static let actionFailed = ErrorCode(backingCode: .actionFailed)
        /// The device answered, but not as the action defines: an out-argument is missing or not of its type, or an
        /// XML argument document is malformed, hostile (a DTD, entities) or over a size, depth or count cap.
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

    public init(_ code: ErrorCode, _ reason: String, underlying: (any Error)? = nil,
                upnpErrorCode: Int? = nil, upnpErrorDescription: String? = nil,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.underlying = underlying
        self.upnpErrorCode = upnpErrorCode
        self.upnpErrorDescription = upnpErrorDescription
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
    public var cwmpFault: CWMPFault {
        switch code.backingCode {
        case .invalidArgument: CWMPFault(.invalidArguments, reason)
        // Placeholder until the UPnP error table is written: every UPnP fault is the CPE's internal error.
        case .actionFailed: CWMPFault(.internalError, reason)
        // The ACS can do nothing about a device that answers nonsense: the CPE's internal error.
        case .invalidResponse: CWMPFault(.internalError, reason)
        }
    }
}
