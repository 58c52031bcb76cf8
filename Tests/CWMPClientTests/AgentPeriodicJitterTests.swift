// Periodic informs of many agents started together (issue 3, gap 3): with PeriodicInformTime unknown each agent
// counts its phase from start + its own InformJitter slot, so 1,000 virtual devices do not send `2 PERIODIC` in the
// same second every interval; an explicit PeriodicInformTime still aligns all of them exactly. Pure state machines,
// time as an input.
import Testing
@testable import CWMPClient

@Suite struct AgentPeriodicJitterTests {
    private static let start = CWMPInstant.seconds(1_000_000)

    /// The next `2 PERIODIC` of `count` agents started at the same instant with the same schedule.
    private func nextPeriodics(count: Int, window: Duration, schedule: PeriodicInformSchedule) -> [CWMPInstant] {
        (0..<count).map { index in
            var agent = AgentStateMachine(configuration: .init(agentID: "00D09E-vd-VD-\(index)", startupJitterWindow: window))
            _ = agent.start(now: Self.start, booted: true)
            _ = agent.setPeriodicInform(schedule, now: Self.start)
            return agent.nextPeriodicInform!
        }
    }

    /// Seconds after `origin`, counted per 1-second bucket.
    private func buckets(_ instants: [CWMPInstant], from origin: CWMPInstant) -> [Int64: Int] {
        var counts: [Int64: Int] = [:]
        for instant in instants { counts[origin.duration(to: instant).components.seconds, default: 0] += 1 }
        return counts
    }

    @Test func withAnUnknownPeriodicInformTimeAThousandAgentsSpreadOverTheWindow() {
        let schedule = PeriodicInformSchedule(enable: true, interval: .seconds(3600), informTime: nil, countingFrom: Self.start)
        let instants = nextPeriodics(count: 1000, window: .seconds(120), schedule: schedule)
        let first = Self.start.advanced(by: .seconds(3600))
        // Every one within [start + interval, start + interval + window).
        #expect(instants.allSatisfy { $0 >= first && $0 < first.advanced(by: .seconds(120)) })
        let counts = buckets(instants, from: first)
        // 1,000 over 120 one-second buckets is ~8.3 each: no bucket holds more than 3 % of them, and at most a
        // few are empty (unjittered, all 1,000 fell in bucket 0).
        #expect(counts.values.max()! <= 30)
        #expect(counts.count >= 110)
    }

    @Test func theSpreadRepeatsAtEveryIntervalAndMatchesTheStartUpSlot() {
        let schedule = PeriodicInformSchedule(enable: true, interval: .seconds(600), informTime: nil, countingFrom: Self.start)
        for index in 0..<50 {
            let agentID = "dev-\(index)"
            var agent = AgentStateMachine(configuration: .init(agentID: agentID, startupJitterWindow: .seconds(120)))
            _ = agent.start(now: Self.start, booted: false)
            _ = agent.setPeriodicInform(schedule, now: Self.start)
            let slot = InformJitter.delay(agentID: agentID, window: .seconds(120))
            let due = Self.start.advanced(by: slot + .seconds(600))
            #expect(agent.nextPeriodicInform == due)
            #expect(agent.timerFired(now: due) == .startSession(events: [EventStruct(eventCode: "2 PERIODIC")],
                                                                 retryCount: 0, pendingRequests: []))
            var generator = SeededGenerator(seed: 1)
            _ = agent.sessionEnded(SessionOutcome(deliveredEvents: [EventStruct(eventCode: "2 PERIODIC")], informAcknowledged: true),
                                   now: due.advanced(by: .seconds(1)), using: &generator)
            #expect(agent.nextPeriodicInform == due.advanced(by: .seconds(600)))
        }
    }

    @Test func anIntervalShorterThanTheStartUpWindowBoundsTheJitter() {
        let schedule = PeriodicInformSchedule(enable: true, interval: .seconds(30), informTime: nil, countingFrom: Self.start)
        let instants = nextPeriodics(count: 1000, window: .seconds(120), schedule: schedule)
        let first = Self.start.advanced(by: .seconds(30))
        #expect(instants.allSatisfy { $0 >= first && $0 < first.advanced(by: .seconds(30)) })
        #expect(buckets(instants, from: first).values.max()! <= 60)
    }

    @Test func anExplicitPeriodicInformTimeStillAlignsEveryAgentExactly() {
        let informTime = CWMPInstant.seconds(1_000_000 - 15)
        let schedule = PeriodicInformSchedule(enable: true, interval: .seconds(3600), informTime: informTime, countingFrom: Self.start)
        let instants = nextPeriodics(count: 1000, window: .seconds(120), schedule: schedule)
        #expect(Set(instants) == [informTime.advanced(by: .seconds(3600))])
    }

    @Test func aZeroWindowKeepsThePhaseOfTheCountingStart() {
        var agent = AgentStateMachine(configuration: .init(agentID: "gw", startupJitterWindow: .zero))
        _ = agent.start(now: Self.start, booted: false)
        let schedule = PeriodicInformSchedule(enable: true, interval: .seconds(300), informTime: nil, countingFrom: Self.start)
        #expect(agent.setPeriodicInform(schedule, now: Self.start) == .armTimer(deadline: Self.start.advanced(by: .seconds(300))))
    }

    @Test func heartbeatsWithAnUnknownInitiationTimeSpreadToo() {
        let instants = (0..<1000).map { index -> CWMPInstant in
            var agent = AgentStateMachine(configuration: .init(agentID: "vd-\(index)", startupJitterWindow: .seconds(120)))
            _ = agent.start(now: Self.start, booted: false)
            _ = agent.setHeartbeatPolicy(HeartbeatPolicy(enable: true, reportingInterval: .seconds(60), initiationTime: nil,
                                                         countingFrom: Self.start), now: Self.start)
            return agent.nextHeartbeatInform!
        }
        let first = Self.start.advanced(by: .seconds(60))
        #expect(instants.allSatisfy { $0 >= first && $0 < first.advanced(by: .seconds(60)) })
        #expect(buckets(instants, from: first).values.max()! <= 40)
    }
}
