/// The error type of the CWMPClient module: what went wrong (an extensible `code`), why (`reason`), where
/// (`file`/`line`), and what caused it (`underlying`). Equality looks at `code` only, so tests can write
/// `#expect(throws: CWMPError.malformedEnvelope)`-style checks without matching the text.
/// Modelled on swift-asn1's `ASN1Error`.
public struct CWMPError: Error, Hashable, CustomStringConvertible, @unchecked Sendable {
    public struct ErrorCode: Hashable, Sendable, CustomStringConvertible {
        enum BackingCode: Hashable, Sendable {
            case malformedEnvelope
            case envelopeTooLarge
            case envelopeTooDeep
            case forbiddenDocumentType
            case unsupportedNamespace
            case unknownMethod
            case invalidArgument
            case mustUnderstandHeader
            case encodingFailed
            case messageNotInVersion
            case invalidConnectionRequestPath
            case invalidACSURL
            case transportFailed
            case transportTimedOut
            case authenticationFailed
            case authenticationUnsupported
            case tooManyRedirects
            case responseTooLarge
        }

        let backingCode: BackingCode

        /// The bytes are not well-formed XML or not a SOAP envelope.
        public static let malformedEnvelope = ErrorCode(backingCode: .malformedEnvelope)
        /// The envelope exceeds the configured byte limit.
        public static let envelopeTooLarge = ErrorCode(backingCode: .envelopeTooLarge)
        /// The envelope nests deeper than the configured limit.
        public static let envelopeTooDeep = ErrorCode(backingCode: .envelopeTooDeep)
        /// The envelope carries a DTD (and so possibly entities); CWMP never needs one.
        public static let forbiddenDocumentType = ErrorCode(backingCode: .forbiddenDocumentType)
        /// The cwmp namespace is not one of urn:dslforum-org:cwmp-1-0/-1-1/-1-2.
        public static let unsupportedNamespace = ErrorCode(backingCode: .unsupportedNamespace)
        /// The body names an RPC this side does not implement.
        public static let unknownMethod = ErrorCode(backingCode: .unknownMethod)
        /// An RPC argument is missing, duplicated or not of its type.
        public static let invalidArgument = ErrorCode(backingCode: .invalidArgument)
        /// A header with mustUnderstand="1" that this side does not understand.
        public static let mustUnderstandHeader = ErrorCode(backingCode: .mustUnderstandHeader)
        /// libxml2 refused to write the envelope.
        public static let encodingFailed = ErrorCode(backingCode: .encodingFailed)
        /// The RPC or header is not defined by the schema of the envelope's CWMP namespace
        /// (e.g. ChangeDUState in urn:dslforum-org:cwmp-1-0, SessionTimeout before CWMP 1.3).
        public static let messageNotInVersion = ErrorCode(backingCode: .messageNotInVersion)
        /// A Connection Request path that is malformed or already registered to another agent.
        public static let invalidConnectionRequestPath = ErrorCode(backingCode: .invalidConnectionRequestPath)
        /// The ACS URL (configured or from a redirect's Location) is not an absolute http(s) URL.
        public static let invalidACSURL = ErrorCode(backingCode: .invalidACSURL)
        /// No HTTP answer from the ACS: connect, TLS (certificate) or I/O failure; `underlying` says which.
        public static let transportFailed = ErrorCode(backingCode: .transportFailed)
        /// The ACS did not answer within the exchange timeout (TR-069: 30 s by default).
        public static let transportTimedOut = ErrorCode(backingCode: .transportTimedOut)
        /// The ACS refused the credentials (a second 401 that is not a stale nonce): the session fails.
        public static let authenticationFailed = ErrorCode(backingCode: .authenticationFailed)
        /// The ACS asked for a scheme this side does not speak, or for Basic over plain http (TR-069: TLS only).
        public static let authenticationUnsupported = ErrorCode(backingCode: .authenticationUnsupported)
        /// More redirects than allowed in one session, or a redirect without a usable Location.
        public static let tooManyRedirects = ErrorCode(backingCode: .tooManyRedirects)
        /// The ACS's response body exceeds the size the transport accepts.
        public static let responseTooLarge = ErrorCode(backingCode: .responseTooLarge)

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

    public static func == (lhs: CWMPError, rhs: CWMPError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String {
        var text = "CWMPError.\(code): \(reason) \(file):\(line)"
        if let underlying { text += " (underlying: \(underlying))" }
        return text
    }
}

extension CWMPError: CWMPFaultConvertible {
    /// How a codec failure is reported to the ACS (TR-069 §A.5): what the CPE cannot parse or accept is 9003,
    /// an RPC it does not implement 9000, a limit it enforces 9004, anything else 9002.
    public var cwmpFault: CWMPFault {
        switch code.backingCode {
        case .malformedEnvelope, .forbiddenDocumentType, .unsupportedNamespace, .invalidArgument,
             .mustUnderstandHeader, .envelopeTooDeep:
            CWMPFault(.invalidArguments, reason)
        case .unknownMethod, .messageNotInVersion:
            CWMPFault(.methodNotSupported)
        case .envelopeTooLarge:
            CWMPFault(.resourcesExceeded, reason)
        case .encodingFailed, .invalidConnectionRequestPath:
            CWMPFault(.internalError)
        // Transport failures end the session before any fault could reach the ACS; 9002 only if one ever must.
        case .invalidACSURL, .transportFailed, .transportTimedOut, .authenticationFailed, .authenticationUnsupported,
             .tooManyRedirects, .responseTooLarge:
            CWMPFault(.internalError)
        }
    }
}
