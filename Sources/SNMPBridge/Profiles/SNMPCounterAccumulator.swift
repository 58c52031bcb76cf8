// Counter32 → 64-bit accumulation (TR-181 StatsCounter64 from a 32-bit SNMP counter). A pure value type: the
// agent's sysUpTime is its clock, passed in with every poll, so tests drive it without waiting.
//
// Rules (docs/snmp-profiles.md, "Counters"):
// - the first sample of an object starts its total at the raw value (what snmpget shows);
// - a smaller raw value than the previous one, with sysUpTime still increasing, is one wrap through 2^32;
// - sysUpTime going backwards is an agent restart: every counter restarted from zero, so the next sample of each
//   adds its raw value instead of a (false) wrap. Totals therefore never decrease while the proxier runs.
// More than one wrap between two polls cannot be seen; poll fast counters more often than 2^32 / rate.

/// Accumulated 64-bit totals of 32-bit counters of one agent, by instance OID.
public struct SNMPCounterAccumulator: Hashable, Sendable, Codable {
    struct Entry: Hashable, Sendable, Codable {
        var last: UInt32
        var total: UInt64
        /// The agent incarnation the `last` sample belongs to.
        var epoch: UInt32
    }

    private var entries: [String: Entry] = [:]
    private var lastUpTime: UInt32?
    /// Incremented at every detected agent restart.
    public private(set) var epoch: UInt32 = 0

    public init() {}

    /// Records the agent's sysUpTime (TimeTicks) of the current poll; returns whether it reveals a restart.
    @discardableResult
    public mutating func observeUpTime(_ ticks: UInt32) -> Bool {
        defer { lastUpTime = ticks }
        guard let lastUpTime, ticks < lastUpTime else { return false }
        epoch &+= 1
        return true
    }

    /// The 64-bit total for the raw Counter32 value `raw` of `oid`.
    public mutating func accumulate(_ raw: UInt32, for oid: SNMPObjectIdentifier) -> UInt64 {
        let key = oid.description
        guard var entry = entries[key] else {
            entries[key] = Entry(last: raw, total: UInt64(raw), epoch: epoch)
            return UInt64(raw)
        }
        if entry.epoch != epoch {
            entry.total &+= UInt64(raw)
        } else if raw >= entry.last {
            entry.total &+= UInt64(raw - entry.last)
        } else {
            entry.total &+= UInt64(raw) + (1 << 32) - UInt64(entry.last)
        }
        entry.last = raw
        entry.epoch = epoch
        entries[key] = entry
        return entry.total
    }
}
