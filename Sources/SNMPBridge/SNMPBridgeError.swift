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
            case timedOut
            case pduError
            case invalidProfile
            case invalidValue
            case invalidType
            case notWritable
            case unknownInstance
            case requestDenied
        }

        let backingCode: BackingCode

        /// A caller passed something the module cannot use (a malformed address, an empty list, ...).
        public static let invalidArgument = ErrorCode(backingCode: .invalidArgument)
        /// The agent did not answer within the configured timeout and retries (the device is offline for the proxier).
        public static let timedOut = ErrorCode(backingCode: .timedOut)
        /// The agent answered with a non-zero error-status: `pduErrorStatus` (RFC 3416 numbering: 1 tooBig, 2 noSuchName,
        /// 3 badValue, 4 readOnly, 5 genErr, 6 noAccess, 7 wrongType, 8 wrongLength, 9 wrongEncoding, 10 wrongValue,
        /// 11 noCreation, 12 inconsistentValue, 13 resourceUnavailable, 14 commitFailed, 15 undoFailed,
        /// 16 authorizationError, 17 notWritable, 18 inconsistentName) and `pduErrorIndex` (1-based varbind index).
        public static let pduError = ErrorCode(backingCode: .pduError)

        // Profiles and the profile provider.
        /// A mapping profile is malformed or names something that does not exist; the reason names the key.
        public static let invalidProfile = ErrorCode(backingCode: .invalidProfile)
        /// A value cannot be converted (SNMP → TR-181 or back): wrong range, bad text, a type the conversion cannot read.
        public static let invalidValue = ErrorCode(backingCode: .invalidValue)
        /// A TR-181 value cannot become a value of the SNMP object's syntax at all.
        public static let invalidType = ErrorCode(backingCode: .invalidType)
        /// The profile does not declare the parameter writable.
        public static let notWritable = ErrorCode(backingCode: .notWritable)
        /// A parameter, table or instance key the profile or the agent does not know.
        public static let unknownInstance = ErrorCode(backingCode: .unknownInstance)
        /// The operation is not offered for this object (AddObject on a table without RowStatus).
        public static let requestDenied = ErrorCode(backingCode: .requestDenied)

        public var description: String { String(describing: backingCode) }
    }

    public let code: ErrorCode
    public let reason: String
    public let file: String
    public let line: Int
    public let underlying: (any Error)?
    /// The PDU's error-status (with `.pduError`).
    public let pduErrorStatus: Int?
    /// The PDU's error-index, 1-based into the request's varbinds; 0 when the error concerns no single varbind.
    public let pduErrorIndex: Int?

    public init(_ code: ErrorCode, _ reason: String, underlying: (any Error)? = nil,
                pduErrorStatus: Int? = nil, pduErrorIndex: Int? = nil,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.underlying = underlying
        self.pduErrorStatus = pduErrorStatus
        self.pduErrorIndex = pduErrorIndex
        self.file = file
        self.line = line
    }

    public static func == (lhs: SNMPBridgeError, rhs: SNMPBridgeError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        var text = "SNMPBridgeError.\(code): \(reason) \(file):\(line)"
        if let pduErrorStatus { text += " (error-status \(pduErrorStatus), index \(pduErrorIndex ?? 0))" }
        if let underlying { text += " (underlying: \(underlying))" }
        return text
    }
}

extension SNMPBridgeError: CWMPFaultConvertible {
    /// The one place where this module's errors become CWMP faults.
    public var cwmpFault: CWMPFault {
        switch code.backingCode {
        case .invalidArgument: CWMPFault(.invalidArguments, reason)
        case .invalidProfile: CWMPFault(.internalError, reason)
        case .invalidValue: CWMPFault(.invalidParameterValue, reason)
        case .invalidType: CWMPFault(.invalidParameterType, reason)
        case .notWritable: CWMPFault(.attemptToSetNonWritableParameter, reason)
        case .unknownInstance: CWMPFault(.invalidParameterName, reason)
        case .requestDenied: CWMPFault(.requestDenied, reason)
        // The table: a timeout is 9002 (and the device is marked offline by the caller).
        case .timedOut: CWMPFault(.internalError, reason)
        case .pduError:
            switch pduErrorStatus {
            case 6, 17, 4: CWMPFault(.attemptToSetNonWritableParameter, reason)  // noAccess, notWritable, readOnly
            case 7: CWMPFault(.invalidParameterType, reason)  // wrongType
            case 3, 8, 10, 12: CWMPFault(.invalidParameterValue, reason)  // badValue, wrongLength, wrongValue, inconsistentValue
            case 2: CWMPFault(.invalidParameterName, reason)  // noSuchName (SNMPv1)
            default: CWMPFault(.internalError, reason)
            }
        }
    }
}
