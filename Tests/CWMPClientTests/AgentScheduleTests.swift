import Testing
@testable import CWMPClient

/// A generator whose every word is 2^32: for ranges narrower than 2^32 values `random(in:)` then returns the
/// lower bound (Lemire's method takes the high word of word × range, and 2^32 × range is never rejected).
/// A constant 0 would be rejected forever.
struct LowestGenerator: RandomNumberGenerator {
    mutating func next() -> UInt64 { 1 << 32 }
}

private func at(_ dateTime: String) -> CWMPInstant { CWMPInstant(dateTime: CWMPDateTime(rawValue: dateTime))! }

@Suite struct AgentRetryPolicyTests {
    @Test func defaultWindowsFollowTheTableOfTR069() {
        let policy = SessionRetryPolicy()
        #expect(policy.waitWindow(forRetry: 1) == Duration.seconds(5)...Duration.seconds(10))
        #expect(policy.waitWindow(forRetry: 2) == Duration.seconds(10)...Duration.seconds(20))
        #expect(policy.waitWindow(forRetry: 9) == Duration.seconds(1280)...Duration.seconds(2560))
        #expect(policy.waitWindow(forRetry: 10) == Duration.seconds(2560)...Duration.seconds(5120))
        #expect(policy.waitWindow(forRetry: 25) == Duration.seconds(2560)...Duration.seconds(5120))
    }

    @Test func theMultiplierIsInThousandths() {
        let policy = SessionRetryPolicy(minimumWaitInterval: 10, intervalMultiplier: 1500)
        #expect(policy.waitWindow(forRetry: 1) == Duration.seconds(10)...Duration.seconds(15))
        #expect(policy.waitWindow(forRetry: 3) == Duration.milliseconds(22_500)...Duration.milliseconds(33_750))
    }

    @Test func everyWaitFallsInItsWindowAndRetryCountGrows() {
        var policy = SessionRetryPolicy()
        var generator = SeededGenerator(seed: 42)
        for n in UInt32(1)...12 {
            let wait = policy.sessionFailed(using: &generator)
            #expect(policy.retryCount == n)
            #expect(policy.waitWindow(forRetry: n).contains(wait), "retry \(n): \(wait)")
        }
    }

    @Test func firstWaitsSpreadOverTheWholeFirstWindow() {
        var generator = SeededGenerator(seed: 7)
        var waits: [Duration] = []
        for _ in 0..<1000 {
            var policy = SessionRetryPolicy()
            waits.append(policy.sessionFailed(using: &generator))
        }
        #expect(waits.allSatisfy { (Duration.seconds(5)...Duration.seconds(10)).contains($0) })
        #expect(waits.min()! < .milliseconds(5_100))
        #expect(waits.max()! > .milliseconds(9_900))
    }

    @Test func theRandomSourceDecidesWithinTheWindow() {
        var low = LowestGenerator()
        var policy = SessionRetryPolicy()
        #expect(policy.sessionFailed(using: &low) == .seconds(5))
        #expect(policy.sessionFailed(using: &low) == .seconds(10))
    }

    @Test func successResetsTheRetryCount() {
        var policy = SessionRetryPolicy()
        var generator = SeededGenerator(seed: 1)
        _ = policy.sessionFailed(using: &generator)
        _ = policy.sessionFailed(using: &generator)
        policy.sessionSucceeded()
        #expect(policy.retryCount == 0)
        #expect((Duration.seconds(5)...Duration.seconds(10)).contains(policy.sessionFailed(using: &generator)))
    }

    @Test func retryAfterOverridesAShorterWaitButNotALongerOne() {
        var low = LowestGenerator()
        var policy = SessionRetryPolicy()
        #expect(policy.sessionFailed(retryAfter: .seconds(120), using: &low) == .seconds(120))
        #expect(policy.sessionFailed(retryAfter: .seconds(1), using: &low) == .seconds(10))
    }

    @Test func parametersAreClampedToTheirRanges() {
        let policy = SessionRetryPolicy(minimumWaitInterval: 0, intervalMultiplier: 10)
        #expect(policy.minimumWaitInterval == 1)
        #expect(policy.intervalMultiplier == 1000)
        #expect(policy.waitWindow(forRetry: 10) == Duration.seconds(1)...Duration.seconds(1))
        let huge = SessionRetryPolicy(minimumWaitInterval: 65_535, intervalMultiplier: 65_535)
        #expect(huge.waitWindow(forRetry: 10).upperBound == .seconds(Int64(UInt32.max)))
    }
}

@Suite struct AgentInformScheduleTests {
    // MARK: dateTime → instant

    @Test func dateTimesParseToTheUnixTimeline() {
        #expect(at("1970-01-01T00:00:00Z") == .seconds(0))
        #expect(at("2026-11-23T14:00:00Z") == .seconds(1_795_442_400))
        #expect(at("2026-11-23T15:00:00+01:00") == .seconds(1_795_442_400))
        #expect(at("2026-11-23T14:00:00.250Z") == CWMPInstant(sinceUnixEpoch: .seconds(1_795_442_400) + .milliseconds(250)))
        #expect(CWMPInstant(dateTime: .unknown) == nil)
        #expect(CWMPInstant(dateTime: CWMPDateTime(rawValue: "0001-01-02T00:00:00Z")) == nil)
        #expect(CWMPInstant(dateTime: CWMPDateTime(rawValue: "2026-13-01T00:00:00Z")) == nil)
    }

    // MARK: PeriodicInform

    @Test func periodicInformAlignsOnPeriodicInformTime() {
        let schedule = PeriodicInformSchedule(enable: true, intervalSeconds: 3600, informTime: CWMPDateTime(rawValue: "2026-01-01T00:15:00Z"), countingFrom: .seconds(0))
        #expect(schedule.nextInform(after: at("2026-11-23T14:00:00Z")) == at("2026-11-23T14:15:00Z"))
        #expect(schedule.nextInform(after: at("2026-11-23T14:15:00Z")) == at("2026-11-23T15:15:00Z"))
        #expect(schedule.nextInform(after: at("2026-11-23T14:14:59Z")) == at("2026-11-23T14:15:00Z"))
    }

    @Test func aPeriodicInformTimeInTheFutureAlignsBackwards() {
        let schedule = PeriodicInformSchedule(enable: true, intervalSeconds: 600, informTime: CWMPDateTime(rawValue: "2030-01-01T00:05:00Z"), countingFrom: .seconds(0))
        #expect(schedule.nextInform(after: at("2026-11-23T14:00:00Z")) == at("2026-11-23T14:05:00Z"))
    }

    @Test func unknownTimeCountsFromEnableOrBoot() {
        let boot = at("2026-11-23T14:00:07Z")
        let schedule = PeriodicInformSchedule(enable: true, intervalSeconds: 300, informTime: .unknown, countingFrom: boot)
        #expect(schedule.nextInform(after: boot) == at("2026-11-23T14:05:07Z"))
        #expect(schedule.nextInform(after: at("2026-11-23T14:12:00Z")) == at("2026-11-23T14:15:07Z"))
    }

    @Test func disabledPeriodicInformNeverFires() {
        let schedule = PeriodicInformSchedule(enable: false, intervalSeconds: 300, informTime: .unknown, countingFrom: .seconds(0))
        #expect(schedule.nextInform(after: .seconds(10)) == nil)
    }

    // MARK: Heartbeat

    @Test func heartbeatAlignsOnInitiationTimeWithAtLeast30Seconds() {
        let policy = HeartbeatPolicy(enable: true, reportingInterval: .seconds(10), initiationTime: at("2026-11-23T14:00:00Z"), countingFrom: .seconds(0))
        #expect(policy.reportingInterval == .seconds(30))
        #expect(policy.nextHeartbeat(after: at("2026-11-23T14:00:45Z")) == at("2026-11-23T14:01:00Z"))
    }

    // MARK: ScheduleInform

    @Test func scheduleInformRaisesScheduledAndItsMCodeWhenDue() {
        var scheduled = ScheduledInforms()
        scheduled.schedule(ScheduleInform(delaySeconds: 60, commandKey: "a"), now: .seconds(1000))
        scheduled.schedule(ScheduleInform(delaySeconds: 30, commandKey: "b"), now: .seconds(1000))
        #expect(scheduled.nextDue == .seconds(1030))
        #expect(scheduled.takeDue(now: .seconds(1029)) == [])
        #expect(scheduled.takeDue(now: .seconds(1030)) == [EventStruct(eventCode: "3 SCHEDULED"), EventStruct(eventCode: "M ScheduleInform", commandKey: "b")])
        #expect(scheduled.nextDue == .seconds(1060))
    }

    // MARK: Start-up jitter

    @Test func jitterIsDeterministicAndWithinTheWindow() {
        let window = Duration.seconds(600)
        #expect(InformJitter.delay(agentID: "00D09E-Sensor-S1", window: window) == InformJitter.delay(agentID: "00D09E-Sensor-S1", window: window))
        #expect(InformJitter.delay(agentID: "x", window: .zero) == .zero)
        for index in 0..<1000 {
            let delay = InformJitter.delay(agentID: "dev-\(index)", window: window)
            #expect(delay >= .zero && delay < window)
        }
    }

    @Test func tenThousandAgentsSpreadOverTheWindow() {
        // 10,000 sequential ids over 600 s: ~17 per second on average. No second may get more than 0.4% of the
        // agents (a uniform spread gives a maximum near 30), and every second but at most one must be used.
        var perSecond = [Int](repeating: 0, count: 600)
        for index in 0..<10_000 {
            let delay = InformJitter.delay(agentID: "00D09E-Sensor-\(index)", window: .seconds(600))
            perSecond[Int(delay.components.seconds)] += 1
        }
        #expect(perSecond.max()! <= 40)
        #expect(perSecond.filter { $0 == 0 }.count <= 1)
    }
}
