// When an agent must inform on its own: PeriodicInform (ManagementServer.PeriodicInform*), ScheduleInform
// (TR-069 A.4.1.?), HeartbeatPolicy (Annex O), and a deterministic spread of the first Inform after start so
// that thousands of virtual devices (Annex J.2) do not all inform in the same second. All pure: `now` is input.

/// The first time `reference + k·interval` (k any integer) falls strictly after `now`. This is the phase rule of
/// PeriodicInformTime and HeartbeatPolicy.InitiationTime: the reference may lie in the past or the future.
func nextAlignedInstant(reference: CWMPInstant, interval: Duration, after now: CWMPInstant) -> CWMPInstant {
    let step = max(interval.totalNanoseconds, 1)
    let delta = reference.duration(to: now).totalNanoseconds
    // Floor division, so instants before the reference align the same way as those after it.
    var periods = delta / step
    if delta % step != 0, delta < 0 { periods -= 1 }
    return reference.advanced(by: .nanoseconds((periods + 1) * step))
}

/// PeriodicInformEnable / PeriodicInformInterval / PeriodicInformTime → the instants of `2 PERIODIC`.
public struct PeriodicInformSchedule: Hashable, Sendable, Codable {
    /// `PeriodicInformEnable`.
    public var enable: Bool
    /// `PeriodicInformInterval` (≥ 1 s).
    public var interval: Duration
    /// `PeriodicInformTime`; nil for the Unknown Time (or a pre-1000 boot-relative time): no phase alignment.
    public var informTime: CWMPInstant?
    /// When periodic informs started to count (enable, boot, or the last change of the parameters): the phase
    /// reference used when `informTime` is nil.
    public var countingFrom: CWMPInstant

    public init(enable: Bool, interval: Duration, informTime: CWMPInstant?, countingFrom: CWMPInstant) {
        self.enable = enable
        self.interval = max(interval, .seconds(1))
        self.informTime = informTime
        self.countingFrom = countingFrom
    }

    /// From the data-model values (PeriodicInformTime as its dateTime, Unknown Time included).
    public init(enable: Bool, intervalSeconds: UInt32, informTime: CWMPDateTime, countingFrom: CWMPInstant) {
        self.init(enable: enable, interval: .seconds(Int64(intervalSeconds)),
                  informTime: CWMPInstant(dateTime: informTime), countingFrom: countingFrom)
    }

    /// The next `2 PERIODIC` strictly after `now`: PeriodicInformTime + k·Interval, or countingFrom + k·Interval
    /// (k ≥ 1) for the Unknown Time. nil when disabled. `countingFrom` may lie after `now` (the agent's jitter, see
    /// `AgentStateMachine.setPeriodicInform`): counting starts there, and the first inform is one interval later.
    public func nextInform(after now: CWMPInstant) -> CWMPInstant? {
        guard enable else { return nil }
        if let informTime { return nextAlignedInstant(reference: informTime, interval: interval, after: now) }
        return nextAlignedInstant(reference: countingFrom, interval: interval, after: max(now, countingFrom))
    }
}

/// `ManagementServer.HeartbeatPolicy.` (TR-069 Annex O, Amd 6): Enable, ReportingInterval (≥ 30 s) and
/// InitiationTime → the instants of `14 HEARTBEAT`, whose sessions carry that event alone (`EventQueue`).
public struct HeartbeatPolicy: Hashable, Sendable, Codable {
    public static let minimumReportingInterval = Duration.seconds(30)

    public var enable: Bool
    public var reportingInterval: Duration
    /// nil for the Unknown Time: count from `countingFrom`.
    public var initiationTime: CWMPInstant?
    public var countingFrom: CWMPInstant

    public init(enable: Bool, reportingInterval: Duration, initiationTime: CWMPInstant?, countingFrom: CWMPInstant) {
        self.enable = enable
        self.reportingInterval = max(reportingInterval, Self.minimumReportingInterval)
        self.initiationTime = initiationTime
        self.countingFrom = countingFrom
    }

    /// Like `PeriodicInformSchedule.nextInform`: with the Unknown Time, one interval after `countingFrom` at the
    /// earliest.
    public func nextHeartbeat(after now: CWMPInstant) -> CWMPInstant? {
        guard enable else { return nil }
        if let initiationTime {
            return nextAlignedInstant(reference: initiationTime, interval: reportingInterval, after: now)
        }
        return nextAlignedInstant(reference: countingFrom, interval: reportingInterval, after: max(now, countingFrom))
    }
}

/// Informs the ACS asked for with ScheduleInform(DelaySeconds, CommandKey): each becomes `3 SCHEDULED` plus
/// `M ScheduleInform` with its CommandKey when due. Persist it with the event queue (CommandKeys survive a reboot).
public struct ScheduledInforms: Hashable, Sendable, Codable {
    public struct Item: Hashable, Sendable, Codable {
        public var due: CWMPInstant
        public var commandKey: String

        public init(due: CWMPInstant, commandKey: String) {
            self.due = due
            self.commandKey = commandKey
        }
    }

    public private(set) var items: [Item] = []

    public init() {}

    /// Items restored from storage (after a restart; those already due fire at the next evaluation).
    public init(items: [Item]) { self.items = items }

    public mutating func schedule(_ request: ScheduleInform, now: CWMPInstant) {
        items.append(Item(due: now.advanced(by: .seconds(Int64(request.delaySeconds))), commandKey: request.commandKey))
    }

    /// The earliest pending instant, for the agent's timer.
    public var nextDue: CWMPInstant? { items.map(\.due).min() }

    /// Removes what is due at `now` and returns its events: one `3 SCHEDULED` (a single event) and one
    /// `M ScheduleInform` per CommandKey.
    public mutating func takeDue(now: CWMPInstant) -> [EventStruct] {
        let due = items.filter { $0.due <= now }
        guard !due.isEmpty else { return [] }
        items.removeAll { $0.due <= now }
        return [EventStruct(eventCode: EventCode.scheduled)]
            + due.map { EventStruct(eventCode: EventCode.mScheduleInform, commandKey: $0.commandKey) }
    }

    /// A new ACS (URL change) or a factory reset: scheduled items of the old ACS are void (cwmp.md §5).
    public mutating func discardAll() { items = [] }
}

/// A fixed per-agent delay for the first Inform after the process starts, so that thousands of virtual devices
/// restarted together spread over `window` instead of hitting the ACS in the same second. Deterministic (the
/// same agent always gets the same slot, across restarts and machines): FNV-1a over the agent id, mixed with
/// SplitMix64's finaliser because FNV alone leaves sequential ids ("dev-1", "dev-2", …) in nearby slots.
/// Swift's `Hasher` is not usable here: it is seeded per process.
public enum InformJitter {
    public static func delay(agentID: String, window: Duration) -> Duration {
        let windowMilliseconds = window.totalNanoseconds / 1_000_000
        guard windowMilliseconds > 0 else { return .zero }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in agentID.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        hash ^= hash >> 30
        hash &*= 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 27
        hash &*= 0x94d0_49bb_1331_11eb
        hash ^= hash >> 31
        return .milliseconds(Int64(hash % UInt64(windowMilliseconds)))
    }
}
