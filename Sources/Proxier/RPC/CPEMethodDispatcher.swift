// Executes the CPE methods (TR-069 §A.3.2, §A.4.1) an ACS sends to one agent: parameter methods against its
// data model, the rest through its `CWMPAgentActions`. The answer is a value (`CPEMethodOutcome`): the response
// or fault to send and the follow-ups the session layer must carry out; nothing else happens behind its back.
import CWMPClient

/// Answers the ACS's requests for one agent (the gateway or one virtual device).
///
/// Faults: every error on the way — argument checks, the data model, providers, agent hooks, the deadline —
/// becomes a fault in exactly one place, `CWMPFault(converting:)` in `respond(to:within:)`. FaultStrings are the
/// spec's text or a reason about the request itself; errors the proxier does not know (a provider's socket
/// error, say) become a bare 9002.
public struct CPEMethodDispatcher: Sendable {
    /// The default time budget of one RPC: the ACS waits about 30 s for the CPE's next message, and the response
    /// still has to be encoded and sent.
    public static let defaultBudget: Duration = .seconds(25)

    public let dataModel: DataModel
    public let actions: any CWMPAgentActions
    private let clock: any Clock<Duration>

    /// `clock` measures the RPC's budget; tests pass one they control.
    public init(dataModel: DataModel, actions: any CWMPAgentActions = NoAgentActions(),
                clock: any Clock<Duration> = ContinuousClock()) {
        self.dataModel = dataModel
        self.actions = actions
        self.clock = clock
    }

    /// The methods this CPE answers, in TR-069 Table 5 order: GetRPCMethods and the parameter methods, which the
    /// data model always answers, and the agent methods the agent declares.
    public var supportedMethods: [CPEMethod] {
        let agentMethods = actions.supportedMethods
        return CPEMethod.allCases.filter { !$0.isAgentMethod || agentMethods.contains($0) }
    }

    /// Executes one ACS request within `budget` and returns what to answer. Never throws: a failure is a
    /// `.fault` response. Messages that are not CPE methods (an Inform, a response) are answered with 9000;
    /// the session layer is expected to have dealt with those itself.
    public func respond(to request: CWMPMessage, within budget: Duration = Self.defaultBudget) async -> CPEMethodOutcome {
        let result: Result<CPEMethodOutcome, FailedRPC>
        if let finished = await withDeadline(budget, on: clock, { await self.execute(request) }) {
            result = finished
        } else if Task.isCancelled {
            result = .failure(FailedRPC(ProxierError(.timedOut, "\(CWMPEncoder.rpcName(of: request)) was abandoned")))
        } else {
            result = .failure(FailedRPC(ProxierError(.timedOut,
                                                     "\(CWMPEncoder.rpcName(of: request)) did not finish within \(budget)")))
        }
        switch result {
        case .success(let outcome):
            return outcome
        case .failure(let failed):
            // The one place where errors become faults (TR-069 §A.5).
            return CPEMethodOutcome(response: .fault(CWMPFault(converting: failed.error)),
                                    followUps: failed.stateChanged ? [.saveDataModelState] : [])
        }
    }

    // MARK: - Execution

    /// An RPC's error, and whether the data model's persistent state changed on the way regardless.
    private struct FailedRPC: Error {
        var error: any Error
        var stateChanged = false

        init(_ error: any Error, stateChanged: Bool = false) {
            self.error = error
            self.stateChanged = stateChanged
        }
    }

    private func execute(_ request: CWMPMessage) async -> Result<CPEMethodOutcome, FailedRPC> {
        guard let method = CPEMethod(request: request) else {
            return .failure(FailedRPC(ProxierError(.methodNotSupported, "\(CWMPEncoder.rpcName(of: request)) is not a CPE method")))
        }
        guard !method.isAgentMethod || actions.supportedMethods.contains(method) else {
            return .failure(FailedRPC(ProxierError(.methodNotSupported, "\(method.rawValue) is not supported")))
        }
        if method.isAgentMethod {
            do {
                return .success(try await executeAgentMethod(request))
            } catch {
                return .failure(FailedRPC(error))
            }
        }
        // Any data-model RPC can change the persistent state, even a read or a failing one: instances a provider
        // lists for the first time get numbers that must survive a restart. So compare rather than guess by method.
        let before = await dataModel.exportState()
        do {
            let response = try await executeDataModelMethod(request)
            let changed = await dataModel.exportState() != before
            return .success(CPEMethodOutcome(response: response, followUps: changed ? [.saveDataModelState] : []))
        } catch {
            return .failure(FailedRPC(error, stateChanged: await dataModel.exportState() != before))
        }
    }

    private func executeDataModelMethod(_ request: CWMPMessage) async throws -> CWMPMessage {
        switch request {
        case .getRPCMethods:
            return .getRPCMethodsResponse(GetRPCMethodsResponse(methodList: supportedMethods.map(\.rawValue)))
        case .getParameterNames(let request):
            let list = try await dataModel.getParameterNames(path: request.parameterPath, nextLevel: request.nextLevel)
            return .getParameterNamesResponse(GetParameterNamesResponse(parameterList: list))
        case .getParameterValues(let request):
            // An empty ParameterNames array is valid (the XSD allows zero items) and asks for nothing.
            let list = try await dataModel.getParameterValues(request.parameterNames)
            return .getParameterValuesResponse(GetParameterValuesResponse(parameterList: list))
        case .setParameterValues(let request):
            // ParameterKey length and parameters named twice are checked by the engine (9003).
            let status = try await dataModel.setParameterValues(request.parameterList, parameterKey: request.parameterKey,
                                                                origin: .acs)
            return .setParameterValuesResponse(SetParameterValuesResponse(status: status.rawValue))
        case .getParameterAttributes(let request):
            let list = try await dataModel.getParameterAttributes(request.parameterNames)
            return .getParameterAttributesResponse(GetParameterAttributesResponse(parameterList: list))
        case .setParameterAttributes(let request):
            try await dataModel.setParameterAttributes(request.parameterList)
            return .setParameterAttributesResponse
        case .addObject(let request):
            let added = try await dataModel.addObject(request.objectName, parameterKey: request.parameterKey)
            return .addObjectResponse(AddObjectResponse(instanceNumber: added.instanceNumber, status: added.status.rawValue))
        case .deleteObject(let request):
            let status = try await dataModel.deleteObject(request.objectName, parameterKey: request.parameterKey)
            return .deleteObjectResponse(DeleteObjectResponse(status: status.rawValue))
        default:
            throw ProxierError(.methodNotSupported, "\(CWMPEncoder.rpcName(of: request)) is not a data model method")
        }
    }

    private func executeAgentMethod(_ request: CWMPMessage) async throws -> CPEMethodOutcome {
        switch request {
        case .reboot(let request):
            try Self.checkCommandKey(request.commandKey)
            return CPEMethodOutcome(response: .rebootResponse,
                                    followUps: [.rebootAfterSession(commandKey: request.commandKey)])
        case .factoryReset:
            return CPEMethodOutcome(response: .factoryResetResponse, followUps: [.factoryResetAfterSession])
        case .scheduleInform(let request):
            try Self.checkCommandKey(request.commandKey)
            // TR-069 Table A.4.1.4 gives DelaySeconds as unsignedInt[1:] ?: an Inform "in 0 s" is not scheduled.
            guard request.delaySeconds > 0 else {
                throw ProxierError(.invalidArguments, "DelaySeconds must be at least 1")
            }
            return CPEMethodOutcome(response: .scheduleInformResponse, followUps: [
                .scheduleInform(delay: .seconds(request.delaySeconds), commandKey: request.commandKey),
            ])
        case .download(let request):
            try Self.checkCommandKey(request.commandKey)
            let response = try await actions.startDownload(request)
            try Self.checkTransferResponse(response, of: "Download")
            return CPEMethodOutcome(response: .downloadResponse(response))
        case .upload(let request):
            try Self.checkCommandKey(request.commandKey)
            let response = try await actions.startUpload(request)
            try Self.checkTransferResponse(response, of: "Upload")
            return CPEMethodOutcome(response: .uploadResponse(response))
        case .scheduleDownload(let request):
            try Self.checkCommandKey(request.commandKey)
            try Self.checkTimeWindows(request.timeWindowList)
            try await actions.scheduleDownload(request)
            return CPEMethodOutcome(response: .scheduleDownloadResponse)
        case .cancelTransfer(let request):
            try Self.checkCommandKey(request.commandKey)
            try await actions.cancelTransfer(commandKey: request.commandKey)
            return CPEMethodOutcome(response: .cancelTransferResponse)
        case .getQueuedTransfers:
            let list = try await queuedTransfers()
            return CPEMethodOutcome(response: .getQueuedTransfersResponse(GetQueuedTransfersResponse(
                transferList: list.map { QueuedTransfer(commandKey: $0.commandKey, state: $0.state) })))
        case .getAllQueuedTransfers:
            let list = try await queuedTransfers()
            return CPEMethodOutcome(response: .getAllQueuedTransfersResponse(GetAllQueuedTransfersResponse(transferList: list)))
        case .changeDUState(let request):
            try Self.checkCommandKey(request.commandKey)
            guard !request.operations.isEmpty else {
                throw ProxierError(.invalidArguments, "ChangeDUState without Operations")
            }
            try await actions.changeDUState(request)
            return CPEMethodOutcome(response: .changeDUStateResponse)
        default:
            throw ProxierError(.methodNotSupported, "\(CWMPEncoder.rpcName(of: request)) is not an agent method")
        }
    }

    /// The agent's queue as the ACS may see it: TransferList holds at most 16 entries (cwmp-1-x.xsd), so the
    /// oldest 16 are listed (the agent lists in queue order); states are 1 not started, 2 in progress, 3 done.
    private func queuedTransfers() async throws -> [AllQueuedTransfer] {
        let list = try await actions.queuedTransfers()
        guard list.allSatisfy({ (1...3).contains($0.state) }) else {
            throw ProxierError(.providerFailure, "the agent listed a transfer in an undefined state")
        }
        return Array(list.prefix(16))
    }

    // MARK: - Argument checks the data model does not make

    /// CommandKey is `string(32)` in every cwmp XSD. It is echoed back in an EventStruct, which the encoder refuses
    /// to write beyond 32 characters, so a longer one accepted now would block the Inform that reports it.
    /// XML Schema counts characters as Unicode scalars, not grapheme clusters.
    static func checkCommandKey(_ commandKey: String) throws(ProxierError) {
        guard commandKey.unicodeScalars.count <= 32 else {
            throw ProxierError(.invalidArguments, "CommandKey longer than 32 characters")
        }
    }

    /// ScheduleDownload windows (§A.4.1.8): one or two, each ending no earlier than it starts ?, not
    /// overlapping, with a defined WindowMode (`1`–`4` or a vendor `X …` mode).
    static func checkTimeWindows(_ windows: [TimeWindow]) throws(ProxierError) {
        guard (1...2).contains(windows.count) else {
            throw ProxierError(.invalidArguments, "TimeWindowList must hold one or two windows")
        }
        let modes: Set<String> = ["1 At Any Time", "2 Immediately", "3 When Idle", "4 Confirmation Needed"]
        for window in windows {
            guard window.windowEnd >= window.windowStart else {
                throw ProxierError(.invalidArguments, "a time window ends before it starts")
            }
            guard modes.contains(window.windowMode) || window.windowMode.hasPrefix("X ") else {
                throw ProxierError(.invalidArguments, "WindowMode \(window.windowMode.debugDescription) is not defined")
            }
            guard window.maxRetries >= -1 else {
                throw ProxierError(.invalidArguments, "MaxRetries below -1")
            }
        }
        if windows.count == 2, max(windows[0].windowStart, windows[1].windowStart) < min(windows[0].windowEnd, windows[1].windowEnd) {
            throw ProxierError(.invalidArguments, "the time windows overlap")
        }
    }

    /// DownloadResponse/UploadResponse Status is 0 or 1 (cwmp-1-x.xsd); anything else is the agent's bug.
    static func checkTransferResponse(_ response: TransferResponse, of method: String) throws(ProxierError) {
        guard response.status == 0 || response.status == 1 else {
            throw ProxierError(.providerFailure, "the agent answered \(method) with an undefined Status")
        }
    }
}
