import CWMPClient

/// The error type of the SNMP bridge (net-snmp sessions, profiles, traps,
/// discovery), in the style of swift-asn1's `ASN1Error`: an extensible `code`,
/// a `reason`, the call site, and an optional underlying error. Equality looks at `code` only.
///
/// Codes are added by the parts of the module as they need them (keep the list sorted by area). The conversion to a
/// CWMP fault lives in one place: `cwmpFault` below.
public struct SNMPBridgeError: Error, Hashable, CustomStringConvertible, @unchecked Sendable {
    public struct ErrorCode: Hashable, Sendable, CustomStringConvertible {
        enum BackingCode: Hashable, Sendable {
            case invalidArgument
        }

        let backingCode: BackingCode

        /// A caller passed something the module cannot use (a malformed address, an empty list, ...).
        public static let invalidArgument = ErrorCode(backingCode: .invalidArgument)

        public var description: String { String(describing: backingCode) }
    }

    public let code: ErrorCode
    public let reason: String
    public let file: String
    public let line: Int
    public let underlying: (any Error)?

    public init(_ code: ErrorCode, _ reason: String, underlying: (any Error)? = nil,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    public static func == (lhs: SNMPBridgeError, rhs: SNMPBridgeError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        var text = "SNMPBridgeError.\(code): \(reason) \(file):\(line)"
        if let underlying { text += " (underlying: \(underlying))" }
        return text
    }
}

extension SNMPBridgeError: CWMPFaultConvertible {
    /// The one place where this module's errors become CWMP faults.
    public var cwmpFault: CWMPFault {
        switch code.backingCode {
        case .invalidArgument: CWMPFault(.invalidArguments, reason)
        }
    }
}
