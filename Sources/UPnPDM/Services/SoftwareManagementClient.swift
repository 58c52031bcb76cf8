// SoftwareManagement:2 (upnp-dm.md §4). Every change (Install, Update, Uninstall, Start, Stop) is asynchronous: the
// action answers an OperationID, and GetOperationInfo (polled, or prompted by the evented OperationIDs variable)
// tells when it is Completed or in Error and which DUs/EUs it targeted. `DUType=Firmware` carries firmware
// upgrades (CWMP Download FileType 1).

/// `A_ARG_TYPE_DUType`.
public struct SMSDUType: DMOpenEnumeration {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let firmware = Self(rawValue: "Firmware")
    public static let application = Self(rawValue: "Application")
    public static let configuration = Self(rawValue: "Configuration")
    public static let other = Self(rawValue: "Other")
}

/// `A_ARG_TYPE_OperationState`.
public struct SMSOperationState: DMOpenEnumeration {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let requested = Self(rawValue: "Requested")
    public static let inProgress = Self(rawValue: "InProgress")
    public static let completed = Self(rawValue: "Completed")
    public static let error = Self(rawValue: "Error")

    public var isFinal: Bool { self == .completed || self == .error }
}

/// `A_ARG_TYPE_Action`.
public struct SMSAction: DMOpenEnumeration {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let install = Self(rawValue: "Install")
    public static let update = Self(rawValue: "Update")
    public static let uninstall = Self(rawValue: "Uninstall")
    public static let start = Self(rawValue: "Start")
    public static let stop = Self(rawValue: "Stop")
}

/// `A_ARG_TYPE_ErrorDescription`.
public struct SMSErrorDescription: DMOpenEnumeration {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let none = Self(rawValue: "Error_None")
    public static let concurrentAccess = Self(rawValue: "Error_ConcurrentAccess")
    public static let missingDependency = Self(rawValue: "Error_MissingDependency")
    public static let network = Self(rawValue: "Error_Network")
    public static let corruptedFile = Self(rawValue: "Error_CorruptedFile")
    public static let diskFull = Self(rawValue: "Error_DiskFull")
    public static let other = Self(rawValue: "Error_Other")
}

/// GetOperationInfo's out-arguments.
public struct SMSOperationInfo: Hashable, Sendable {
    public var operationState: SMSOperationState
    /// The DUIDs or EUIDs the operation acted on (CSV on the wire).
    public var targetedIDs: [UInt32]
    public var action: SMSAction
    public var errorDescription: SMSErrorDescription
    public var additionalInfo: String
}

/// GetDUInfo's out-arguments.
public struct SMSDUInfo: Hashable, Sendable {
    public var name: String
    public var version: String
    public var type: SMSDUType
    /// `Installing`, `Unresolved`, `Installed`, `Uninstalling`, `Uninstalled`.
    public var state: String
    public var uri: String
}

/// GetEUInfo's out-arguments.
public struct SMSEUInfo: Hashable, Sendable {
    public var name: String
    public var version: String
    /// `Active` or `Inactive`.
    public var requestedState: String
    /// `Running`, `Stopped`, `Starting`, `Stopping`.
    public var runningState: String
}

/// A typed client of one device's SoftwareManagement service.
public struct SoftwareManagementClient: Sendable {
    public static let serviceType = "urn:schemas-upnp-org:service:SoftwareManagement:2"

    public let invoker: any UPnPActionInvoking
    public let service: UPnPServiceEndpoint

    public init(invoker: any UPnPActionInvoking, service: UPnPServiceEndpoint) {
        self.invoker = invoker
        self.service = service
    }

    /// Where to run a sequence of this service's actions (the device's event loop; see
    /// `UPnPActionInvoking.preferredExecutor(for:)`), nil when it does not matter.
    public var preferredExecutor: (any TaskExecutor)? { invoker.preferredExecutor(for: service) }

    private func call(_ action: String, _ arguments: [(String, String)] = []) async throws -> DMActionAnswer {
        try await invoker.call(action, arguments, on: service)
    }

    /// Install(DUURI, DUType, HandleDependencies) → OperationID.
    public func install(url: String, duType: SMSDUType, handleDependencies: Bool = true) async throws -> UInt32 {
        try await call("Install", [("DUURI", url), ("DUType", duType.rawValue),
                                   ("HandleDependencies", DMValues.text(handleDependencies))]).ui4("OperationID")
    }

    /// Update(DUID, NewDUURI, HandleDependencies) → OperationID.
    public func update(duID: UInt32, newURL: String, handleDependencies: Bool = true) async throws -> UInt32 {
        try await call("Update", [("DUID", String(duID)), ("NewDUURI", newURL),
                                  ("HandleDependencies", DMValues.text(handleDependencies))]).ui4("OperationID")
    }

    /// Uninstall(DUID, HandleDependencies) → OperationID.
    public func uninstall(duID: UInt32, handleDependencies: Bool = true) async throws -> UInt32 {
        try await call("Uninstall", [("DUID", String(duID)), ("HandleDependencies", DMValues.text(handleDependencies))])
            .ui4("OperationID")
    }

    /// Start(EUID, HandleDependencies) → OperationID.
    public func start(euID: UInt32, handleDependencies: Bool = true) async throws -> UInt32 {
        try await call("Start", [("EUID", String(euID)), ("HandleDependencies", DMValues.text(handleDependencies))])
            .ui4("OperationID")
    }

    /// Stop(EUID, HandleDependencies) → OperationID.
    public func stop(euID: UInt32, handleDependencies: Bool = true) async throws -> UInt32 {
        try await call("Stop", [("EUID", String(euID)), ("HandleDependencies", DMValues.text(handleDependencies))])
            .ui4("OperationID")
    }

    public func getDUIDs() async throws -> [UInt32] { try await call("GetDUIDs").ui4List("DUIDs") }
    public func getEUIDs() async throws -> [UInt32] { try await call("GetEUIDs").ui4List("EUIDs") }
    public func getActiveEUIDs() async throws -> [UInt32] { try await call("GetActiveEUIDs").ui4List("ActiveEUIDs") }
    public func getRunningEUIDs() async throws -> [UInt32] { try await call("GetRunningEUIDs").ui4List("RunningEUIDs") }
    public func getErrorEUIDs() async throws -> [UInt32] { try await call("GetErrorEUIDs").ui4List("ErrorEUIDs") }
    public func getOperationIDs() async throws -> [UInt32] { try await call("GetOperationIDs").ui4List("OperationIDs") }

    /// GetOperationInfo(OperationID).
    public func getOperationInfo(operationID: UInt32) async throws -> SMSOperationInfo {
        let answer = try await call("GetOperationInfo", [("OperationID", String(operationID))])
        return SMSOperationInfo(
            operationState: SMSOperationState(rawValue: try answer.token("OperationState")),
            targetedIDs: try answer.ui4List("TargetedIDs"), action: SMSAction(rawValue: try answer.token("Action")),
            errorDescription: SMSErrorDescription(rawValue: try answer.token("ErrorDescription")),
            additionalInfo: try answer.string("AdditionalInfo"))
    }

    /// GetDUInfo(DUID) (optional).
    public func getDUInfo(duID: UInt32) async throws -> SMSDUInfo {
        let answer = try await call("GetDUInfo", [("DUID", String(duID))])
        return SMSDUInfo(name: try answer.string("DUName"), version: try answer.string("DUVersion"),
                         type: SMSDUType(rawValue: try answer.token("DUType")), state: try answer.token("DUState"),
                         uri: try answer.token("DUURI"))
    }

    /// GetEUInfo(EUID) (optional).
    public func getEUInfo(euID: UInt32) async throws -> SMSEUInfo {
        let answer = try await call("GetEUInfo", [("EUID", String(euID))])
        return SMSEUInfo(name: try answer.string("EUName"), version: try answer.string("EUVersion"),
                         requestedState: try answer.token("EURequestedState"), runningState: try answer.token("EURunningState"))
    }

    /// The OperationID flow's wait: polls GetOperationInfo every `interval` until the operation is Completed or in
    /// Error, at most `maximumPolls` times, and returns the final information. `sleep` is an input (tests need no
    /// wall clock). Throws `.deadlineExceeded` when the operation is still running after the last poll.
    public func waitForOperation(operationID: UInt32, interval: Duration = .seconds(1), maximumPolls: Int = 300,
                                 sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) })
        async throws -> SMSOperationInfo {
        for poll in 0..<max(1, maximumPolls) {
            if poll > 0 { try await sleep(interval) }
            let info = try await getOperationInfo(operationID: operationID)
            if info.operationState.isFinal { return info }
        }
        throw UPnPDMError(.deadlineExceeded, "operation \(operationID) did not finish within \(maximumPolls) polls")
    }
}
