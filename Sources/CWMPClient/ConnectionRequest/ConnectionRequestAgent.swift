/// What an agent answers to an authenticated Connection Request.
public enum ConnectionRequestOutcome: Sendable, Hashable {
    /// A session with "6 CONNECTION REQUEST" will follow (now, or after the running session): 200 OK.
    case accepted
    /// The agent cannot take a session now: 503.
    case busy
    /// The proxied device behind a virtual CWMP device is unreachable: 503, which is what ACSs such as
    /// GenieACS expect from a device that cannot be managed at the moment.
    case offline
    /// Anything else that prevents a session: 503.
    case cannotServe
}

/// One CWMP endpoint (the gateway itself or a virtual CWMP device of TR-069 Annex J.2) reachable through the
/// shared Connection Request listener.
///
/// Both methods are called on a NIO event loop for each request, so they must be quick and must not block:
/// read the current value, set a flag, enqueue work. Credentials are asked for on every request because the
/// ACS may change `ManagementServer.ConnectionRequestUsername/Password` at any time.
public protocol ConnectionRequestAgent: Sendable {
    /// The current `ConnectionRequestUsername` and `ConnectionRequestPassword`.
    func connectionRequestCredentials() -> HTTPCredentials
    /// Called once per authenticated, non-rate-limited Connection Request.
    func connectionRequestReceived() -> ConnectionRequestOutcome
}

/// The queueing rule of TR-069 §3.2.2 for one agent, as a pure state machine: several Connection Requests before
/// a session starts make one session; one that arrives during a session does not interrupt it but makes one more
/// session after it ends.
public struct ConnectionRequestSessionScheduler: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        /// No session, none wanted.
        case idle
        /// A session was asked for and has not started yet.
        case sessionPending
        /// A session runs; `another` says one more is owed after it.
        case inSession(another: Bool)
    }

    public enum Action: Sendable, Hashable {
        /// Start a session with the "6 CONNECTION REQUEST" event.
        case startSession
        /// Nothing to do: a session is already pending or queued.
        case none
    }

    public private(set) var state: State = .idle

    public init() {}

    /// A Connection Request was authenticated. The answer to the ACS is 200 in every case.
    public mutating func connectionRequestReceived() -> Action {
        switch state {
        case .idle:
            state = .sessionPending
            return .startSession
        case .sessionPending, .inSession(another: true):
            return .none
        case .inSession(another: false):
            state = .inSession(another: true)
            return .none
        }
    }

    /// A session began (for this or any other reason: a periodic Inform also serves the pending request).
    public mutating func sessionStarted() {
        switch state {
        case .idle, .sessionPending: state = .inSession(another: false)
        case .inSession: break
        }
    }

    /// The session ended, successfully or not.
    public mutating func sessionEnded() -> Action {
        switch state {
        case .inSession(another: true):
            state = .sessionPending
            return .startSession
        case .inSession(another: false), .idle:
            state = .idle
            return .none
        case .sessionPending:
            return .none
        }
    }
}
