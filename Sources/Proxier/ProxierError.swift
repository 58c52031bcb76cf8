import CWMPClient

/// The error type of the Proxier module (data model, registry, RPC translation), in the style of
/// swift-asn1's `ASN1Error`: an extensible `code`, a `reason`, the call site, and an optional underlying error.
/// Equality looks at `code` only.
public struct ProxierError: Error, Hashable, CustomStringConvertible, @unchecked Sendable {
    public struct ErrorCode: Hashable, Sendable, CustomStringConvertible {
        enum BackingCode: Hashable, Sendable {
            case invalidPath
            case unknownPath
            case invalidValue
            case notWritable
            case providerFailure
            case invalidArguments
            case invalidType
            case resourcesExceeded
            case notificationRejected
            case requestDenied
            case storeFailure
            case unknownAgent
            case methodNotSupported
            case timedOut
            case unsupportedTransferProtocol
        }

        let backingCode: BackingCode

        /// The text is not a syntactically valid parameter or object path.
        public static let invalidPath = ErrorCode(backingCode: .invalidPath)
        /// The path names nothing in the data model.
        public static let unknownPath = ErrorCode(backingCode: .unknownPath)
        /// The value does not fit the parameter's type or limits.
        public static let invalidValue = ErrorCode(backingCode: .invalidValue)
        /// The parameter or object cannot be changed.
        public static let notWritable = ErrorCode(backingCode: .notWritable)
        /// The provider behind a subtree failed.
        public static let providerFailure = ErrorCode(backingCode: .providerFailure)
        /// The request as a whole is malformed (a parameter named twice, NextLevel on a parameter, per-parameter
        /// SetParameterValues faults).
        public static let invalidArguments = ErrorCode(backingCode: .invalidArguments)
        /// The value's lexical form or `xsi:type` does not match the parameter's type.
        public static let invalidType = ErrorCode(backingCode: .invalidType)
        /// A table is full (`maxEntries`) or a similar limit is reached.
        public static let resourcesExceeded = ErrorCode(backingCode: .resourcesExceeded)
        /// The Notification attribute cannot take the requested value (activeNotify rules).
        public static let notificationRejected = ErrorCode(backingCode: .notificationRejected)
        /// The request is refused for a reason no other code names.
        public static let requestDenied = ErrorCode(backingCode: .requestDenied)
        /// The agent state store (SQLite) failed: I/O, a constraint, a corrupt or too new database, or use after close.
        /// The SQLite error, if any, is the `underlying` error.
        public static let storeFailure = ErrorCode(backingCode: .storeFailure)
        /// The agent id names no agent in the state store (never created, or removed with its virtual device).
        public static let unknownAgent = ErrorCode(backingCode: .unknownAgent)
        /// The CPE does not implement the method (or the agent behind it does not).
        public static let methodNotSupported = ErrorCode(backingCode: .methodNotSupported)
        /// An RPC did not finish within its time budget (a provider or the agent did not answer in time).
        public static let timedOut = ErrorCode(backingCode: .timedOut)
        /// A Download or Upload names a URL scheme the CPE cannot transfer with (TR-069 fault 9013).
        public static let unsupportedTransferProtocol = ErrorCode(backingCode: .unsupportedTransferProtocol)

        public var description: String { String(describing: backingCode) }
    }

    public let code: ErrorCode
    public let reason: String
    public let file: String
    public let line: Int
    public let underlying: (any Error)?
    /// Per-parameter faults of a SetParameterValues request (with `.invalidArguments`).
    public let setParameterValuesFaults: [SetParameterValuesFault]

    public init(_ code: ErrorCode, _ reason: String, underlying: (any Error)? = nil,
                setParameterValuesFaults: [SetParameterValuesFault] = [],
                file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.underlying = underlying
        self.setParameterValuesFaults = setParameterValuesFaults
        self.file = file
        self.line = line
    }

    public static func == (lhs: ProxierError, rhs: ProxierError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        var text = "ProxierError.\(code): \(reason) \(file):\(line)"
        if let underlying { text += " (underlying: \(underlying))" }
        return text
    }
}

extension ProxierError: CWMPFaultConvertible {
    public var cwmpFault: CWMPFault {
        switch code.backingCode {
        case .invalidPath, .unknownPath: CWMPFault(.invalidParameterName, reason)
        case .invalidValue: CWMPFault(.invalidParameterValue, reason)
        case .notWritable: CWMPFault(.attemptToSetNonWritableParameter, reason)
        case .providerFailure:
            if let underlying { CWMPFault(converting: underlying) } else { CWMPFault(.internalError) }
        case .invalidArguments:
            CWMPFault(.invalidArguments, reason, setParameterValuesFaults: setParameterValuesFaults)
        case .invalidType: CWMPFault(.invalidParameterType, reason)
        case .resourcesExceeded: CWMPFault(.resourcesExceeded, reason)
        case .notificationRejected: CWMPFault(.notificationRequestRejected, reason)
        case .requestDenied: CWMPFault(.requestDenied, reason)
        // The ACS can do nothing about a local storage problem: it is the CPE's internal error, and the reason
        // (which names SQLite, never a parameter value) is all it gets.
        case .storeFailure, .unknownAgent: CWMPFault(.internalError, reason)
        case .methodNotSupported: CWMPFault(.methodNotSupported, reason)
        // The ACS cannot tell a slow device from a broken one, and neither is its fault: 9002 with the reason.
        case .timedOut: CWMPFault(.internalError, reason)
        case .unsupportedTransferProtocol: CWMPFault(.unsupportedProtocolForFileTransfer, reason)
        }
    }
}
