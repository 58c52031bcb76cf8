// What a CPE method leaves for the session layer to do, and the hooks through which the RPC layer reaches the
// parts of an agent that are not its data model (file transfers, deployment units).
//
// Reboot, FactoryReset and ScheduleInform change nothing while the session runs: TR-069 has the CPE reboot or
// reset after the session ends and inform again later. The dispatcher therefore only describes them
// (`CPEFollowUp`) and the caller, which owns the session and the event queue, carries them out. Transfers and
// deployment units need an answer from the agent during the RPC (a TransferResponse, a queue listing, fault
// 9021), so they are hooks.
import CWMPClient

/// The agent-side hooks of the CPE methods whose effect lives outside the data model. Each agent (the gateway, a
/// virtual device) implements the ones it can; the dispatcher answers every method the agent does not list in
/// `supportedMethods` with fault 9000 and leaves it out of GetRPCMethodsResponse.
///
/// Hooks throw whatever they like: a `CWMPFaultConvertible` error becomes its fault (e.g. 9013 for an
/// unsupported URL scheme, 9021 for a transfer that cannot be cancelled), anything else 9002 with no detail.
public protocol CWMPAgentActions: Sendable {
    /// The agent methods (`CPEMethod.isAgentMethod`) this agent implements. Reboot, FactoryReset and
    /// ScheduleInform need no hook: listing them promises that the caller acts on their `CPEFollowUp`.
    var supportedMethods: Set<CPEMethod> { get }

    /// Download (§A.3.2.8): start (or finish) the transfer. Status 0 with real times when the file is already
    /// downloaded and applied; 1 with Unknown Times when it will complete later — the agent then owes the ACS a
    /// `7 TRANSFER COMPLETE` + `M Download` Inform and a TransferComplete.
    func startDownload(_ request: Download) async throws -> TransferResponse

    /// Upload (§A.4.1.5), answered like Download (`M Upload` when it completes later).
    func startUpload(_ request: Upload) async throws -> TransferResponse

    /// ScheduleDownload (§A.4.1.8): queue the download for its time windows (already checked by the dispatcher).
    func scheduleDownload(_ request: ScheduleDownload) async throws

    /// CancelTransfer (§A.4.1.9): cancel the queued transfers with this CommandKey; fault 9021 when one has gone
    /// too far to be cancelled.
    func cancelTransfer(commandKey: String) async throws

    /// The transfers the ACS requested that are not yet complete (or completed and not yet reported), for
    /// GetAllQueuedTransfers and the deprecated GetQueuedTransfers.
    func queuedTransfers() async throws -> [AllQueuedTransfer]

    /// ChangeDUState (§A.4.1.10): start the operations; the agent reports them later with
    /// `11 DU STATE CHANGE COMPLETE` + `M ChangeDUState` and DUStateChangeComplete.
    func changeDUState(_ request: ChangeDUState) async throws
}

extension CWMPAgentActions {
    // Defaults for agents that leave methods out of `supportedMethods`: the dispatcher never calls them then,
    // and one that lists a method without implementing its hook still answers 9000 rather than failing to build.
    public func startDownload(_ request: Download) async throws -> TransferResponse { throw Self.notSupported(.download) }
    public func startUpload(_ request: Upload) async throws -> TransferResponse { throw Self.notSupported(.upload) }
    public func scheduleDownload(_ request: ScheduleDownload) async throws { throw Self.notSupported(.scheduleDownload) }
    public func cancelTransfer(commandKey: String) async throws { throw Self.notSupported(.cancelTransfer) }
    public func queuedTransfers() async throws -> [AllQueuedTransfer] { throw Self.notSupported(.getAllQueuedTransfers) }
    public func changeDUState(_ request: ChangeDUState) async throws { throw Self.notSupported(.changeDUState) }

    private static func notSupported(_ method: CPEMethod) -> ProxierError {
        ProxierError(.methodNotSupported, "\(method.rawValue) is not supported")
    }
}

/// An agent with nothing outside its data model: it answers GetRPCMethods and the parameter methods only.
public struct NoAgentActions: CWMPAgentActions {
    public init() {}
    public var supportedMethods: Set<CPEMethod> { [] }
}

/// Something the caller must do once the RPC has been answered. None of it has happened yet.
public enum CPEFollowUp: Hashable, Sendable {
    /// Reboot when the session has ended successfully (Reboot, §A.3.2.9). The next Inform carries `1 BOOT` and
    /// `M Reboot` with this CommandKey, so the event must be queued persistently before rebooting.
    case rebootAfterSession(commandKey: String)
    /// Restore the factory state when the session has ended (FactoryReset, §A.4.1.6); this discards the data
    /// model's state, ParameterKey included. The next Inform carries `0 BOOTSTRAP` and `1 BOOT`.
    case factoryResetAfterSession
    /// Open a session `delay` after the ScheduleInform call (§A.4.1.4), carrying `3 SCHEDULED` and
    /// `M ScheduleInform` with this CommandKey. Several ScheduleInforms are several follow-ups.
    case scheduleInform(delay: Duration, commandKey: String)
    /// The data model's persistent state changed (ParameterKey, instance numbers, aliases, attributes): save
    /// `DataModel.exportState()`. TR-069 Status 0 means "committed", so save before sending the response.
    /// Also after a fault: a read that failed may still have numbered instances it listed. An RPC abandoned at
    /// its deadline may change the state after its 9002 has been sent; saving once more when the session ends
    /// covers that.
    case saveDataModelState

    /// The events that report this follow-up in the Inform it leads to (TR-069 §3.7.1.5), in EventStruct form.
    public var events: [EventStruct] {
        switch self {
        case .rebootAfterSession(let commandKey):
            [EventStruct(eventCode: "1 BOOT"), EventStruct(eventCode: "M Reboot", commandKey: commandKey)]
        case .factoryResetAfterSession:
            [EventStruct(eventCode: "0 BOOTSTRAP"), EventStruct(eventCode: "1 BOOT")]
        case .scheduleInform(_, let commandKey):
            [EventStruct(eventCode: "3 SCHEDULED"), EventStruct(eventCode: "M ScheduleInform", commandKey: commandKey)]
        case .saveDataModelState:
            []
        }
    }
}

/// The answer to one ACS request: the message to send back (a response or `.fault`) and what to do afterwards.
/// A fault has no follow-up other than `.saveDataModelState`: a failed RPC leaves nothing else to act on.
public struct CPEMethodOutcome: Hashable, Sendable {
    public var response: CWMPMessage
    public var followUps: [CPEFollowUp]

    public init(response: CWMPMessage, followUps: [CPEFollowUp] = []) {
        self.response = response
        self.followUps = followUps
    }

    /// The fault, when the RPC failed.
    public var fault: CWMPFault? {
        if case .fault(let fault) = response { fault } else { nil }
    }
}
