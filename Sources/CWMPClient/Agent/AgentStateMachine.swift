// One CWMP agent (the gateway itself or one virtual device of TR-069 Annex J.2) as a pure state machine: it decides
// when a session starts and with which events, and keeps everything that must survive between sessions
// (EventQueue, RetryCount, pending CPE requests, ScheduleInform items) as plain values. It never reads a clock:
// every input carries `now`, and the only timer it asks for is one deadline (`armTimer`). Per agent that is a few
// hundred bytes and no task or timer of its own beyond the one deadline the shell keeps in a shared timer wheel.

/// Decides when the agent opens a session (one at a time) and what goes into it.
public struct AgentStateMachine: Sendable {
    public struct Configuration: Hashable, Sendable {
        /// Identifies the agent for the start-up jitter (e.g. OUI-ProductClass-SerialNumber).
        public var agentID: String
        /// The first session after `start` waits `InformJitter.delay(agentID:window:)` within this window.
        public var startupJitterWindow: Duration

        public init(agentID: String, startupJitterWindow: Duration = .seconds(120)) {
            self.agentID = agentID
            self.startupJitterWindow = startupJitterWindow
        }
    }

    public enum Action: Hashable, Sendable {
        /// Open a session: build the Inform with these events and RetryCount, and run a
        /// `CWMPSessionStateMachine` with these CPE requests. Report its outcome with `sessionEnded`.
        case startSession(events: [EventStruct], retryCount: UInt32, pendingRequests: [CPERequest])
        /// Call `timerFired` at this instant (replaces any deadline armed before).
        case armTimer(deadline: CWMPInstant)
        /// Reboot or factory-reset the device now that the session has ended cleanly, then call `rebooted` /
        /// `factoryResetDone`.
        case runPostSessionAction(PostSessionAction)
        /// Nothing to do until the next input.
        case none
    }

    private enum Phase: Hashable, Sendable {
        case stopped
        case idle
        case inSession
        case awaitingPostSessionAction
    }

    public let configuration: Configuration
    public private(set) var eventQueue: EventQueue
    public private(set) var retryPolicy: SessionRetryPolicy
    public private(set) var scheduledInforms = ScheduledInforms()
    public private(set) var pendingRequests: [CPERequest] = []
    public private(set) var periodicInform: PeriodicInformSchedule?
    public private(set) var heartbeat: HeartbeatPolicy?
    /// ManagementServer.EnableCWMP (and an ACS URL to talk to): false means no session at all, which is not a
    /// failed session (RetryCount stays); events keep being raised and wait (`setCWMPEnabled`).
    public private(set) var cwmpEnabled = true
    private var phase = Phase.stopped
    /// No session before this instant: the start-up jitter or the retry wait after a failed session.
    private var notBefore: CWMPInstant?
    /// `notBefore` is a retry wait (not the start-up slot), which a new event ends (see `newEventRaised`).
    private var waitingToRetry = false
    /// The end of the ACS's Retry-After (HTTP 503) within the retry wait: a new event does not cut that part short.
    private var retryAfterUntil: CWMPInstant?
    /// ManagementServer.DefaultActiveNotificationThrottle (zero: off) and the end of the last successful session.
    public private(set) var activeNotificationThrottle: Duration = .zero
    private var lastSuccessfulSessionEnd: CWMPInstant?
    private var nextPeriodic: CWMPInstant?
    private var nextHeartbeat: CWMPInstant?

    public init(configuration: Configuration, eventQueue: EventQueue = EventQueue(),
                retryPolicy: SessionRetryPolicy = SessionRetryPolicy(), pendingRequests: [CPERequest] = [],
                scheduledInforms: ScheduledInforms = ScheduledInforms()) {
        self.configuration = configuration
        self.eventQueue = eventQueue
        self.retryPolicy = retryPolicy
        self.pendingRequests = pendingRequests
        self.scheduledInforms = scheduledInforms
    }

    // MARK: - Inputs

    /// The agent starts (process start or device boot). `booted` raises `1 BOOT` (and applies the reboot
    /// discards); the first session waits the agent's jitter slot.
    public mutating func start(now: CWMPInstant, booted: Bool) -> Action {
        if booted { eventQueue.rebooted() }
        phase = .idle
        notBefore = now.advanced(by: InformJitter.delay(agentID: configuration.agentID,
                                                        window: configuration.startupJitterWindow))
        return evaluate(now: now)
    }

    /// Something raised an event (`4 VALUE CHANGE`, `8 DIAGNOSTICS COMPLETE`, …).
    public mutating func eventOccurred(_ event: EventStruct, now: CWMPInstant) -> Action {
        if eventQueue.add(event) { newEventRaised() }
        return evaluate(now: now)
    }

    /// An authenticated Connection Request: `6 CONNECTION REQUEST`. During a session it is queued as one for the
    /// next session (cwmp.md §7). It does not wait out a retry back-off or the start-up slot: the ACS asks now.
    public mutating func connectionRequestReceived(now: CWMPInstant) -> Action {
        // EnableCWMP false: the CPE MUST NOT accept Connection Requests (TR-181 ✔); the shell answers 503.
        guard cwmpEnabled else { return .none }
        eventQueue.add(EventStruct(eventCode: EventCode.connectionRequest))
        if phase == .idle { notBefore = nil }
        return evaluate(now: now)
    }

    /// A transfer or DU change finished: queue its request with the events announcing it
    /// (e.g. `7 TRANSFER COMPLETE` + `M Download`).
    public mutating func requestQueued(_ request: CPERequest, events: [EventStruct], now: CWMPInstant) -> Action {
        pendingRequests.append(request)
        for event in events { eventQueue.add(event) }
        // The request itself needs a session, whether or not its events were already queued.
        newEventRaised()
        return evaluate(now: now)
    }

    /// The ACS called ScheduleInform.
    public mutating func scheduleInform(_ request: ScheduleInform, now: CWMPInstant) -> Action {
        scheduledInforms.schedule(request, now: now)
        return evaluate(now: now)
    }

    /// PeriodicInform* changed (or was loaded); nil disables it.
    ///
    /// With PeriodicInformTime unknown the phase is free, and counting from `countingFrom` alone would make
    /// thousands of agents started (or reconfigured) together inform together at every interval, for ever. So the
    /// count starts at `countingFrom` + the agent's own `InformJitter` slot in min(interval, startupJitterWindow):
    /// the same slot as its first Inform after start, so the periodic informs keep the spread the start-up had.
    /// An explicit PeriodicInformTime is the ACS asking for that phase: it is kept exactly.
    public mutating func setPeriodicInform(_ schedule: PeriodicInformSchedule?, now: CWMPInstant) -> Action {
        var schedule = schedule
        if var jittered = schedule, jittered.informTime == nil {
            jittered.countingFrom = jittered.countingFrom.advanced(by: phaseJitter(interval: jittered.interval))
            schedule = jittered
        }
        periodicInform = schedule
        nextPeriodic = schedule?.nextInform(after: now)
        return evaluate(now: now)
    }

    /// HeartbeatPolicy changed (or was loaded); nil disables it. An unknown InitiationTime is jittered as
    /// PeriodicInformTime is (`setPeriodicInform`).
    public mutating func setHeartbeatPolicy(_ policy: HeartbeatPolicy?, now: CWMPInstant) -> Action {
        var policy = policy
        if var jittered = policy, jittered.initiationTime == nil {
            jittered.countingFrom = jittered.countingFrom.advanced(by: phaseJitter(interval: jittered.reportingInterval))
            policy = jittered
        }
        heartbeat = policy
        nextHeartbeat = policy?.nextHeartbeat(after: now)
        return evaluate(now: now)
    }

    /// This agent's phase offset for a schedule of `interval` with no fixed phase.
    private func phaseJitter(interval: Duration) -> Duration {
        InformJitter.delay(agentID: configuration.agentID, window: min(interval, configuration.startupJitterWindow))
    }

    /// The instant of the next `2 PERIODIC` (diagnostics and tests).
    public var nextPeriodicInform: CWMPInstant? { nextPeriodic }

    /// The instant of the next `14 HEARTBEAT` (diagnostics and tests).
    public var nextHeartbeatInform: CWMPInstant? { nextHeartbeat }

    /// CWMPRetryMinimumWaitInterval or CWMPRetryIntervalMultiplier changed. The new values size the next retry
    /// wait; a wait already armed runs out as it was drawn (TR-069 draws the wait when the session fails), and the
    /// count of consecutive failures (RetryCount) is kept.
    public mutating func setRetryParameters(minimumWaitInterval: UInt32, intervalMultiplier: UInt32, now: CWMPInstant) -> Action {
        retryPolicy = SessionRetryPolicy(minimumWaitInterval: minimumWaitInterval, intervalMultiplier: intervalMultiplier,
                                         retryCount: retryPolicy.retryCount)
        return evaluate(now: now)
    }

    /// DefaultActiveNotificationThrottle changed (or was loaded).
    public mutating func setActiveNotificationThrottle(_ throttle: Duration, now: CWMPInstant) -> Action {
        activeNotificationThrottle = max(throttle, .zero)
        return evaluate(now: now)
    }

    /// EnableCWMP changed, or the ACS URL became empty or known. TR-181 EnableCWMP (✔): false means the CPE MUST NOT
    /// send any Inform. Disabled is "no session", not a failure: RetryCount does not grow and nothing is retried;
    /// periodic, heartbeat and scheduled instants still raise their events, which wait with the others. Re-enabling
    /// ends a retry wait left from before (the ACS's own Retry-After excepted, as for a new event) and starts a
    /// session at once when events are waiting. A session already under way runs to its end.
    public mutating func setCWMPEnabled(_ enabled: Bool, now: CWMPInstant) -> Action {
        guard enabled != cwmpEnabled else { return evaluate(now: now) }
        cwmpEnabled = enabled
        if enabled { newEventRaised() }
        return evaluate(now: now)
    }

    /// The shell did not open the session `startSession` asked for (CWMP was disabled, or the ACS URL emptied,
    /// between the decision and the session): nothing was sent, so nothing was delivered or failed; the events
    /// stay queued as they were and RetryCount is unchanged.
    public mutating func sessionNotOpened(now: CWMPInstant) -> Action {
        guard phase == .inSession else { return .none }
        eventQueue.informNotSent()
        phase = .idle
        return evaluate(now: now)
    }

    /// ManagementServer.URL changed: BOOTSTRAP for the new ACS; scheduled informs of the old one are void.
    public mutating func acsURLChanged(now: CWMPInstant) -> Action {
        eventQueue.acsURLChanged()
        scheduledInforms.discardAll()
        // The wait was for the old ACS; BOOTSTRAP is a new event for the new one.
        newEventRaised()
        return evaluate(now: now)
    }

    public mutating func timerFired(now: CWMPInstant) -> Action {
        evaluate(now: now)
    }

    /// The session opened by `startSession` ended. Failure → RetryCount + 1 and a wait from the retry policy
    /// (at least the 503's Retry-After); success → RetryCount 0. Then a reboot if the ACS asked for one.
    public mutating func sessionEnded(_ outcome: SessionOutcome, now: CWMPInstant,
                                      using generator: inout some RandomNumberGenerator) -> Action {
        guard phase == .inSession else { return .none }
        eventQueue.sessionEnded(outcome)
        let finished = outcome.deliveredRequests + outcome.rejectedRequests.map(\.request)
        for request in finished {
            if let index = pendingRequests.firstIndex(of: request) { pendingRequests.remove(at: index) }
        }
        phase = .idle
        waitingToRetry = false
        retryAfterUntil = nil
        if outcome.succeeded {
            retryPolicy.sessionSucceeded()
            notBefore = nil
            lastSuccessfulSessionEnd = now
            if let action = outcome.postSessionAction {
                phase = .awaitingPostSessionAction
                return .runPostSessionAction(action)
            }
            if !outcome.undeliveredRequests.isEmpty {
                // The ACS held the requests (HoldRequests) or kept answering 8005 "Retry request": they go in a
                // later session (cwmp.md §6 rule 10), not in one opened at once, which against an ACS that always
                // answers 8005 would be a loop. The wait is the first retry window; a new event ends it.
                let window = retryPolicy.waitWindow(forRetry: 1)
                let lower = window.lowerBound.totalNanoseconds / 1_000_000
                let upper = window.upperBound.totalNanoseconds / 1_000_000
                notBefore = now.advanced(by: .milliseconds(Int64.random(in: lower...upper, using: &generator)))
                waitingToRetry = true
            }
        } else {
            let wait = retryPolicy.sessionFailed(retryAfter: outcome.retryAfter, using: &generator)
            notBefore = now.advanced(by: wait)
            waitingToRetry = true
            retryAfterUntil = outcome.retryAfter.map { now.advanced(by: $0) }
        }
        return evaluate(now: now)
    }

    /// The device came back from a reboot (`1 BOOT`, with `M Reboot` when the ACS asked for it).
    public mutating func rebooted(now: CWMPInstant, rebootCommandKey: String? = nil) -> Action {
        eventQueue.rebooted(rebootCommandKey: rebootCommandKey)
        phase = .idle
        return evaluate(now: now)
    }

    /// The device came back from a factory reset: BOOTSTRAP + BOOT, nothing of the past kept.
    public mutating func factoryResetDone(now: CWMPInstant) -> Action {
        eventQueue.factoryReset()
        scheduledInforms.discardAll()
        pendingRequests = []
        retryPolicy.sessionSucceeded()
        phase = .idle
        return evaluate(now: now)
    }

    // MARK: - Decision

    /// A new event needs a session: it ends a retry wait. QAC (qacafe.com/tr-069-training/session-retry-mechanism,
    /// on TR-069 §3.2.1.1): "If a new event requiring a session occurs during this period, the connection is retried
    /// immediately"; RetryCount still counts the failures. "New" is read as an event that was not pending already:
    /// an event merged into one that waits for the retry (a parameter that changes again, a second Connection
    /// Request) ends nothing, so a flapping parameter cannot turn the back-off into a loop against a failing ACS
    /// (docs/agent-events.md). The ACS's own Retry-After (503) is still waited out, and so is the start-up slot.
    private mutating func newEventRaised() {
        guard waitingToRetry, phase == .idle else { return }
        waitingToRetry = false
        notBefore = retryAfterUntil
        retryAfterUntil = nil
    }

    /// The one decision point.
    private mutating func evaluate(now: CWMPInstant) -> Action {
        guard phase == .idle else { return .none }
        raiseDueEvents(now: now)
        // Disabled: the events wait; the timer still runs for the periodic, heartbeat and scheduled instants.
        guard cwmpEnabled else { return nextDeadline.map { .armTimer(deadline: $0) } ?? .none }

        if let notBefore, now < notBefore { return .armTimer(deadline: earliest([notBefore, nextDeadline])!) }
        notBefore = nil
        waitingToRetry = false
        retryAfterUntil = nil

        if let heartbeatEvents = eventQueue.beginHeartbeatInform() {
            phase = .inSession
            // A heartbeat session only says "alive": CPE requests wait for a regular session.
            return .startSession(events: heartbeatEvents, retryCount: retryPolicy.retryCount, pendingRequests: [])
        }
        if eventQueue.hasEventsToSend || !pendingRequests.isEmpty {
            if let throttledUntil = activeNotificationThrottled(now: now) {
                return .armTimer(deadline: earliest([throttledUntil, nextDeadline])!)
            }
            phase = .inSession
            return .startSession(events: eventQueue.beginInform(), retryCount: retryPolicy.retryCount,
                                 pendingRequests: pendingRequests)
        }
        if let deadline = nextDeadline { return .armTimer(deadline: deadline) }
        return .none
    }

    /// TR-181 DefaultActiveNotificationThrottle (✔ DM): a session whose sole purpose is an active notification
    /// (`4 VALUE CHANGE` is all there is to send) waits until that many seconds after the end of the last successful
    /// session. A session with any other reason, a retry of a failed session included, is not delayed, and carries
    /// the notification. The instant is not kept across restarts (the description allows that).
    private func activeNotificationThrottled(now: CWMPInstant) -> CWMPInstant? {
        guard activeNotificationThrottle > .zero, pendingRequests.isEmpty, retryPolicy.retryCount == 0,
              let last = lastSuccessfulSessionEnd,
              eventQueue.records.allSatisfy({ $0.eventCode == EventCode.valueChange || $0.eventCode == EventCode.heartbeat })
        else { return nil }
        let until = last.advanced(by: activeNotificationThrottle)
        return now < until ? until : nil
    }

    /// Periodic, heartbeat and scheduled instants that have passed become events.
    private mutating func raiseDueEvents(now: CWMPInstant) {
        if let due = nextPeriodic, due <= now {
            if eventQueue.add(EventStruct(eventCode: EventCode.periodic)) { newEventRaised() }
            nextPeriodic = periodicInform?.nextInform(after: now)
        }
        if let due = nextHeartbeat, due <= now {
            if eventQueue.add(EventStruct(eventCode: EventCode.heartbeat)) { newEventRaised() }
            nextHeartbeat = heartbeat?.nextHeartbeat(after: now)
        }
        for event in scheduledInforms.takeDue(now: now) where eventQueue.add(event) { newEventRaised() }
    }

    private var nextDeadline: CWMPInstant? {
        earliest([nextPeriodic, nextHeartbeat, scheduledInforms.nextDue])
    }

    private func earliest(_ instants: [CWMPInstant?]) -> CWMPInstant? {
        instants.compactMap { $0 }.min()
    }
}
