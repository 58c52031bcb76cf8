import Testing
@testable import CWMPClient

private let boot = EventStruct(eventCode: "1 BOOT")
private let connectionRequest = EventStruct(eventCode: "6 CONNECTION REQUEST")
private let periodic = EventStruct(eventCode: "2 PERIODIC")
private let transfer = TransferComplete(commandKey: "dl1", fault: .none, startTime: .unknown, completeTime: .unknown)

/// An agent whose start-up slot is 0 (jitter window zero), started at t = 1000 s.
private func startedAgent(booted: Bool = true) -> (AgentStateMachine, AgentStateMachine.Action) {
    var agent = AgentStateMachine(configuration: .init(agentID: "A", startupJitterWindow: .zero))
    let action = agent.start(now: .seconds(1000), booted: booted)
    return (agent, action)
}

@Suite struct AgentStateMachineTests {
    @Test func bootStartsASessionWithBootAfterTheJitterSlot() {
        var agent = AgentStateMachine(configuration: .init(agentID: "dev-7", startupJitterWindow: .seconds(120)))
        let slot = CWMPInstant.seconds(1000).advanced(by: InformJitter.delay(agentID: "dev-7", window: .seconds(120)))
        #expect(agent.start(now: .seconds(1000), booted: true) == .armTimer(deadline: slot))
        #expect(agent.timerFired(now: slot) == .startSession(events: [boot], retryCount: 0, pendingRequests: []))
    }

    @Test func nothingToSayMeansNoSession() {
        var (agent, action) = startedAgent(booted: false)
        #expect(action == .none)
        #expect(agent.timerFired(now: .seconds(2000)) == .none)
    }

    @Test func aConnectionRequestDuringASessionBecomesTheNextSession() {
        var (agent, action) = startedAgent()
        #expect(action == .startSession(events: [boot], retryCount: 0, pendingRequests: []))
        #expect(agent.connectionRequestReceived(now: .seconds(1001)) == .none)
        #expect(agent.connectionRequestReceived(now: .seconds(1002)) == .none)
        var generator = SeededGenerator(seed: 1)
        #expect(agent.sessionEnded(SessionOutcome(deliveredEvents: [boot], informAcknowledged: true), now: .seconds(1003), using: &generator) == .startSession(events: [connectionRequest], retryCount: 0, pendingRequests: []))
    }

    @Test func aFailedSessionWaitsTheRetryWindowAndReportsRetryCount() {
        var (agent, _) = startedAgent()
        var low = LowestGenerator()
        #expect(agent.sessionEnded(SessionOutcome(failure: .timedOut), now: .seconds(1030), using: &low) == .armTimer(deadline: .seconds(1035)))
        #expect(agent.timerFired(now: .seconds(1034)) == .armTimer(deadline: .seconds(1035)))
        #expect(agent.timerFired(now: .seconds(1035)) == .startSession(events: [boot], retryCount: 1, pendingRequests: []))
        #expect(agent.sessionEnded(SessionOutcome(failure: .httpError(status: 503, retryAfter: .seconds(300))), now: .seconds(1040), using: &low) == .armTimer(deadline: .seconds(1340)))
        #expect(agent.timerFired(now: .seconds(1340)) == .startSession(events: [boot], retryCount: 2, pendingRequests: []))
        #expect(agent.sessionEnded(SessionOutcome(deliveredEvents: [boot], informAcknowledged: true), now: .seconds(1341), using: &low) == .none)
        #expect(agent.retryPolicy.retryCount == 0)
    }

    @Test func changedRetryParametersSizeTheNextWaitAndKeepRetryCount() {
        var (agent, _) = startedAgent()
        var low = LowestGenerator()
        #expect(agent.sessionEnded(SessionOutcome(failure: .timedOut), now: .seconds(1030), using: &low) == .armTimer(deadline: .seconds(1035)))
        // The armed wait (drawn with m = 5) stands; the next one is drawn with m = 60, k = 3000, at n = 2: [180, 540].
        #expect(agent.setRetryParameters(minimumWaitInterval: 60, intervalMultiplier: 3000, now: .seconds(1031)) == .armTimer(deadline: .seconds(1035)))
        #expect(agent.timerFired(now: .seconds(1035)) == .startSession(events: [boot], retryCount: 1, pendingRequests: []))
        #expect(agent.sessionEnded(SessionOutcome(failure: .timedOut), now: .seconds(1040), using: &low) == .armTimer(deadline: .seconds(1220)))
        #expect(agent.retryPolicy.retryCount == 2)
        #expect(agent.retryPolicy.waitWindow(forRetry: 1) == .seconds(60)...Duration.seconds(180))
    }

    @Test func aConnectionRequestDoesNotWaitOutTheRetryBackoff() {
        var (agent, _) = startedAgent()
        var low = LowestGenerator()
        _ = agent.sessionEnded(SessionOutcome(failure: .timedOut), now: .seconds(1030), using: &low)
        #expect(agent.connectionRequestReceived(now: .seconds(1031)) == .startSession(events: [boot, connectionRequest], retryCount: 1, pendingRequests: []))
    }

    @Test func periodicInformIsRaisedWhenDue() {
        var (agent, _) = startedAgent(booted: false)
        let schedule = PeriodicInformSchedule(enable: true, interval: .seconds(600), informTime: nil, countingFrom: .seconds(1000))
        #expect(agent.setPeriodicInform(schedule, now: .seconds(1000)) == .armTimer(deadline: .seconds(1600)))
        #expect(agent.timerFired(now: .seconds(1600)) == .startSession(events: [periodic], retryCount: 0, pendingRequests: []))
        var generator = SeededGenerator(seed: 1)
        #expect(agent.sessionEnded(SessionOutcome(deliveredEvents: [periodic], informAcknowledged: true), now: .seconds(1601), using: &generator) == .armTimer(deadline: .seconds(2200)))
    }

    @Test func aTransferCompleteGoesWithItsEventsAndIsForgottenOnceDelivered() {
        var (agent, _) = startedAgent(booted: false)
        let events = [EventStruct(eventCode: "7 TRANSFER COMPLETE"), EventStruct(eventCode: "M Download", commandKey: "dl1")]
        #expect(agent.requestQueued(.transferComplete(transfer), events: events, now: .seconds(1100)) == .startSession(events: events, retryCount: 0, pendingRequests: [.transferComplete(transfer)]))
        var generator = SeededGenerator(seed: 1)
        #expect(agent.sessionEnded(SessionOutcome(deliveredEvents: events, informAcknowledged: true, deliveredRequests: [.transferComplete(transfer)]), now: .seconds(1101), using: &generator) == .none)
        #expect(agent.pendingRequests.isEmpty)
        #expect(agent.eventQueue.isEmpty)
    }

    @Test func aRebootRunsAfterTheSessionAndComesBackWithMReboot() {
        var (agent, _) = startedAgent()
        var generator = SeededGenerator(seed: 1)
        #expect(agent.sessionEnded(SessionOutcome(deliveredEvents: [boot], informAcknowledged: true, postSessionAction: .reboot(commandKey: "rb")), now: .seconds(1010), using: &generator) == .runPostSessionAction(.reboot(commandKey: "rb")))
        #expect(agent.connectionRequestReceived(now: .seconds(1011)) == .none)
        #expect(agent.rebooted(now: .seconds(1100), rebootCommandKey: "rb") == .startSession(events: [boot, EventStruct(eventCode: "M Reboot", commandKey: "rb")], retryCount: 0, pendingRequests: []))
    }

    @Test func scheduleInformStartsASessionWhenDue() {
        var (agent, _) = startedAgent(booted: false)
        #expect(agent.scheduleInform(ScheduleInform(delaySeconds: 90, commandKey: "s1"), now: .seconds(1000)) == .armTimer(deadline: .seconds(1090)))
        #expect(agent.timerFired(now: .seconds(1090)) == .startSession(events: [EventStruct(eventCode: "3 SCHEDULED"), EventStruct(eventCode: "M ScheduleInform", commandKey: "s1")], retryCount: 0, pendingRequests: []))
    }

    @Test func aHeartbeatHasASessionOfItsOwn() {
        var (agent, _) = startedAgent(booted: false)
        _ = agent.eventOccurred(EventStruct(eventCode: "4 VALUE CHANGE"), now: .seconds(1000))
        var generator = SeededGenerator(seed: 1)
        _ = agent.sessionEnded(SessionOutcome(failure: .timedOut), now: .seconds(1000), using: &generator)
        let policy = HeartbeatPolicy(enable: true, reportingInterval: .seconds(60), initiationTime: nil, countingFrom: .seconds(1000))
        _ = agent.setHeartbeatPolicy(policy, now: .seconds(1000))
        #expect(agent.timerFired(now: .seconds(1060)) == .startSession(events: [EventStruct(eventCode: "14 HEARTBEAT")], retryCount: 1, pendingRequests: []))
    }

    @Test func anACSURLChangeBootstrapsAndVoidsScheduledInforms() {
        var (agent, _) = startedAgent(booted: false)
        _ = agent.scheduleInform(ScheduleInform(delaySeconds: 90, commandKey: "old"), now: .seconds(1000))
        #expect(agent.acsURLChanged(now: .seconds(1001)) == .startSession(events: [EventStruct(eventCode: "0 BOOTSTRAP")], retryCount: 0, pendingRequests: []))
        #expect(agent.scheduledInforms.nextDue == nil)
    }

    @Test func aFactoryResetForgetsEverythingAndBootstraps() {
        var (agent, _) = startedAgent(booted: false)
        _ = agent.requestQueued(.transferComplete(transfer), events: [EventStruct(eventCode: "7 TRANSFER COMPLETE")], now: .seconds(1000))
        var generator = SeededGenerator(seed: 3)
        #expect(agent.sessionEnded(SessionOutcome(informAcknowledged: true, undeliveredRequests: [.transferComplete(transfer)], postSessionAction: .factoryReset), now: .seconds(1001), using: &generator) == .runPostSessionAction(.factoryReset))
        #expect(agent.factoryResetDone(now: .seconds(1100)) == .startSession(events: [EventStruct(eventCode: "0 BOOTSTRAP"), boot], retryCount: 0, pendingRequests: []))
    }

    @Test func aRejectedRequestIsForgottenAndItsEventsWithIt() {
        var (agent, _) = startedAgent(booted: false)
        let events = [EventStruct(eventCode: "9 REQUEST DOWNLOAD")]
        let request = CPERequest.requestDownload(RequestDownload(fileType: "1 Firmware Upgrade Image", fileTypeArg: []))
        _ = agent.requestQueued(request, events: events, now: .seconds(1000))
        var generator = SeededGenerator(seed: 3)
        #expect(agent.sessionEnded(SessionOutcome(deliveredEvents: events, informAcknowledged: true, rejectedRequests: [RejectedRequest(request: request, fault: CWMPFault(.acsRequestDenied))]), now: .seconds(1001), using: &generator) == .none)
        #expect(agent.pendingRequests.isEmpty)
        #expect(agent.eventQueue.isEmpty)
    }
}
