// One CWMP session seen from the CPE (TR-069 §3.7, cwmp.md §6), as a pure state machine in the style of
// postgres-nio's ConnectionStateMachine: every input is a mutating func returning one `Action`; a thin shell
// does the HTTP, the timer and the data-model calls. Nothing here reads a clock, does I/O or allocates per
// message beyond the envelopes it returns, so thousands of virtual devices (TR-069 Annex J.2) each hold one.
//
// Flow (MaxEnvelopes 1: one envelope per HTTP message):
//
//     start ──▶ POST Inform ──▶ InformResponse ──▶ POST each CPE request (unless HoldRequests) ──▶ POST empty
//                                                    ▲                                             │
//                                                    └── ACS answered empty (204 / empty 200) ◀────┤
//     ACS request in the HTTP response ──▶ executeACSRequest ──▶ acsRequestHandled ──▶ POST response ┘
//     nothing left on either side and HoldRequests not true ──▶ finish(success)
//
// What stays in the transport, below this machine: HTTP authentication (a 401 challenge is answered by resending
// the same message with credentials, cwmp.md §6 rule 8), redirects (rule 9), cookies (rule 7), and reconnecting
// when the TCP connection closes mid-session. Only their final failures reach `httpResponseReceived` (a 401 the
// transport gave up on is an HTTP error like any other) or `transportFailed`.

/// The CPE side of one CWMP session. Create one per session; it ends in `.finish(SessionOutcome)`.
public struct CWMPSessionStateMachine: Sendable {
    public struct Configuration: Hashable, Sendable {
        /// How long the CPE waits for each ACS HTTP response (30 s, cwmp.md §6 rule 6). Armed by every post.
        public var waitTimeout: Duration
        /// The versions offered in SupportedCWMPVersions; the Inform goes out in the namespace of the highest.
        /// The header itself is only sent when 1.4 is offered (it is a CWMP 1.4 header).
        public var supportedVersions: [CWMPVersion]
        /// The SessionTimeout header (CWMP 1.3+) for the Inform, nil to leave it out.
        public var sessionTimeout: UInt32?
        /// How many times one CPE request is resent in a session after ACS fault 8005 "Retry request" before it
        /// is left for the next session: a busy ACS must not make the session loop forever.
        public var maximumRetryRequestResends: Int
        /// Prepended to the counter that makes `cwmp:ID`s of CPE requests (unique within the session).
        public var idPrefix: String

        public init(waitTimeout: Duration = .seconds(30),
                    supportedVersions: [CWMPVersion] = [.v1_0, .v1_1, .v1_2, .v1_3, .v1_4],
                    sessionTimeout: UInt32? = nil, maximumRetryRequestResends: Int = 2, idPrefix: String = "cpe-") {
            self.waitTimeout = waitTimeout
            self.supportedVersions = supportedVersions
            self.sessionTimeout = sessionTimeout
            self.maximumRetryRequestResends = maximumRetryRequestResends
            self.idPrefix = idPrefix
        }
    }

    /// What the shell must do next. Every post (re)arms the wait timer with `waitTimeout`; the shell cancels
    /// it when the HTTP response arrives and reports `timeoutFired` if it fires first.
    public enum Action: Hashable, Sendable {
        /// POST this envelope as the next HTTP request of the session.
        case postEnvelope(CWMPEnvelope, waitTimeout: Duration)
        /// POST an empty body (Content-Length 0): the CPE has nothing (more) to send (cwmp.md §6 rule 4).
        case postEmpty(waitTimeout: Duration)
        /// Run this ACS request against the data model, then call `acsRequestHandled` with the response or fault.
        case executeACSRequest(CWMPMessage)
        /// The session is over; close the connection and hand the outcome to the agent.
        case finish(SessionOutcome)
        /// Nothing to do (a late timer or a duplicate report after the session ended).
        case none
    }

    /// What the CPE last posted, i.e. what the pending HTTP response answers.
    private enum Posted: Hashable, Sendable {
        case inform
        case cpeRequest
        case empty
        case acsResponse
    }

    private enum State: Hashable, Sendable {
        case idle
        case awaitingResponse(Posted)
        /// An ACS request is with the data model; its `cwmp:ID` is echoed in the response.
        case executing(request: CWMPMessage, id: String?)
        case finished
    }

    public let configuration: Configuration
    private var state: State = .idle
    private var informEvents: [EventStruct] = []
    private var informAcknowledged = false
    /// CPE requests still to send, the first one being in flight while `state == .awaitingResponse(.cpeRequest)`.
    private var pendingRequests: [CPERequest] = []
    private var deferredRequests: [CPERequest] = []
    private var deliveredRequests: [CPERequest] = []
    private var rejectedRequests: [RejectedRequest] = []
    private var resendsOfCurrentRequest = 0
    /// HoldRequests as carried by the most recent ACS envelope; an empty ACS message carries none, so false.
    private var holdRequests = false
    private var cwmpVersion: CWMPVersion?
    private var namespace: CWMPNamespace
    private var lastID: UInt64 = 0
    private var postSessionAction: PostSessionAction?

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.namespace = (configuration.supportedVersions.max() ?? .v1_2).namespace
    }

    /// The version agreed with the ACS, once the InformResponse has arrived.
    public var negotiatedVersion: CWMPVersion? { cwmpVersion }
    /// The namespace of everything the CPE sends from now on.
    public var currentNamespace: CWMPNamespace { namespace }
    public var isFinished: Bool { state == .finished }

    // MARK: - Inputs

    /// Opens the session: the Inform goes first, alone (TR-069 §3.7.1.1 ?), with MaxEnvelopes 1. The agent has
    /// already put the events (at most 64) and RetryCount into it; `pendingRequests` are sent in this order.
    public mutating func start(inform: Inform, pendingRequests: [CPERequest]) -> Action {
        guard case .idle = state else { return unexpectedInput("start") }
        var inform = inform
        inform.maxEnvelopes = 1
        informEvents = inform.events
        self.pendingRequests = pendingRequests
        let highest = configuration.supportedVersions.max() ?? .v1_2
        let header = CWMPHeader(
            id: nextID(),
            sessionTimeout: highest >= .v1_3 ? configuration.sessionTimeout : nil,
            supportedCWMPVersions: highest >= .v1_4 ? configuration.supportedVersions.sorted() : nil)
        state = .awaitingResponse(.inform)
        return .postEnvelope(CWMPEnvelope(namespace: namespace, header: header, message: .inform(inform)),
                             waitTimeout: configuration.waitTimeout)
    }

    /// The ACS answered the last post. `envelope` is nil for an empty body (and ignored for 204); `retryAfter`
    /// is the parsed Retry-After header, passed on with an HTTP error so the retry policy honours it.
    public mutating func httpResponseReceived(statusCode: Int, envelope: CWMPEnvelope?,
                                              retryAfter: Duration? = nil) -> Action {
        guard case .awaitingResponse(let posted) = state else { return lateInput() }
        guard (200...299).contains(statusCode) else {
            return fail(.httpError(status: statusCode, retryAfter: retryAfter))
        }
        let envelope = statusCode == 204 ? nil : envelope

        switch posted {
        case .inform:
            guard let envelope else { return fail(.protocolViolation("empty answer to the Inform")) }
            switch envelope.message {
            case .informResponse:
                if let failure = negotiateVersion(envelope) { return fail(failure) }
                informAcknowledged = true
                holdRequests = envelope.header.holdRequests == true
                return sendNextRequestOrEmpty()
            case .fault(let fault):
                return fail(.informFault(fault))
            default:
                // Includes an ACS request before the InformResponse: the ACS must not send one (cwmp.md §6 rule 2).
                return fail(.protocolViolation("\(envelope.message.rpcName) instead of InformResponse"))
            }

        case .cpeRequest:
            let request = pendingRequests[0]
            guard let envelope else {
                return fail(.protocolViolation("empty answer to \(request.message.rpcName)"))
            }
            holdRequests = envelope.header.holdRequests == true
            if request.isAnswered(by: envelope.message) {
                deliveredRequests.append(pendingRequests.removeFirst())
                resendsOfCurrentRequest = 0
                return sendNextRequestOrEmpty()
            }
            guard case .fault(let fault) = envelope.message else {
                return fail(.protocolViolation("\(envelope.message.rpcName) in answer to \(request.message.rpcName)"))
            }
            if fault.code == .acsRetryRequest {
                // 8005: the CPE must send the same request again (cwmp.md §6 rule 10). Resent at once, a bounded
                // number of times; then it waits for the next session instead of looping on a busy ACS.
                if resendsOfCurrentRequest < configuration.maximumRetryRequestResends {
                    resendsOfCurrentRequest += 1
                } else {
                    deferredRequests.append(pendingRequests.removeFirst())
                    resendsOfCurrentRequest = 0
                }
            } else {
                // Any other fault (8000–8004, 8006, vendor): the ACS received the request and refused it. TR-069
                // only asks for a resend on 8005 and a resend would be refused again, so the request is reported
                // as rejected and the agent drops it (as catawampus and icwmp do).
                rejectedRequests.append(RejectedRequest(request: pendingRequests.removeFirst(), fault: fault))
                resendsOfCurrentRequest = 0
            }
            return sendNextRequestOrEmpty()

        case .empty, .acsResponse:
            guard let envelope else {
                // The ACS has nothing more (204 or empty 200). An empty message carries no HoldRequests, so the
                // CPE may send what it still holds; with nothing left the session ends (cwmp.md §6 rule 5).
                holdRequests = false
                if pendingRequests.isEmpty { return finishCleanly() }
                return sendNextRequestOrEmpty()
            }
            holdRequests = envelope.header.holdRequests == true
            guard envelope.message.isACSRequest else {
                return fail(.protocolViolation("\(envelope.message.rpcName) where an ACS request or nothing was due"))
            }
            state = .executing(request: envelope.message, id: envelope.header.id)
            return .executeACSRequest(envelope.message)
        }
    }

    /// The ACS sent a request the decoder could not turn into a message: an unknown or vendor method (→ fault
    /// 9000) or bad arguments (→ 9003, …). The CPE answers with the fault, echoing the ID, and goes on. The same
    /// failure in answer to the Inform or a CPE request ends the session: no ACS request was due there.
    public mutating func undecodableMessageReceived(statusCode: Int, header: CWMPHeader, error: CWMPError,
                                                    retryAfter: Duration? = nil) -> Action {
        guard case .awaitingResponse(let posted) = state else { return lateInput() }
        guard (200...299).contains(statusCode) else {
            return fail(.httpError(status: statusCode, retryAfter: retryAfter))
        }
        switch posted {
        case .inform, .cpeRequest:
            return fail(.protocolViolation("undecodable answer (\(error.code))"))
        case .empty, .acsResponse:
            holdRequests = header.holdRequests == true
            return postResponse(.fault(CWMPFault(converting: error)), id: header.id)
        }
    }

    /// The data model has executed the ACS request; `response` is its response message or `.fault(…)`.
    public mutating func acsRequestHandled(_ response: CWMPMessage) -> Action {
        guard case .executing(let request, let id) = state else { return unexpectedInput("acsRequestHandled") }
        switch (request, response) {
        case (.reboot(let reboot), .rebootResponse):
            // A factory reset already accepted in this session wins: it reboots anyway.
            if postSessionAction != .factoryReset { postSessionAction = .reboot(commandKey: reboot.commandKey) }
        case (.factoryReset, .factoryResetResponse):
            postSessionAction = .factoryReset
        default:
            break
        }
        return postResponse(response, id: id)
    }

    /// The wait timer armed by the last post fired before the ACS answered.
    public mutating func timeoutFired() -> Action {
        guard case .awaitingResponse = state else { return lateInput() }
        return fail(.timedOut)
    }

    /// The connection failed (connect, TLS, reset, or a POST that could not be written).
    public mutating func transportFailed(_ error: any Error) -> Action {
        switch state {
        case .awaitingResponse, .executing:
            return fail(.transportFailed(String(describing: error)))
        case .idle, .finished:
            return lateInput()
        }
    }

    // MARK: - Steps

    /// After the InformResponse or the ACS's answer to a CPE request: the next CPE request unless held,
    /// else an empty POST that gives the ACS the turn.
    private mutating func sendNextRequestOrEmpty() -> Action {
        if !holdRequests, let request = pendingRequests.first {
            state = .awaitingResponse(.cpeRequest)
            let envelope = CWMPEnvelope(namespace: namespace, header: CWMPHeader(id: nextID()),
                                        message: request.message)
            return .postEnvelope(envelope, waitTimeout: configuration.waitTimeout)
        }
        state = .awaitingResponse(.empty)
        return .postEmpty(waitTimeout: configuration.waitTimeout)
    }

    private mutating func postResponse(_ message: CWMPMessage, id: String?) -> Action {
        state = .awaitingResponse(.acsResponse)
        // The response echoes the request's cwmp:ID (cwmp.md §2), in the namespace agreed for the session.
        let envelope = CWMPEnvelope(namespace: namespace, header: CWMPHeader(id: id), message: message)
        return .postEnvelope(envelope, waitTimeout: configuration.waitTimeout)
    }

    /// CWMP 1.4 negotiation (cwmp.md §1): adopt UseCWMPVersion if the ACS sent one (it must be one we offered),
    /// else infer the version from the namespace the ACS answered in (1-0 → 1.0, 1-1 → 1.1, 1-2 → the highest
    /// offered version below 1.3, since 1.3/1.4 are only agreed through the header).
    private mutating func negotiateVersion(_ envelope: CWMPEnvelope) -> SessionFailure? {
        let offered = configuration.supportedVersions
        let version: CWMPVersion
        if let use = envelope.header.useCWMPVersion {
            guard offered.contains(use) else { return .protocolViolation("UseCWMPVersion \(use) was not offered") }
            version = use
        } else {
            guard let inferred = offered.filter({ $0.namespace == envelope.namespace && $0 < .v1_3 }).max() else {
                return .protocolViolation("InformResponse in \(envelope.namespace.rawValue), not offered")
            }
            version = inferred
        }
        cwmpVersion = version
        namespace = version.namespace
        return nil
    }

    private mutating func finishCleanly() -> Action {
        state = .finished
        return .finish(SessionOutcome(
            deliveredEvents: informEvents, informAcknowledged: true, deliveredRequests: deliveredRequests,
            rejectedRequests: rejectedRequests, undeliveredRequests: pendingRequests + deferredRequests,
            cwmpVersion: cwmpVersion, postSessionAction: postSessionAction))
    }

    /// A failed session still reports what was delivered before it failed; a Reboot or FactoryReset accepted
    /// in it is dropped, since the brief of this machine is to run them only after a clean end (the ACS learns
    /// from the missing `1 BOOT` + `M Reboot` that it did not happen and can ask again).
    private mutating func fail(_ failure: SessionFailure) -> Action {
        state = .finished
        return .finish(SessionOutcome(
            failure: failure, deliveredEvents: informAcknowledged ? informEvents : [],
            informAcknowledged: informAcknowledged, deliveredRequests: deliveredRequests,
            rejectedRequests: rejectedRequests, undeliveredRequests: pendingRequests + deferredRequests,
            cwmpVersion: cwmpVersion, postSessionAction: nil))
    }

    private mutating func nextID() -> String {
        lastID += 1
        return configuration.idPrefix + String(lastID)
    }

    /// A report that can legitimately arrive after the fact (a timer racing the response, a second failure
    /// report of the same connection): ignored.
    private func lateInput() -> Action { .none }

    /// An input the shell should never send in this state: a bug in the shell. Ignored in release builds, so
    /// one broken agent does not take thousands of others down with the process.
    private func unexpectedInput(_ input: String) -> Action {
        assertionFailure("CWMPSessionStateMachine: \(input) in state \(state)")
        return .none
    }
}

extension CWMPMessage {
    /// The RPC's element name, for failure reasons and logs.
    var rpcName: String {
        let text = String(describing: self)
        let name = text.prefix { $0 != "(" }
        return name.prefix(1).uppercased() + name.dropFirst()
    }
}
