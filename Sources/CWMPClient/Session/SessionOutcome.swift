// What one CWMP session achieved, handed from the session state machine to the agent, which uses it to
// acknowledge events (EventQueue), drop delivered CPE requests, feed the retry policy and run a reboot.

/// Why a session failed. Every failure counts as a failed session for the retry policy (TR-069 §3.2.1.1);
/// a 503's Retry-After is carried so the policy can wait at least that long.
public enum SessionFailure: Hashable, Sendable {
    /// The ACS did not answer within the wait timeout (30 s, cwmp.md §6 rule 6).
    case timedOut
    /// The connection broke or could not be made (the transport's error, as text: outcomes stay Equatable).
    case transportFailed(String)
    /// The ACS answered with an HTTP error: any non-2xx status the transport did not handle itself (it handles
    /// 401 challenges and 3xx redirects; a 401 reaching the state machine means the credentials were refused).
    case httpError(status: Int, retryAfter: Duration?)
    /// The ACS answered the Inform with a SOAP fault (8006 when it cannot speak any of our versions).
    case informFault(CWMPFault)
    /// The ACS broke the session rules: an ACS request before the InformResponse, a response to something that
    /// was not asked, an undecodable answer to the Inform, a UseCWMPVersion we did not offer, …
    case protocolViolation(String)
}

/// What the CPE does once the session has ended cleanly (TR-069 A.3.2.8 Reboot, A.4.1.4 FactoryReset:
/// both run after the session, so the responses reach the ACS first).
public enum PostSessionAction: Hashable, Sendable {
    case reboot(commandKey: String)
    case factoryReset
}

/// The result of one session.
public struct SessionOutcome: Hashable, Sendable {
    /// nil when the session ended cleanly (HTTP 204 or an empty 200 with nothing left on either side).
    public var failure: SessionFailure?
    /// The events of the Inform when the ACS acknowledged it with an InformResponse, else empty: only then may
    /// the event queue drop them (even if the session failed later).
    public var deliveredEvents: [EventStruct]
    /// Whether the InformResponse arrived (also true for an Inform that carried no event).
    public var informAcknowledged: Bool
    /// CPE requests the ACS acknowledged with their response: forget them.
    public var deliveredRequests: [CPERequest]
    /// CPE requests the ACS answered with a fault other than 8005: the ACS has seen them and refused them, so
    /// resending would only be refused again; the agent forgets them too (see `CWMPSessionStateMachine`).
    public var rejectedRequests: [RejectedRequest]
    /// CPE requests not delivered (held, 8005 too often, or the session failed first): keep them for the next
    /// session, together with their completion events.
    public var undeliveredRequests: [CPERequest]
    /// The CWMP version agreed in this session (nil if the InformResponse never came).
    public var cwmpVersion: CWMPVersion?
    /// A Reboot or FactoryReset the ACS asked for; only set when the session ended cleanly.
    public var postSessionAction: PostSessionAction?

    public init(failure: SessionFailure? = nil, deliveredEvents: [EventStruct] = [], informAcknowledged: Bool = false,
                deliveredRequests: [CPERequest] = [], rejectedRequests: [RejectedRequest] = [],
                undeliveredRequests: [CPERequest] = [], cwmpVersion: CWMPVersion? = nil,
                postSessionAction: PostSessionAction? = nil) {
        self.failure = failure
        self.deliveredEvents = deliveredEvents
        self.informAcknowledged = informAcknowledged
        self.deliveredRequests = deliveredRequests
        self.rejectedRequests = rejectedRequests
        self.undeliveredRequests = undeliveredRequests
        self.cwmpVersion = cwmpVersion
        self.postSessionAction = postSessionAction
    }

    /// A clean end: the retry count resets (TR-069 §3.2.1.1).
    public var succeeded: Bool { failure == nil }

    /// A Retry-After the ACS gave with a 503 (or any error status), for the retry policy.
    public var retryAfter: Duration? {
        if case .httpError(_, let retryAfter) = failure { return retryAfter }
        return nil
    }
}

/// A CPE request the ACS answered with a fault.
public struct RejectedRequest: Hashable, Sendable {
    public var request: CPERequest
    public var fault: CWMPFault
    public init(request: CPERequest, fault: CWMPFault) {
        self.request = request
        self.fault = fault
    }
}
