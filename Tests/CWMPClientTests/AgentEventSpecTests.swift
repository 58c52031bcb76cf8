// The event rules of TR-069 §3.7.1.5 and the session retry of §3.2.1.1, driven through the agent and session state
// machines with a hand-moved clock (instants are plain values). Where each rule comes from is in docs/agent-events.md;
// the sources in short:
// * cwmp.md §5 (event table; ICWMP's EVENT_CONST table in iopsys icwmp event.c: which codes are retried after a
//   failed session and kept across a reboot), §6.1 (retry windows, ✔ by the TR-181 CWMPRetry* descriptions);
// * QAC session-retry-mechanism: "If a new event requiring a session occurs during this period, the connection is
//   retried immediately";
// * cwmp.md §6 rule 10 and §4: 8005 asks the CPE to resend, the other 8xxx faults refuse the request.
import Testing
@testable import CWMPClient

private let boot = EventStruct(eventCode: EventCode.boot)
private let bootstrap = EventStruct(eventCode: EventCode.bootstrap)
private let periodic = EventStruct(eventCode: EventCode.periodic)
private let valueChange = EventStruct(eventCode: EventCode.valueChange)
private let connectionRequest = EventStruct(eventCode: EventCode.connectionRequest)
private let diagnostics = EventStruct(eventCode: EventCode.diagnosticsComplete)
private let transferCompleteEvent = EventStruct(eventCode: EventCode.transferComplete)
private let device = DeviceId(manufacturer: "Acme", oui: "00D09E", productClass: "Sensor", serialNumber: "S1")

private func mDownload(_ key: String) -> EventStruct { EventStruct(eventCode: "M Download", commandKey: key) }

private func report(_ key: String) -> CPERequest {
    .transferComplete(TransferComplete(commandKey: key, fault: .none, startTime: .unknown, completeTime: .unknown))
}

/// An agent started at t = 1000 s with no BOOT and no start-up slot.
private func idleAgent() -> AgentStateMachine {
    var agent = AgentStateMachine(configuration: .init(agentID: "A", startupJitterWindow: .zero))
    _ = agent.start(now: .seconds(1000), booted: false)
    return agent
}

/// Runs one session of the real session state machine for `action` (a `.startSession`): InformResponse, then each
/// pending request answered by `answer`, then 204. Returns the outcome.
private func runSession(_ action: AgentStateMachine.Action,
                        answer: (CPERequest) -> CWMPMessage) -> SessionOutcome? {
    guard case .startSession(let events, let retryCount, let requests) = action else { return nil }
    var session = CWMPSessionStateMachine(configuration: .init(maximumRetryRequestResends: 1))
    var step = session.start(inform: Inform(deviceId: device, events: events, currentTime: .unknown,
                                            retryCount: retryCount, parameterList: []),
                             pendingRequests: requests)
    step = session.httpResponseReceived(statusCode: 200, envelope: CWMPEnvelope(
        namespace: .cwmp12, header: CWMPHeader(id: "cpe-1"), message: .informResponse(InformResponse())))
    for _ in 0..<10 {
        switch step {
        case .postEnvelope(let envelope, _):
            guard case .transferComplete(let sent) = envelope.message else { return nil }
            step = session.httpResponseReceived(statusCode: 200, envelope: CWMPEnvelope(
                namespace: .cwmp12, header: CWMPHeader(id: envelope.header.id),
                message: answer(.transferComplete(sent))))
        case .postEmpty:
            step = session.httpResponseReceived(statusCode: 204, envelope: nil)
        case .finish(let outcome):
            return outcome
        default:
            return nil
        }
    }
    return nil
}

@Suite("TR-069 event semantics (agent + session state machines, mock clock)")
struct AgentEventSpecTests {
    // MARK: Single and multiple events

    /// Table 7 "cumulative behaviour": `7 TRANSFER COMPLETE` is single, `M Download` multiple (one per CommandKey).
    @Test func twoDownloadsWithDifferentCommandKeysAreBothReportedUnderOneTransferComplete() {
        var agent = AgentStateMachine(configuration: .init(agentID: "dev-7", startupJitterWindow: .seconds(120)))
        let slot = CWMPInstant.seconds(1000).advanced(by: InformJitter.delay(agentID: "dev-7", window: .seconds(120)))
        _ = agent.start(now: .seconds(1000), booted: false)
        // Both finish inside the start-up slot, so they go into one Inform.
        #expect(agent.requestQueued(report("dl-a"), events: [transferCompleteEvent, mDownload("dl-a")], now: .seconds(1000)) == .armTimer(deadline: slot))
        #expect(agent.requestQueued(report("dl-b"), events: [transferCompleteEvent, mDownload("dl-b")], now: .seconds(1000)) == .armTimer(deadline: slot))
        #expect(agent.timerFired(now: slot) == .startSession(events: [transferCompleteEvent, mDownload("dl-a"), mDownload("dl-b")], retryCount: 0, pendingRequests: [report("dl-a"), report("dl-b")]))
    }

    @Test func aSingleEventRaisedTwiceIsReportedOnce() {
        var agent = AgentStateMachine(configuration: .init(agentID: "dev-7", startupJitterWindow: .seconds(120)))
        let slot = CWMPInstant.seconds(1000).advanced(by: InformJitter.delay(agentID: "dev-7", window: .seconds(120)))
        _ = agent.start(now: .seconds(1000), booted: true)
        _ = agent.eventOccurred(valueChange, now: .seconds(1000))
        _ = agent.eventOccurred(valueChange, now: .seconds(1000))
        _ = agent.eventOccurred(EventStruct(eventCode: "M Reboot", commandKey: "r1"), now: .seconds(1000))
        _ = agent.eventOccurred(EventStruct(eventCode: "M Reboot", commandKey: "r1"), now: .seconds(1000))
        #expect(agent.timerFired(now: slot) == .startSession(events: [boot, valueChange, EventStruct(eventCode: "M Reboot", commandKey: "r1")], retryCount: 0, pendingRequests: []))
    }

    // MARK: TransferComplete answered with a fault

    /// cwmp.md §6 rule 10: only 8005 asks for the same request again. Another fault means the ACS has the request and
    /// refuses it: resending would be refused again, so the request and the events announcing it are done (as
    /// catawampus and icwmp do; TR-069 gives no retry for it — interpretation, docs/agent-events.md).
    @Test func aTransferCompleteRefusedWithANon8005FaultIsNotSentAgain() {
        var agent = idleAgent()
        let events = [transferCompleteEvent, mDownload("dl-1")]
        let start = agent.requestQueued(report("dl-1"), events: events, now: .seconds(1000))
        let outcome = runSession(start) { _ in .fault(CWMPFault(.acsInternalError)) }
        #expect(outcome?.rejectedRequests.map(\.request) == [report("dl-1")])
        var generator = SeededGenerator(seed: 1)
        #expect(agent.sessionEnded(outcome!, now: .seconds(1001), using: &generator) == .none)
        #expect(agent.pendingRequests.isEmpty)
        #expect(agent.eventQueue.isEmpty)
        // The next session (a Connection Request) carries neither the request nor its events.
        #expect(agent.connectionRequestReceived(now: .seconds(1002)) == .startSession(events: [connectionRequest], retryCount: 0, pendingRequests: []))
    }

    @Test func aTransferCompleteAnswered8005TooOftenGoesAgainWithItsEventsInTheNextSession() {
        var agent = idleAgent()
        let events = [transferCompleteEvent, mDownload("dl-1")]
        let start = agent.requestQueued(report("dl-1"), events: events, now: .seconds(1000))
        let outcome = runSession(start) { _ in .fault(CWMPFault(.acsRetryRequest)) }
        #expect(outcome?.undeliveredRequests == [report("dl-1")])
        var low = LowestGenerator()
        // The session itself succeeded, so the events were acknowledged, but the completion events stay with their
        // request ("MUST NOT be discarded" until the ACS has the TransferComplete, cwmp.md §5). The next session
        // waits the first retry window (not at once: an ACS answering 8005 forever would get a loop).
        #expect(agent.sessionEnded(outcome!, now: .seconds(1001), using: &low) == .armTimer(deadline: .seconds(1006)))
        #expect(agent.retryPolicy.retryCount == 0)
        let next = agent.timerFired(now: .seconds(1006))
        #expect(next == .startSession(events: events, retryCount: 0, pendingRequests: [report("dl-1")]))
        let second = runSession(next) { _ in .transferCompleteResponse }
        var generator = SeededGenerator(seed: 1)
        #expect(second?.deliveredRequests == [report("dl-1")])
        #expect(agent.sessionEnded(second!, now: .seconds(1002), using: &generator) == .none)
        #expect(agent.eventQueue.isEmpty && agent.pendingRequests.isEmpty)
    }

    // MARK: What a failed session, a reboot and a BOOTSTRAP keep

    /// A failed session (no InformResponse) keeps every event for the retry except `6 CONNECTION REQUEST`, which is
    /// never retried (cwmp.md §5; icwmp: RETRY 0 for code 6 only).
    @Test func aFailedSessionRetriesEverythingButTheConnectionRequest() {
        var agent = AgentStateMachine(configuration: .init(agentID: "dev-7", startupJitterWindow: .seconds(120)))
        _ = agent.start(now: .seconds(1000), booted: true)
        for event in [periodic, valueChange, diagnostics, EventStruct(eventCode: "M Reboot", commandKey: "r1")] {
            _ = agent.eventOccurred(event, now: .seconds(1000))
        }
        #expect(agent.connectionRequestReceived(now: .seconds(1000)) == .startSession(events: [boot, periodic, valueChange, diagnostics, EventStruct(eventCode: "M Reboot", commandKey: "r1"), connectionRequest], retryCount: 0, pendingRequests: []))
        var low = LowestGenerator()
        #expect(agent.sessionEnded(SessionOutcome(failure: .timedOut), now: .seconds(1030), using: &low) == .armTimer(deadline: .seconds(1035)))
        #expect(agent.timerFired(now: .seconds(1035)) == .startSession(events: [boot, periodic, valueChange, diagnostics, EventStruct(eventCode: "M Reboot", commandKey: "r1")], retryCount: 1, pendingRequests: []))
    }

    /// A reboot discards `1 BOOT` (raised afresh), `4 VALUE CHANGE`, `6 CONNECTION REQUEST` and
    /// `8 DIAGNOSTICS COMPLETE`; BOOTSTRAP, PERIODIC, the completions and the M codes survive it (cwmp.md §5
    /// "Retry" column; icwmp EVENT_RETRY_AFTER_REBOOT).
    @Test func aRebootKeepsWhatTheTableSaysAndDiscardsTheRest() {
        var agent = AgentStateMachine(configuration: .init(agentID: "A", startupJitterWindow: .zero))
        _ = agent.start(now: .seconds(1000), booted: true)
        _ = agent.acsURLChanged(now: .seconds(1000))
        for event in [periodic, valueChange, diagnostics, EventStruct(eventCode: "M Reboot", commandKey: "old")] {
            _ = agent.eventOccurred(event, now: .seconds(1000))
        }
        _ = agent.requestQueued(report("dl-1"), events: [transferCompleteEvent, mDownload("dl-1")], now: .seconds(1000))
        var generator = SeededGenerator(seed: 2)
        _ = agent.sessionEnded(SessionOutcome(failure: .timedOut), now: .seconds(1001), using: &generator)
        #expect(agent.rebooted(now: .seconds(2000), rebootCommandKey: "new") == .startSession(
            events: [bootstrap, boot, periodic, EventStruct(eventCode: "M Reboot", commandKey: "old"), transferCompleteEvent,
                     mDownload("dl-1"), EventStruct(eventCode: "M Reboot", commandKey: "new")],
            retryCount: 1, pendingRequests: [report("dl-1")]))
    }

    /// A new ACS URL: BOOTSTRAP; the events for the old ACS go, except `1 BOOT` (the CPE did boot) and the completion
    /// events (MUST NOT be discarded until the ACS has the report); scheduled informs of the old ACS are void.
    /// Once the BOOTSTRAP Inform is acknowledged, nothing older than it is left but the completions.
    @Test func aBootstrapClearsTheOldACSsEventsButNotBootNorTheCompletions() {
        var agent = AgentStateMachine(configuration: .init(agentID: "dev-7", startupJitterWindow: .seconds(120)))
        _ = agent.start(now: .seconds(1000), booted: true)
        for event in [periodic, valueChange, EventStruct(eventCode: "M Reboot", commandKey: "r1")] {
            _ = agent.eventOccurred(event, now: .seconds(1000))
        }
        _ = agent.scheduleInform(ScheduleInform(delaySeconds: 5, commandKey: "s1"), now: .seconds(1000))
        _ = agent.requestQueued(report("dl-1"), events: [transferCompleteEvent, mDownload("dl-1")], now: .seconds(1000))
        _ = agent.acsURLChanged(now: .seconds(1001))
        #expect(agent.timerFired(now: .seconds(1120)) == .startSession(events: [bootstrap, boot, transferCompleteEvent, mDownload("dl-1")], retryCount: 0, pendingRequests: [report("dl-1")]))
        #expect(agent.scheduledInforms.nextDue == nil)
    }

    // MARK: What ends the retry wait

    /// After a failed session with m = 60: the wait is [60, 120] s; the lowest draw ends it at 1090.
    private func agentWaitingToRetry(retryAfter: Duration? = nil) -> AgentStateMachine {
        var agent = AgentStateMachine(configuration: .init(agentID: "A", startupJitterWindow: .zero))
        _ = agent.start(now: .seconds(1000), booted: true)
        _ = agent.setRetryParameters(minimumWaitInterval: 60, intervalMultiplier: 2000, now: .seconds(1000))
        var low = LowestGenerator()
        let failure: SessionFailure = retryAfter.map { .httpError(status: 503, retryAfter: $0) } ?? .timedOut
        _ = agent.sessionEnded(SessionOutcome(failure: failure), now: .seconds(1030), using: &low)
        return agent
    }

    @Test func aNewEventEndsTheRetryWaitAndRetryCountStillCountsTheFailure() {
        var agent = agentWaitingToRetry()
        #expect(agent.timerFired(now: .seconds(1031)) == .armTimer(deadline: .seconds(1090)))
        #expect(agent.eventOccurred(diagnostics, now: .seconds(1032)) == .startSession(events: [boot, diagnostics], retryCount: 1, pendingRequests: []))
    }

    @Test func anEventMergedIntoOneThatWaitsForTheRetryDoesNotEndTheWait() {
        var agent = agentWaitingToRetry()
        #expect(agent.eventOccurred(valueChange, now: .seconds(1031)) == .startSession(events: [boot, valueChange], retryCount: 1, pendingRequests: []))
        var low = LowestGenerator()
        // The retry fails too (n = 2: [120, 240] s); the parameter changes again: merged, the wait stands.
        #expect(agent.sessionEnded(SessionOutcome(failure: .timedOut), now: .seconds(1040), using: &low) == .armTimer(deadline: .seconds(1160)))
        #expect(agent.eventOccurred(valueChange, now: .seconds(1041)) == .armTimer(deadline: .seconds(1160)))
        #expect(agent.timerFired(now: .seconds(1160)) == .startSession(events: [boot, valueChange], retryCount: 2, pendingRequests: []))
    }

    @Test func aPeriodicInformDueDuringTheWaitEndsIt() {
        var agent = agentWaitingToRetry()
        let schedule = PeriodicInformSchedule(enable: true, interval: .seconds(40), informTime: nil, countingFrom: .seconds(1030))
        #expect(agent.setPeriodicInform(schedule, now: .seconds(1030)) == .armTimer(deadline: .seconds(1070)))
        #expect(agent.timerFired(now: .seconds(1070)) == .startSession(events: [boot, periodic], retryCount: 1, pendingRequests: []))
    }

    @Test func aTransferCompleteQueuedDuringTheWaitEndsIt() {
        var agent = agentWaitingToRetry()
        #expect(agent.requestQueued(report("dl-1"), events: [transferCompleteEvent, mDownload("dl-1")], now: .seconds(1031)) == .startSession(events: [boot, transferCompleteEvent, mDownload("dl-1")], retryCount: 1, pendingRequests: [report("dl-1")]))
    }

    /// The ACS's Retry-After (503) is its own request to wait: a new event ends only the part beyond it.
    @Test func theACSRetryAfterIsWaitedOutEvenForANewEvent() {
        var agent = agentWaitingToRetry(retryAfter: .seconds(30))
        #expect(agent.eventOccurred(diagnostics, now: .seconds(1031)) == .armTimer(deadline: .seconds(1060)))
        #expect(agent.timerFired(now: .seconds(1060)) == .startSession(events: [boot, diagnostics], retryCount: 1, pendingRequests: []))
    }

    /// A Connection Request is the ACS asking now: it ends any wait, its own Retry-After included (cwmp.md §7).
    @Test func aConnectionRequestEndsEvenARetryAfterWait() {
        var agent = agentWaitingToRetry(retryAfter: .seconds(300))
        #expect(agent.connectionRequestReceived(now: .seconds(1031)) == .startSession(events: [boot, connectionRequest], retryCount: 1, pendingRequests: []))
    }

    /// The start-up slot spreads the first Informs of thousands of agents; a new event does not end it.
    @Test func theStartUpSlotIsNotEndedByANewEvent() {
        var agent = AgentStateMachine(configuration: .init(agentID: "dev-7", startupJitterWindow: .seconds(120)))
        let slot = CWMPInstant.seconds(1000).advanced(by: InformJitter.delay(agentID: "dev-7", window: .seconds(120)))
        #expect(agent.start(now: .seconds(1000), booted: true) == .armTimer(deadline: slot))
        #expect(agent.eventOccurred(diagnostics, now: .seconds(1000)) == .armTimer(deadline: slot))
    }

    // MARK: DefaultActiveNotificationThrottle (TR-181 ✔)

    /// A successful session ended at 1000 s; throttle 60 s.
    private func agentAfterASession(throttle: Duration = .seconds(60)) -> AgentStateMachine {
        var agent = idleAgent()
        _ = agent.setActiveNotificationThrottle(throttle, now: .seconds(1000))
        _ = agent.eventOccurred(periodic, now: .seconds(990))
        var generator = SeededGenerator(seed: 1)
        _ = agent.sessionEnded(SessionOutcome(deliveredEvents: [periodic], informAcknowledged: true), now: .seconds(1000), using: &generator)
        return agent
    }

    @Test func aSessionOnlyForAnActiveNotificationWaitsForTheThrottle() {
        var agent = agentAfterASession()
        #expect(agent.eventOccurred(valueChange, now: .seconds(1010)) == .armTimer(deadline: .seconds(1060)))
        #expect(agent.timerFired(now: .seconds(1059)) == .armTimer(deadline: .seconds(1060)))
        #expect(agent.timerFired(now: .seconds(1060)) == .startSession(events: [valueChange], retryCount: 0, pendingRequests: []))
    }

    @Test func anotherReasonForASessionIsNotThrottledAndCarriesTheNotification() {
        var agent = agentAfterASession()
        _ = agent.eventOccurred(valueChange, now: .seconds(1010))
        #expect(agent.eventOccurred(diagnostics, now: .seconds(1011)) == .startSession(events: [valueChange, diagnostics], retryCount: 0, pendingRequests: []))
    }

    /// "including for the purpose of retrying a failed session, such connection MUST NOT be delayed".
    @Test func aRetryOfAFailedSessionIsNotThrottled() {
        var agent = agentAfterASession()
        #expect(agent.eventOccurred(valueChange, now: .seconds(1060)) == .startSession(events: [valueChange], retryCount: 0, pendingRequests: []))
        var low = LowestGenerator()
        #expect(agent.sessionEnded(SessionOutcome(failure: .timedOut), now: .seconds(1061), using: &low) == .armTimer(deadline: .seconds(1066)))
        #expect(agent.timerFired(now: .seconds(1066)) == .startSession(events: [valueChange], retryCount: 1, pendingRequests: []))
    }

    @Test func noThrottleWhenZeroOrBeforeTheFirstSession() {
        var off = agentAfterASession(throttle: .zero)
        #expect(off.eventOccurred(valueChange, now: .seconds(1010)) == .startSession(events: [valueChange], retryCount: 0, pendingRequests: []))
        var fresh = idleAgent()
        _ = fresh.setActiveNotificationThrottle(.seconds(60), now: .seconds(1000))
        #expect(fresh.eventOccurred(valueChange, now: .seconds(1001)) == .startSession(events: [valueChange], retryCount: 0, pendingRequests: []))
    }
}
