// The TR-069 fault codes, in one place (TR-069 Amd 6 §A.5 and cwmp-1-4.xsd).
// Everything that can fail in the proxier ends up here: module errors conform to `CWMPFaultConvertible`
// and are converted to a `CWMPFault` exactly once, when an RPC response is built.

/// A CWMP fault as carried in `detail/cwmp:Fault` of a SOAP Fault.
public struct CWMPFault: Error, Hashable, Sendable, CustomStringConvertible {
    /// A fault code: 9000–9899 are CPE faults, 8000–8899 ACS faults.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        // CPE faults (sent by the proxier to the ACS).
        public static let methodNotSupported = Code(rawValue: 9000)
        public static let requestDenied = Code(rawValue: 9001)
        public static let internalError = Code(rawValue: 9002)
        public static let invalidArguments = Code(rawValue: 9003)
        public static let resourcesExceeded = Code(rawValue: 9004)
        public static let invalidParameterName = Code(rawValue: 9005)
        public static let invalidParameterType = Code(rawValue: 9006)
        public static let invalidParameterValue = Code(rawValue: 9007)
        public static let attemptToSetNonWritableParameter = Code(rawValue: 9008)
        public static let notificationRequestRejected = Code(rawValue: 9009)
        public static let downloadFailure = Code(rawValue: 9010)
        public static let uploadFailure = Code(rawValue: 9011)
        public static let fileTransferServerAuthenticationFailure = Code(rawValue: 9012)
        public static let unsupportedProtocolForFileTransfer = Code(rawValue: 9013)
        public static let downloadFailureUnableToJoinMulticastGroup = Code(rawValue: 9014)
        public static let downloadFailureUnableToContactFileServer = Code(rawValue: 9015)
        public static let downloadFailureUnableToAccessFile = Code(rawValue: 9016)
        public static let downloadFailureUnableToCompleteDownload = Code(rawValue: 9017)
        public static let downloadFailureFileCorrupted = Code(rawValue: 9018)
        public static let downloadFailureFileAuthenticationFailure = Code(rawValue: 9019)
        public static let downloadFailureUnableToCompleteWithinTimeWindows = Code(rawValue: 9020)
        public static let cancelationOfFileTransferNotPermitted = Code(rawValue: 9021)
        public static let invalidUUIDFormat = Code(rawValue: 9022)
        public static let unknownExecutionEnvironment = Code(rawValue: 9023)
        public static let disabledExecutionEnvironment = Code(rawValue: 9024)
        public static let deploymentUnitToExecutionEnvironmentMismatch = Code(rawValue: 9025)
        public static let duplicateDeploymentUnit = Code(rawValue: 9026)
        public static let systemResourcesExceeded = Code(rawValue: 9027)
        public static let unknownDeploymentUnit = Code(rawValue: 9028)
        public static let invalidDeploymentUnitState = Code(rawValue: 9029)
        public static let invalidDeploymentUnitUpdateDowngradeNotPermitted = Code(rawValue: 9030)
        public static let invalidDeploymentUnitUpdateVersionNotSpecified = Code(rawValue: 9031)
        public static let invalidDeploymentUnitUpdateVersionAlreadyExists = Code(rawValue: 9032)

        // ACS faults (received by the proxier from the ACS).
        public static let acsMethodNotSupported = Code(rawValue: 8000)
        public static let acsRequestDenied = Code(rawValue: 8001)
        public static let acsInternalError = Code(rawValue: 8002)
        public static let acsInvalidArguments = Code(rawValue: 8003)
        public static let acsResourcesExceeded = Code(rawValue: 8004)
        public static let acsRetryRequest = Code(rawValue: 8005)
        public static let acsVersionIncompatible = Code(rawValue: 8006)

        /// Every code defined by TR-069 (9000–9032 and 8000–8006), for exhaustive tests.
        public static let allDefined: [Code] = (9000...9032).map { Code(rawValue: $0) } + (8000...8006).map { Code(rawValue: $0) }

        /// The spec's short text for the code, used as FaultString when nothing more precise is known.
        public var defaultFaultString: String {
            switch rawValue {
            case 9000: "Method not supported"
            case 9001: "Request denied (no reason specified)"
            case 9002: "Internal error"
            case 9003: "Invalid arguments"
            case 9004: "Resources exceeded"
            case 9005: "Invalid parameter name"
            case 9006: "Invalid parameter type"
            case 9007: "Invalid parameter value"
            case 9008: "Attempt to set a non-writable parameter"
            case 9009: "Notification request rejected"
            case 9010: "File transfer failure"
            case 9011: "Upload failure"
            case 9012: "File transfer server authentication failure"
            case 9013: "Unsupported protocol for file transfer"
            case 9014: "File transfer failure: unable to join multicast group"
            case 9015: "File transfer failure: unable to contact file server"
            case 9016: "File transfer failure: unable to access file"
            case 9017: "File transfer failure: unable to complete download"
            case 9018: "File transfer failure: file corrupted"
            case 9019: "File transfer failure: file authentication failure"
            case 9020: "File transfer failure: unable to complete download within specified time windows"
            case 9021: "Cancelation of file transfer not permitted in current transfer state"
            case 9022: "Invalid UUID format"
            case 9023: "Unknown Execution Environment"
            case 9024: "Disabled Execution Environment"
            case 9025: "Deployment Unit to Execution Environment mismatch"
            case 9026: "Duplicate Deployment Unit"
            case 9027: "System resources exceeded"
            case 9028: "Unknown Deployment Unit"
            case 9029: "Invalid Deployment Unit state"
            case 9030: "Invalid Deployment Unit update: downgrade not permitted"
            case 9031: "Invalid Deployment Unit update: version not specified"
            case 9032: "Invalid Deployment Unit update: version already exists"
            case 8000: "Method not supported"
            case 8001: "Request denied"
            case 8002: "Internal error"
            case 8003: "Invalid arguments"
            case 8004: "Resources exceeded"
            case 8005: "Retry request"
            case 8006: "ACS version incompatible with CPE"
            case 9800...9899, 8800...8899: "Vendor-specific fault"
            default: "Unknown fault"
            }
        }

        /// SOAP `faultcode`: faults the sender caused are `Client`, the rest `Server` (TR-069 Table A.5 / A.6).
        public var soapFaultCode: SOAPFaultCode {
            switch rawValue {
            case 9003, 9005, 9006, 9007, 9008, 8003: .client
            default: .server
            }
        }

        public var description: String { String(rawValue) }
    }

    /// The SOAP 1.1 `faultcode` of a CWMP fault envelope.
    public enum SOAPFaultCode: String, Hashable, Sendable {
        case client = "Client"
        case server = "Server"
    }

    public var code: Code
    public var faultString: String
    /// Per-parameter faults; only ever used with SetParameterValues (fault 9003 carrying 9005–9008 entries).
    public var setParameterValuesFaults: [SetParameterValuesFault]

    public init(_ code: Code, _ faultString: String? = nil, setParameterValuesFaults: [SetParameterValuesFault] = []) {
        self.code = code
        self.faultString = faultString ?? code.defaultFaultString
        self.setParameterValuesFaults = setParameterValuesFaults
    }

    public var description: String { "CWMP fault \(code.rawValue): \(faultString)" }
}

/// One entry of a SetParameterValues fault.
public struct SetParameterValuesFault: Hashable, Sendable {
    public var parameterName: String
    public var faultCode: CWMPFault.Code
    public var faultString: String

    public init(parameterName: String, faultCode: CWMPFault.Code, faultString: String? = nil) {
        self.parameterName = parameterName
        self.faultCode = faultCode
        self.faultString = faultString ?? faultCode.defaultFaultString
    }
}

/// An error that knows which CWMP fault it becomes. Every module's error type conforms; the RPC layer calls
/// `CWMPFault(converting:)` once, so there is a single place where errors turn into faults.
public protocol CWMPFaultConvertible: Error {
    var cwmpFault: CWMPFault { get }
}

extension CWMPFault: CWMPFaultConvertible {
    public var cwmpFault: CWMPFault { self }
}

extension CWMPFault {
    /// The fault for any error: its own mapping when it has one, 9002 Internal error otherwise
    /// (the error's text is not sent: it may carry details the ACS has no business seeing).
    public init(converting error: any Error) {
        if let convertible = error as? any CWMPFaultConvertible {
            self = convertible.cwmpFault
        } else {
            self = CWMPFault(.internalError)
        }
    }
}
