// ManagementServer.EnableCWMP false (issue 3, gap 8): no session at all, which is not a failed session.
// RetryCount does not grow, events wait, and re-enabling starts a session at once with what waited.
import Testing
@testable import CWMPClient

@Suite struct AgentEnableCWMPTests {
    private let boot = EventStruct(eventCode: "1 BOOT")
    private let periodic = EventStruct(eventCode: "2 PERIODIC")
    private let valueChange = EventStruct(eventCode: "4 VALUE CHANGE")

    private func agent() -> AgentStateMachine {
        AgentStateMachine(configuration: .init(agentID: "A", startupJitterWindow: .zero))
    }

    @Test func disabledBeforeStartMeansNoSessionAndTheEventsWait() {
        var agent = agent()
        _ = agent.setCWMPEnabled(false, now: .seconds(1000))
        #expect(agent.start(now: .seconds(1000), booted: true) == .none)
        #expect(agent.eventOccurred(valueChange, now: .seconds(1001)) == .none)
        #expect(agent.timerFired(now: .seconds(5000)) == .none)
        #expect(agent.retryPolicy.retryCount == 0)
        #expect(agent.setCWMPEnabled(true, now: .seconds(5001))
                == .startSession(events: [boot, valueChange], retryCount: 0, pendingRequests: []))
    }

    @Test func aConnectionRequestWhileDisabledIsNotQueued() {
        var agent = agent()
        _ = agent.start(now: .seconds(1000), booted: false)
        _ = agent.setCWMPEnabled(false, now: .seconds(1000))
        #expect(agent.connectionRequestReceived(now: .seconds(1001)) == .none)
        #expect(agent.setCWMPEnabled(true, now: .seconds(1002)) == .none)
        #expect(agent.eventQueue.isEmpty)
    }

    @Test func periodicInstantsStillRaiseTheirEventWhileDisabled() {
        var agent = agent()
        _ = agent.start(now: .seconds(1000), booted: false)
        _ = agent.setCWMPEnabled(false, now: .seconds(1000))
        let schedule = PeriodicInformSchedule(enable: true, interval: .seconds(60), informTime: nil, countingFrom: .seconds(1000))
        #expect(agent.setPeriodicInform(schedule, now: .seconds(1000)) == .armTimer(deadline: .seconds(1060)))
        #expect(agent.timerFired(now: .seconds(1060)) == .armTimer(deadline: .seconds(1120)))
        #expect(agent.setCWMPEnabled(true, now: .seconds(1070))
                == .startSession(events: [periodic], retryCount: 0, pendingRequests: []))
    }

    @Test func reEnablingEndsTheRetryWaitButKeepsRetryCount() {
        var agent = agent()
        _ = agent.start(now: .seconds(1000), booted: true)
        var low = LowestGenerator()
        // The BOOT session fails: RetryCount 1, the first wait is [5, 10] s; the lowest draw is 5 s.
        #expect(agent.sessionEnded(SessionOutcome(failure: .timedOut), now: .seconds(1001), using: &low)
                == .armTimer(deadline: .seconds(1006)))
        _ = agent.setCWMPEnabled(false, now: .seconds(1002))
        #expect(agent.timerFired(now: .seconds(1003)) == .none)
        #expect(agent.retryPolicy.retryCount == 1)
        // Before the wait's end (1006): re-enabling does not wait it out.
        #expect(agent.setCWMPEnabled(true, now: .seconds(1004)) == .startSession(events: [boot], retryCount: 1, pendingRequests: []))
    }

    @Test func aSessionNotOpenedKeepsItsEventsAndCountsNoFailure() {
        var agent = agent()
        #expect(agent.start(now: .seconds(1000), booted: true) == .startSession(events: [boot], retryCount: 0, pendingRequests: []))
        _ = agent.eventOccurred(EventStruct(eventCode: "6 CONNECTION REQUEST"), now: .seconds(1000))
        _ = agent.setCWMPEnabled(false, now: .seconds(1000))
        #expect(agent.sessionNotOpened(now: .seconds(1001)) == .none)
        #expect(agent.retryPolicy.retryCount == 0)
        #expect(agent.setCWMPEnabled(true, now: .seconds(1002))
                == .startSession(events: [boot, EventStruct(eventCode: "6 CONNECTION REQUEST")], retryCount: 0, pendingRequests: []))
    }
}
