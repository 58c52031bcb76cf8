// The CWMP messages (TR-069 Annex A, cwmp-1-0 … cwmp-1-4.xsd) as plain Swift values. The SOAP codec turns
// bytes into these and back; nothing here knows about XML.

/// The cwmp namespace of an envelope. CWMP 1.2, 1.3 and 1.4 all use `urn:dslforum-org:cwmp-1-2` and tell the
/// minor version apart with the SupportedCWMPVersions / UseCWMPVersion headers.
public enum CWMPNamespace: String, Hashable, Sendable, CaseIterable {
    case cwmp10 = "urn:dslforum-org:cwmp-1-0"
    case cwmp11 = "urn:dslforum-org:cwmp-1-1"
    case cwmp12 = "urn:dslforum-org:cwmp-1-2"
}

/// A CWMP protocol version (`1.0` … `1.4`).
public struct CWMPVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let v1_0 = CWMPVersion(major: 1, minor: 0)
    public static let v1_1 = CWMPVersion(major: 1, minor: 1)
    public static let v1_2 = CWMPVersion(major: 1, minor: 2)
    public static let v1_3 = CWMPVersion(major: 1, minor: 3)
    public static let v1_4 = CWMPVersion(major: 1, minor: 4)

    /// The namespace an envelope of this version is written in.
    public var namespace: CWMPNamespace {
        switch minor {
        case 0: .cwmp10
        case 1: .cwmp11
        default: .cwmp12
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.major, lhs.minor) < (rhs.major, rhs.minor) }
    public var description: String { "\(major).\(minor)" }
}

/// A TR-106 dateTime in its lexical form (`2026-11-23T13:33:23Z`, with an optional fraction or offset).
/// TR-106 §3.2: `0001-01-01T00:00:00Z` is the Unknown Time; values before year 1000 count from boot.
public struct CWMPDateTime: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The Unknown Time of TR-106 §3.2.
    public static let unknown = CWMPDateTime(rawValue: "0001-01-01T00:00:00Z")

    public var description: String { rawValue }
}

/// The SOAP header entries CWMP defines (all in the cwmp namespace).
public struct CWMPHeader: Hashable, Sendable {
    /// `cwmp:ID` (mustUnderstand="1"): a response carries the ID of the request it answers.
    public var id: String?
    /// `cwmp:HoldRequests` (ACS → CPE, mustUnderstand="1"): the CPE must not send requests while true.
    public var holdRequests: Bool?
    /// `cwmp:SessionTimeout` (CPE → ACS in an Inform, CWMP 1.3+): seconds the CPE waits for the ACS.
    public var sessionTimeout: UInt32?
    /// `cwmp:SupportedCWMPVersions` (CPE → ACS in an Inform, CWMP 1.4), e.g. `1.0,1.1,1.2,1.3,1.4`.
    public var supportedCWMPVersions: [CWMPVersion]?
    /// `cwmp:UseCWMPVersion` (ACS → CPE in an InformResponse, CWMP 1.4).
    public var useCWMPVersion: CWMPVersion?

    public init(id: String? = nil, holdRequests: Bool? = nil, sessionTimeout: UInt32? = nil,
                supportedCWMPVersions: [CWMPVersion]? = nil, useCWMPVersion: CWMPVersion? = nil) {
        self.id = id
        self.holdRequests = holdRequests
        self.sessionTimeout = sessionTimeout
        self.supportedCWMPVersions = supportedCWMPVersions
        self.useCWMPVersion = useCWMPVersion
    }
}

/// One SOAP envelope: a header and exactly one RPC (request, response or fault) in the body.
public struct CWMPEnvelope: Hashable, Sendable {
    public var namespace: CWMPNamespace
    public var header: CWMPHeader
    public var message: CWMPMessage

    public init(namespace: CWMPNamespace = .cwmp12, header: CWMPHeader = CWMPHeader(), message: CWMPMessage) {
        self.namespace = namespace
        self.header = header
        self.message = message
    }
}

/// Every CWMP RPC message, in both directions.
public enum CWMPMessage: Hashable, Sendable {
    // Requests the ACS sends to the CPE (TR-069 A.3.2, A.4.1).
    case getRPCMethods
    case setParameterValues(SetParameterValues)
    case getParameterValues(GetParameterValues)
    case getParameterNames(GetParameterNames)
    case setParameterAttributes(SetParameterAttributes)
    case getParameterAttributes(GetParameterAttributes)
    case addObject(AddObject)
    case deleteObject(DeleteObject)
    case reboot(Reboot)
    case download(Download)
    case upload(Upload)
    case factoryReset
    case scheduleInform(ScheduleInform)
    case scheduleDownload(ScheduleDownload)
    case cancelTransfer(CancelTransfer)
    case getQueuedTransfers
    case getAllQueuedTransfers
    case changeDUState(ChangeDUState)

    // The CPE's responses to them.
    case getRPCMethodsResponse(GetRPCMethodsResponse)
    case setParameterValuesResponse(SetParameterValuesResponse)
    case getParameterValuesResponse(GetParameterValuesResponse)
    case getParameterNamesResponse(GetParameterNamesResponse)
    case setParameterAttributesResponse
    case getParameterAttributesResponse(GetParameterAttributesResponse)
    case addObjectResponse(AddObjectResponse)
    case deleteObjectResponse(DeleteObjectResponse)
    case rebootResponse
    case downloadResponse(TransferResponse)
    case uploadResponse(TransferResponse)
    case factoryResetResponse
    case scheduleInformResponse
    case scheduleDownloadResponse
    case cancelTransferResponse
    case getQueuedTransfersResponse(GetQueuedTransfersResponse)
    case getAllQueuedTransfersResponse(GetAllQueuedTransfersResponse)
    case changeDUStateResponse

    // Requests the CPE sends to the ACS (TR-069 A.3.3, A.4.2); GetRPCMethods goes both ways.
    case inform(Inform)
    case transferComplete(TransferComplete)
    case autonomousTransferComplete(AutonomousTransferComplete)
    case duStateChangeComplete(DUStateChangeComplete)
    case autonomousDUStateChangeComplete(AutonomousDUStateChangeComplete)
    case requestDownload(RequestDownload)
    case kicked(Kicked)

    // The ACS's responses to them.
    case informResponse(InformResponse)
    case transferCompleteResponse
    case autonomousTransferCompleteResponse
    case duStateChangeCompleteResponse
    case autonomousDUStateChangeCompleteResponse
    case requestDownloadResponse
    case kickedResponse(KickedResponse)

    /// A SOAP Fault with a `cwmp:Fault` detail.
    case fault(CWMPFault)
}

// MARK: - ACS → CPE requests

public struct SetParameterValues: Hashable, Sendable {
    public var parameterList: [ParameterValueStruct]
    public var parameterKey: String
    public init(parameterList: [ParameterValueStruct], parameterKey: String) {
        self.parameterList = parameterList
        self.parameterKey = parameterKey
    }
}

public struct GetParameterValues: Hashable, Sendable {
    public var parameterNames: [String]
    public init(parameterNames: [String]) { self.parameterNames = parameterNames }
}

public struct GetParameterNames: Hashable, Sendable {
    public var parameterPath: String
    public var nextLevel: Bool
    public init(parameterPath: String, nextLevel: Bool) {
        self.parameterPath = parameterPath
        self.nextLevel = nextLevel
    }
}

public struct SetParameterAttributes: Hashable, Sendable {
    public var parameterList: [SetParameterAttributesStruct]
    public init(parameterList: [SetParameterAttributesStruct]) { self.parameterList = parameterList }
}

public struct GetParameterAttributes: Hashable, Sendable {
    public var parameterNames: [String]
    public init(parameterNames: [String]) { self.parameterNames = parameterNames }
}

public struct AddObject: Hashable, Sendable {
    /// A partial path ending in `.` naming a table (`Device.IP.Interface.`), or an alias form (`….[name].`).
    public var objectName: String
    public var parameterKey: String
    public init(objectName: String, parameterKey: String) {
        self.objectName = objectName
        self.parameterKey = parameterKey
    }
}

public struct DeleteObject: Hashable, Sendable {
    /// A partial path ending in `.` naming one instance (`Device.IP.Interface.3.`).
    public var objectName: String
    public var parameterKey: String
    public init(objectName: String, parameterKey: String) {
        self.objectName = objectName
        self.parameterKey = parameterKey
    }
}

public struct Reboot: Hashable, Sendable {
    public var commandKey: String
    public init(commandKey: String) { self.commandKey = commandKey }
}

public struct Download: Hashable, Sendable {
    public var commandKey: String
    /// `1 Firmware Upgrade Image`, `2 Web Content`, `3 Vendor Configuration File`, `X <OUI> …`, …
    public var fileType: String
    public var url: String
    public var username: String
    public var password: String
    public var fileSize: UInt32
    public var targetFileName: String
    public var delaySeconds: UInt32
    public var successURL: String
    public var failureURL: String

    public init(commandKey: String, fileType: String, url: String, username: String = "", password: String = "",
                fileSize: UInt32 = 0, targetFileName: String = "", delaySeconds: UInt32 = 0,
                successURL: String = "", failureURL: String = "") {
        self.commandKey = commandKey
        self.fileType = fileType
        self.url = url
        self.username = username
        self.password = password
        self.fileSize = fileSize
        self.targetFileName = targetFileName
        self.delaySeconds = delaySeconds
        self.successURL = successURL
        self.failureURL = failureURL
    }
}

public struct Upload: Hashable, Sendable {
    public var commandKey: String
    public var fileType: String
    public var url: String
    public var username: String
    public var password: String
    public var delaySeconds: UInt32

    public init(commandKey: String, fileType: String, url: String, username: String = "", password: String = "",
                delaySeconds: UInt32 = 0) {
        self.commandKey = commandKey
        self.fileType = fileType
        self.url = url
        self.username = username
        self.password = password
        self.delaySeconds = delaySeconds
    }
}

public struct ScheduleInform: Hashable, Sendable {
    public var delaySeconds: UInt32
    public var commandKey: String
    public init(delaySeconds: UInt32, commandKey: String) {
        self.delaySeconds = delaySeconds
        self.commandKey = commandKey
    }
}

/// One window of a ScheduleDownload (`TimeWindowStruct`; at most two per request).
public struct TimeWindow: Hashable, Sendable {
    public var windowStart: UInt32
    public var windowEnd: UInt32
    /// `1 At Any Time`, `2 Immediately`, `3 When Idle`, `4 Confirmation Needed`, or `X …`.
    public var windowMode: String
    public var userMessage: String
    /// -1 means the CPE's own policy.
    public var maxRetries: Int32

    public init(windowStart: UInt32, windowEnd: UInt32, windowMode: String, userMessage: String = "",
                maxRetries: Int32 = -1) {
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.windowMode = windowMode
        self.userMessage = userMessage
        self.maxRetries = maxRetries
    }
}

public struct ScheduleDownload: Hashable, Sendable {
    public var commandKey: String
    public var fileType: String
    public var url: String
    public var username: String
    public var password: String
    public var fileSize: UInt32
    public var targetFileName: String
    public var timeWindowList: [TimeWindow]

    public init(commandKey: String, fileType: String, url: String, username: String = "", password: String = "",
                fileSize: UInt32 = 0, targetFileName: String = "", timeWindowList: [TimeWindow]) {
        self.commandKey = commandKey
        self.fileType = fileType
        self.url = url
        self.username = username
        self.password = password
        self.fileSize = fileSize
        self.targetFileName = targetFileName
        self.timeWindowList = timeWindowList
    }
}

public struct CancelTransfer: Hashable, Sendable {
    public var commandKey: String
    public init(commandKey: String) { self.commandKey = commandKey }
}

/// One operation of ChangeDUState; on the wire an `Operations` element with `xsi:type="cwmp:InstallOpStruct"` etc.
public enum DeploymentUnitOperation: Hashable, Sendable {
    case install(url: String, uuid: String, username: String, password: String, executionEnvRef: String)
    case update(uuid: String, version: String, url: String, username: String, password: String)
    case uninstall(uuid: String, version: String, executionEnvRef: String)
}

public struct ChangeDUState: Hashable, Sendable {
    public var operations: [DeploymentUnitOperation]
    public var commandKey: String
    public init(operations: [DeploymentUnitOperation], commandKey: String) {
        self.operations = operations
        self.commandKey = commandKey
    }
}

// MARK: - CPE responses

public struct GetRPCMethodsResponse: Hashable, Sendable {
    public var methodList: [String]
    public init(methodList: [String]) { self.methodList = methodList }
}

/// Status 0: applied; 1: validated and committed, applied later (before the next session).
public struct SetParameterValuesResponse: Hashable, Sendable {
    public var status: Int
    public init(status: Int) { self.status = status }
}

public struct GetParameterValuesResponse: Hashable, Sendable {
    public var parameterList: [ParameterValueStruct]
    public init(parameterList: [ParameterValueStruct]) { self.parameterList = parameterList }
}

public struct GetParameterNamesResponse: Hashable, Sendable {
    public var parameterList: [ParameterInfoStruct]
    public init(parameterList: [ParameterInfoStruct]) { self.parameterList = parameterList }
}

public struct GetParameterAttributesResponse: Hashable, Sendable {
    public var parameterList: [ParameterAttributeStruct]
    public init(parameterList: [ParameterAttributeStruct]) { self.parameterList = parameterList }
}

public struct AddObjectResponse: Hashable, Sendable {
    public var instanceNumber: UInt32
    public var status: Int
    public init(instanceNumber: UInt32, status: Int) {
        self.instanceNumber = instanceNumber
        self.status = status
    }
}

public struct DeleteObjectResponse: Hashable, Sendable {
    public var status: Int
    public init(status: Int) { self.status = status }
}

/// DownloadResponse and UploadResponse: Status 0 = done (times are real), 1 = not yet (times Unknown).
public struct TransferResponse: Hashable, Sendable {
    public var status: Int
    public var startTime: CWMPDateTime
    public var completeTime: CWMPDateTime
    public init(status: Int, startTime: CWMPDateTime = .unknown, completeTime: CWMPDateTime = .unknown) {
        self.status = status
        self.startTime = startTime
        self.completeTime = completeTime
    }
}

/// `QueuedTransferStruct`; State 1 not yet started, 2 in progress, 3 completed.
public struct QueuedTransfer: Hashable, Sendable {
    public var commandKey: String
    public var state: Int
    public init(commandKey: String, state: Int) {
        self.commandKey = commandKey
        self.state = state
    }
}

public struct GetQueuedTransfersResponse: Hashable, Sendable {
    public var transferList: [QueuedTransfer]
    public init(transferList: [QueuedTransfer]) { self.transferList = transferList }
}

/// `AllQueuedTransferStruct`.
public struct AllQueuedTransfer: Hashable, Sendable {
    public var commandKey: String
    public var state: Int
    public var isDownload: Bool
    public var fileType: String
    public var fileSize: UInt32
    public var targetFileName: String
    public init(commandKey: String, state: Int, isDownload: Bool, fileType: String, fileSize: UInt32,
                targetFileName: String) {
        self.commandKey = commandKey
        self.state = state
        self.isDownload = isDownload
        self.fileType = fileType
        self.fileSize = fileSize
        self.targetFileName = targetFileName
    }
}

public struct GetAllQueuedTransfersResponse: Hashable, Sendable {
    public var transferList: [AllQueuedTransfer]
    public init(transferList: [AllQueuedTransfer]) { self.transferList = transferList }
}

// MARK: - CPE → ACS requests

/// `DeviceIdStruct`: who the CPE is. OUI is six upper-case hex digits.
public struct DeviceId: Hashable, Sendable {
    public var manufacturer: String
    public var oui: String
    public var productClass: String
    public var serialNumber: String
    public init(manufacturer: String, oui: String, productClass: String, serialNumber: String) {
        self.manufacturer = manufacturer
        self.oui = oui
        self.productClass = productClass
        self.serialNumber = serialNumber
    }
}

/// `EventStruct`: an event code (`0 BOOTSTRAP`, `M Reboot`, …) and the CommandKey it carries.
public struct EventStruct: Hashable, Sendable {
    public var eventCode: String
    public var commandKey: String
    public init(eventCode: String, commandKey: String = "") {
        self.eventCode = eventCode
        self.commandKey = commandKey
    }
}

public struct Inform: Hashable, Sendable {
    public var deviceId: DeviceId
    public var events: [EventStruct]
    public var maxEnvelopes: UInt32
    public var currentTime: CWMPDateTime
    public var retryCount: UInt32
    public var parameterList: [ParameterValueStruct]

    public init(deviceId: DeviceId, events: [EventStruct], maxEnvelopes: UInt32 = 1, currentTime: CWMPDateTime,
                retryCount: UInt32, parameterList: [ParameterValueStruct]) {
        self.deviceId = deviceId
        self.events = events
        self.maxEnvelopes = maxEnvelopes
        self.currentTime = currentTime
        self.retryCount = retryCount
        self.parameterList = parameterList
    }
}

/// `FaultStruct` of TransferComplete and friends; FaultCode 0 means success.
public struct TransferFault: Hashable, Sendable {
    public var faultCode: UInt32
    public var faultString: String
    public init(faultCode: UInt32, faultString: String = "") {
        self.faultCode = faultCode
        self.faultString = faultString
    }
    public static let none = TransferFault(faultCode: 0)
}

public struct TransferComplete: Hashable, Sendable {
    public var commandKey: String
    public var fault: TransferFault
    public var startTime: CWMPDateTime
    public var completeTime: CWMPDateTime
    public init(commandKey: String, fault: TransferFault, startTime: CWMPDateTime, completeTime: CWMPDateTime) {
        self.commandKey = commandKey
        self.fault = fault
        self.startTime = startTime
        self.completeTime = completeTime
    }
}

public struct AutonomousTransferComplete: Hashable, Sendable {
    public var announceURL: String
    public var transferURL: String
    public var isDownload: Bool
    public var fileType: String
    public var fileSize: UInt32
    public var targetFileName: String
    public var fault: TransferFault
    public var startTime: CWMPDateTime
    public var completeTime: CWMPDateTime
    public init(announceURL: String, transferURL: String, isDownload: Bool, fileType: String, fileSize: UInt32,
                targetFileName: String, fault: TransferFault, startTime: CWMPDateTime, completeTime: CWMPDateTime) {
        self.announceURL = announceURL
        self.transferURL = transferURL
        self.isDownload = isDownload
        self.fileType = fileType
        self.fileSize = fileSize
        self.targetFileName = targetFileName
        self.fault = fault
        self.startTime = startTime
        self.completeTime = completeTime
    }
}

/// `OpResultStruct`: the outcome of one Deployment Unit operation.
public struct DeploymentUnitOperationResult: Hashable, Sendable {
    public var uuid: String
    public var deploymentUnitRef: String
    public var version: String
    /// `Installed`, `Uninstalled` or `Failed`.
    public var currentState: String
    public var resolved: Bool
    public var executionUnitRefList: String
    public var startTime: CWMPDateTime
    public var completeTime: CWMPDateTime
    public var fault: TransferFault
    public init(uuid: String, deploymentUnitRef: String, version: String, currentState: String, resolved: Bool,
                executionUnitRefList: String, startTime: CWMPDateTime, completeTime: CWMPDateTime,
                fault: TransferFault) {
        self.uuid = uuid
        self.deploymentUnitRef = deploymentUnitRef
        self.version = version
        self.currentState = currentState
        self.resolved = resolved
        self.executionUnitRefList = executionUnitRefList
        self.startTime = startTime
        self.completeTime = completeTime
        self.fault = fault
    }
}

public struct DUStateChangeComplete: Hashable, Sendable {
    public var results: [DeploymentUnitOperationResult]
    public var commandKey: String
    public init(results: [DeploymentUnitOperationResult], commandKey: String) {
        self.results = results
        self.commandKey = commandKey
    }
}

/// `AutonOpResultStruct`: an OpResultStruct plus the operation that was performed (`Install`, `Update`, `Uninstall`).
public struct AutonomousDeploymentUnitOperationResult: Hashable, Sendable {
    public var result: DeploymentUnitOperationResult
    public var operationPerformed: String
    public init(result: DeploymentUnitOperationResult, operationPerformed: String) {
        self.result = result
        self.operationPerformed = operationPerformed
    }
}

public struct AutonomousDUStateChangeComplete: Hashable, Sendable {
    public var results: [AutonomousDeploymentUnitOperationResult]
    public init(results: [AutonomousDeploymentUnitOperationResult]) { self.results = results }
}

/// `ArgStruct` of RequestDownload.
public struct FileTypeArgument: Hashable, Sendable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

public struct RequestDownload: Hashable, Sendable {
    public var fileType: String
    public var fileTypeArg: [FileTypeArgument]
    public init(fileType: String, fileTypeArg: [FileTypeArgument]) {
        self.fileType = fileType
        self.fileTypeArg = fileTypeArg
    }
}

public struct Kicked: Hashable, Sendable {
    public var command: String
    public var referer: String
    public var arg: String
    public var next: String
    public init(command: String, referer: String, arg: String, next: String) {
        self.command = command
        self.referer = referer
        self.arg = arg
        self.next = next
    }
}

// MARK: - ACS responses

public struct InformResponse: Hashable, Sendable {
    public var maxEnvelopes: UInt32
    public init(maxEnvelopes: UInt32 = 1) { self.maxEnvelopes = maxEnvelopes }
}

public struct KickedResponse: Hashable, Sendable {
    public var nextURL: String
    public init(nextURL: String) { self.nextURL = nextURL }
}
