// The undelivered events of one CWMP agent (TR-069 §3.7.1.5, cwmp.md §5) as a plain value: an array of records
// with sequence numbers. A persistence layer stores `records` + `nextSequence` (the type is Codable; which events
// are in an Inform right now is not stored) and, after a kill -9, replays them once: duplicates an interrupted
// session left behind are merged on decoding, and an acknowledged record is identified by its sequence number.

/// An event as TR-069 defines it: a code and, for `M …` codes, the CommandKey of the RPC it completes.
extension EventStruct {
    /// "Multiple" events (`M <Method>`) appear once per CommandKey; every other code once per Inform.
    var isMultiple: Bool { eventCode.hasPrefix("M ") }

    /// Two events with the same key are the same event for merging.
    var mergeKey: EventKey { EventKey(code: eventCode, commandKey: isMultiple ? commandKey : "") }

    /// 7/10/11/12 and the M codes of transfers and DU changes: the CPE must keep them until the ACS has the
    /// matching TransferComplete / DUStateChangeComplete (cwmp.md §5, "MUST NOT be discarded").
    var isCompletionEvent: Bool {
        switch eventCode {
        case EventCode.transferComplete, EventCode.autonomousTransferComplete, EventCode.duStateChangeComplete,
             EventCode.autonomousDUStateChangeComplete, "M Download", "M Upload", "M ScheduleDownload",
             "M ChangeDUState":
            true
        default:
            false
        }
    }

    /// Whether this completion event must stay queued because the request it announces was not delivered.
    func announces(oneOf undelivered: [CPERequest]) -> Bool {
        undelivered.contains { request in
            switch (eventCode, request) {
            case (EventCode.transferComplete, .transferComplete),
                 (EventCode.autonomousTransferComplete, .autonomousTransferComplete),
                 (EventCode.duStateChangeComplete, .duStateChangeComplete),
                 (EventCode.autonomousDUStateChangeComplete, .autonomousDUStateChangeComplete),
                 (EventCode.requestDownload, .requestDownload):
                return true
            case ("M Download", .transferComplete(let transfer)), ("M Upload", .transferComplete(let transfer)),
                 ("M ScheduleDownload", .transferComplete(let transfer)):
                return transfer.commandKey == commandKey
            case ("M ChangeDUState", .duStateChangeComplete(let change)):
                return change.commandKey == commandKey
            default:
                return false
            }
        }
    }
}

/// The standard event codes (TR-069 §3.7.1.5, Table 7 ?; cwmp.md §5).
public enum EventCode {
    public static let bootstrap = "0 BOOTSTRAP"
    public static let boot = "1 BOOT"
    public static let periodic = "2 PERIODIC"
    public static let scheduled = "3 SCHEDULED"
    public static let valueChange = "4 VALUE CHANGE"
    public static let kicked = "5 KICKED"
    public static let connectionRequest = "6 CONNECTION REQUEST"
    public static let transferComplete = "7 TRANSFER COMPLETE"
    public static let diagnosticsComplete = "8 DIAGNOSTICS COMPLETE"
    public static let requestDownload = "9 REQUEST DOWNLOAD"
    public static let autonomousTransferComplete = "10 AUTONOMOUS TRANSFER COMPLETE"
    public static let duStateChangeComplete = "11 DU STATE CHANGE COMPLETE"
    public static let autonomousDUStateChangeComplete = "12 AUTONOMOUS DU STATE CHANGE COMPLETE"
    public static let wakeup = "13 WAKEUP"
    public static let heartbeat = "14 HEARTBEAT"
    public static let mReboot = "M Reboot"
    public static let mScheduleInform = "M ScheduleInform"
}

struct EventKey: Hashable {
    var code: String
    var commandKey: String
}

/// The event queue of one agent. Events are acknowledged only by the InformResponse of the Inform that carried
/// them (`sessionEnded`); completion events additionally wait for their request to be delivered.
public struct EventQueue: Hashable, Sendable, Codable {
    /// One queued event; `sequence` orders records and identifies them for a persistence layer.
    public struct Record: Hashable, Sendable, Codable {
        public var sequence: UInt64
        public var eventCode: String
        public var commandKey: String

        public init(sequence: UInt64, eventCode: String, commandKey: String) {
            self.sequence = sequence
            self.eventCode = eventCode
            self.commandKey = commandKey
        }

        public var event: EventStruct { EventStruct(eventCode: eventCode, commandKey: commandKey) }
    }

    /// The EventStruct array of an Inform holds at most 64 entries (cwmp-1-x.xsd).
    public static let maximumEventsPerInform = 64

    public private(set) var records: [Record] = []
    public private(set) var nextSequence: UInt64 = 1
    /// Sequences of the records in the Inform of the session under way. Not persisted: after a restart nothing
    /// is in flight and those events simply go into the next Inform again.
    private var inFlight: Set<UInt64> = []

    private enum CodingKeys: String, CodingKey {
        case records
        case nextSequence
    }

    public init() {}

    /// A queue restored from storage; duplicates (an event raised again while its twin was in an Inform whose
    /// outcome was never recorded) are merged so each event is replayed exactly once.
    public init(records: [Record], nextSequence: UInt64) {
        self.records = records.sorted { $0.sequence < $1.sequence }
        self.nextSequence = max(nextSequence, (records.map(\.sequence).max() ?? 0) + 1)
        mergeDuplicates()
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(records: try container.decode([Record].self, forKey: .records),
                  nextSequence: try container.decode(UInt64.self, forKey: .nextSequence))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(records, forKey: .records)
        try container.encode(nextSequence, forKey: .nextSequence)
    }

    public var events: [EventStruct] { records.map(\.event) }
    public var isEmpty: Bool { records.isEmpty }
    public var isInformInFlight: Bool { !inFlight.isEmpty }

    /// Whether some event waits for a regular session (a heartbeat has sessions of its own, see below).
    public var hasEventsToSend: Bool {
        records.contains { !inFlight.contains($0.sequence) && $0.eventCode != EventCode.heartbeat }
    }

    public var hasHeartbeatToSend: Bool {
        records.contains { !inFlight.contains($0.sequence) && $0.eventCode == EventCode.heartbeat }
    }

    /// Queues an event. A single event already waiting is merged, an `M …` event once per CommandKey; one that is
    /// in an Inform awaiting its response does not count, since that Inform may be acknowledged before this
    /// new occurrence was reported. Returns false when merged.
    @discardableResult
    public mutating func add(_ event: EventStruct) -> Bool {
        let key = event.mergeKey
        if records.contains(where: { !inFlight.contains($0.sequence) && $0.event.mergeKey == key }) { return false }
        records.append(Record(sequence: nextSequence, eventCode: event.eventCode,
                              commandKey: event.isMultiple ? event.commandKey : ""))
        nextSequence += 1
        return true
    }

    /// The events for the next regular Inform, now in flight: at most `limit` (64), BOOTSTRAP and BOOT first
    /// because they explain the rest, then oldest first. What does not fit waits for the next session.
    /// `14 HEARTBEAT` is left out: Annex O gives it sessions of its own (`beginHeartbeatInform`).
    public mutating func beginInform(limit: Int = maximumEventsPerInform) -> [EventStruct] {
        precondition(inFlight.isEmpty, "one session at a time")
        let candidates = records.filter { $0.eventCode != EventCode.heartbeat }
        let framing = candidates.filter { $0.eventCode == EventCode.bootstrap || $0.eventCode == EventCode.boot }
        let rest = candidates.filter { $0.eventCode != EventCode.bootstrap && $0.eventCode != EventCode.boot }
        let chosen = (framing.sorted { $0.eventCode < $1.eventCode } + rest).prefix(max(0, limit))
        inFlight = Set(chosen.map(\.sequence))
        return chosen.map(\.event)
    }

    /// The events of a heartbeat session: `14 HEARTBEAT` alone (TR-069 Annex O ?), or nil when none is queued.
    public mutating func beginHeartbeatInform() -> [EventStruct]? {
        precondition(inFlight.isEmpty, "one session at a time")
        guard let heartbeat = records.first(where: { $0.eventCode == EventCode.heartbeat }) else { return nil }
        inFlight = [heartbeat.sequence]
        return [heartbeat.event]
    }

    /// Applies a session's outcome. Acknowledged (InformResponse received): the in-flight events are delivered,
    /// except completion events whose request is still undelivered. A delivered `0 BOOTSTRAP` also clears every
    /// older non-completion event (they concerned the ACS before the bootstrap; cwmp.md §5 — interpretation,
    /// verify against A6 §3.7.1.5). Not acknowledged: every event stays for the retry except
    /// `6 CONNECTION REQUEST`, which is never retried.
    public mutating func sessionEnded(_ outcome: SessionOutcome) {
        if outcome.informAcknowledged {
            let bootstrap = records.first { inFlight.contains($0.sequence) && $0.eventCode == EventCode.bootstrap }
            records.removeAll { record in
                if inFlight.contains(record.sequence) {
                    return !record.event.announces(oneOf: outcome.undeliveredRequests)
                }
                if let bootstrap, record.sequence < bootstrap.sequence { return !record.event.isCompletionEvent }
                return false
            }
        } else {
            records.removeAll { inFlight.contains($0.sequence) && $0.eventCode == EventCode.connectionRequest }
        }
        inFlight = []
        mergeDuplicates()
    }

    /// The Inform begun with `beginInform` / `beginHeartbeatInform` was never sent (the session was not opened):
    /// its events are simply queued again, none is discarded.
    public mutating func informNotSent() {
        inFlight = []
    }

    /// The CPE (re)booted: `4 VALUE CHANGE` and `8 DIAGNOSTICS COMPLETE` are discarded (they describe state the
    /// reboot lost), a pending `6 CONNECTION REQUEST` is void, `1 BOOT` is raised afresh, with `M Reboot` when the
    /// ACS asked for the reboot. Everything else (BOOTSTRAP, completions, M codes) survives (cwmp.md §5).
    public mutating func rebooted(rebootCommandKey: String? = nil) {
        inFlight = []
        let discarded: Set<String> = [EventCode.valueChange, EventCode.diagnosticsComplete,
                                      EventCode.connectionRequest, EventCode.boot]
        records.removeAll { discarded.contains($0.eventCode) }
        add(EventStruct(eventCode: EventCode.boot))
        if let rebootCommandKey { add(EventStruct(eventCode: EventCode.mReboot, commandKey: rebootCommandKey)) }
    }

    /// ManagementServer.URL changed: the undelivered events concerned the old ACS and are discarded, except the
    /// completion events (until their requests reach an ACS) and `1 BOOT` (the CPE did boot); `0 BOOTSTRAP` is
    /// raised for the new ACS (cwmp.md §5).
    public mutating func acsURLChanged() {
        records.removeAll { !$0.event.isCompletionEvent && $0.eventCode != EventCode.boot }
        add(EventStruct(eventCode: EventCode.bootstrap))
    }

    /// Factory reset: the CPE forgets everything, transfers included, and comes back with BOOTSTRAP + BOOT.
    public mutating func factoryReset() {
        inFlight = []
        records = []
        add(EventStruct(eventCode: EventCode.bootstrap))
        add(EventStruct(eventCode: EventCode.boot))
    }

    /// Keeps the oldest record of each merge key (only records not in flight are ever merged).
    private mutating func mergeDuplicates() {
        var seen = Set<EventKey>()
        records.removeAll { record in
            if inFlight.contains(record.sequence) { return false }
            return !seen.insert(record.event.mergeKey).inserted
        }
    }
}
