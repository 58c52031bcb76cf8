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
            case netSNMPError
            case authenticationFailure
            case decryptionFailure
            case unknownUserName
            case unsupportedSecurityLevel
            case engineDiscoveryFailed
            case securityReport
            case malformedResponse
            case nonIncreasingOID
            case sessionClosed
            case invalidProfile
            case invalidValue
            case invalidType
            case notWritable
            case unknownInstance
            case requestDenied
            case mibModuleNotFound
            case mibParseError
            case unknownMIBSymbol
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

        // net-snmp and SNMPv3 (USM) failures; the reason carries net-snmp's own text (`snmp_api_errstring`).
        /// A net-snmp API call failed (session open, PDU build, send); `netSNMPErrorCode` is the SNMPERR_* value.
        public static let netSNMPError = ErrorCode(backingCode: .netSNMPError)
        /// SNMPv3: the agent rejected the message's digest (usmStatsWrongDigests: wrong auth password or protocol).
        public static let authenticationFailure = ErrorCode(backingCode: .authenticationFailure)
        /// SNMPv3: the agent could not decrypt the message (usmStatsDecryptionErrors: wrong privacy password or protocol).
        public static let decryptionFailure = ErrorCode(backingCode: .decryptionFailure)
        /// SNMPv3: the agent does not know the user (usmStatsUnknownUserNames).
        public static let unknownUserName = ErrorCode(backingCode: .unknownUserName)
        /// SNMPv3: the user may not use the requested security level (usmStatsUnsupportedSecLevels).
        public static let unsupportedSecurityLevel = ErrorCode(backingCode: .unsupportedSecurityLevel)
        /// SNMPv3: the agent's engine ID could not be discovered (no usable report within the timeout and retries).
        public static let engineDiscoveryFailed = ErrorCode(backingCode: .engineDiscoveryFailed)
        /// SNMPv3: the agent answered with another report (unknown engine ID, not in time window after retries, ...).
        public static let securityReport = ErrorCode(backingCode: .securityReport)

        /// The agent answered with something the request cannot produce (varbind count, unknown value type, an
        /// unexpected PDU type).
        public static let malformedResponse = ErrorCode(backingCode: .malformedResponse)
        /// A walk's agent returned an OID that does not increase: a broken agent, which would loop forever.
        public static let nonIncreasingOID = ErrorCode(backingCode: .nonIncreasingOID)
        /// The session (or the whole manager) was closed while the request was waiting.
        public static let sessionClosed = ErrorCode(backingCode: .sessionClosed)
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
        // MIB modules (net-snmp's MIB parser); the reason carries net-snmp's own messages where it logged any.
        /// No file in the MIB search path defines the module (or a module it imports).
        public static let mibModuleNotFound = ErrorCode(backingCode: .mibModuleNotFound)
        /// net-snmp's parser reported errors in the module (or in a module it imports).
        public static let mibParseError = ErrorCode(backingCode: .mibParseError)
        /// A MIB symbol (`IF-MIB::ifDescrX`) that the loaded modules do not define.
        public static let unknownMIBSymbol = ErrorCode(backingCode: .unknownMIBSymbol)

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
    /// net-snmp's SNMPERR_* code (negative), for the net-snmp and SNMPv3 codes.
    public let netSNMPErrorCode: Int?

    public init(_ code: ErrorCode, _ reason: String, underlying: (any Error)? = nil,
                pduErrorStatus: Int? = nil, pduErrorIndex: Int? = nil, netSNMPErrorCode: Int? = nil,
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.underlying = underlying
        self.pduErrorStatus = pduErrorStatus
        self.pduErrorIndex = pduErrorIndex
        self.netSNMPErrorCode = netSNMPErrorCode
        self.file = file
        self.line = line
    }

    public static func == (lhs: SNMPBridgeError, rhs: SNMPBridgeError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        var text = "SNMPBridgeError.\(code): \(reason) \(file):\(line)"
        if let pduErrorStatus { text += " (error-status \(pduErrorStatus), index \(pduErrorIndex ?? 0))" }
        if let netSNMPErrorCode { text += " (SNMPERR \(netSNMPErrorCode))" }
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
        // Profiles are checked when loaded; a MIB problem reaching an RPC is the proxier's configuration at fault.
        case .mibModuleNotFound, .mibParseError, .unknownMIBSymbol: CWMPFault(.internalError, reason)
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
        // The device cannot be reached with the configured credentials or answers nonsense: an internal error for
        // the ACS (the caller marks the device offline or misconfigured).
        case .netSNMPError, .authenticationFailure, .decryptionFailure, .unknownUserName, .unsupportedSecurityLevel,
             .engineDiscoveryFailed, .securityReport, .malformedResponse, .nonIncreasingOID, .sessionClosed:
            CWMPFault(.internalError, reason)
        }
    }
}
