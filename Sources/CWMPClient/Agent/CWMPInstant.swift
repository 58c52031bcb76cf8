// Time as an input. The agent logic never reads a clock: the shell passes "now" in. The timeline is UTC wall
// time because TR-069 schedules are calendar times (PeriodicInformTime, HeartbeatPolicy.InitiationTime are
// dateTimes); the shell converts a CWMPInstant deadline into a ContinuousClock deadline when it arms a timer
// (and re-reads wall time after a jump). A Duration since the Unix epoch keeps it a plain 16-byte value.

/// A point on the UTC timeline: the Duration since 1970-01-01T00:00:00Z. Conforms to `InstantProtocol`, so a
/// test clock is just a variable.
public struct CWMPInstant: InstantProtocol, Hashable, Sendable, Codable, CustomStringConvertible {
    public var sinceUnixEpoch: Duration

    public init(sinceUnixEpoch: Duration) { self.sinceUnixEpoch = sinceUnixEpoch }

    public static func seconds(_ seconds: Int64) -> CWMPInstant { CWMPInstant(sinceUnixEpoch: .seconds(seconds)) }

    public func advanced(by duration: Duration) -> CWMPInstant {
        CWMPInstant(sinceUnixEpoch: sinceUnixEpoch + duration)
    }

    public func duration(to other: CWMPInstant) -> Duration { other.sinceUnixEpoch - sinceUnixEpoch }

    public static func < (lhs: CWMPInstant, rhs: CWMPInstant) -> Bool { lhs.sinceUnixEpoch < rhs.sinceUnixEpoch }

    public var description: String { "\(sinceUnixEpoch) since epoch" }

    /// The instant of a TR-106 dateTime: `YYYY-MM-DDThh:mm:ss[.f…][Z|±hh:mm]` (no zone = UTC). nil for the Unknown
    /// Time, for years before 1000 (TR-106 §3.2: relative to boot, not a calendar time) and for anything else
    /// that does not parse — the callers then fall back to "no alignment".
    public init?(dateTime: CWMPDateTime) {
        let text = Array(dateTime.rawValue.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= text.count else { return nil }
            var value: Int64 = 0
            for byte in text[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard text.count >= 19, text[4] == UInt8(ascii: "-"), text[7] == UInt8(ascii: "-"),
              text[10] == UInt8(ascii: "T"), text[13] == UInt8(ascii: ":"), text[16] == UInt8(ascii: ":"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              year >= 1000, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }

        var index = 19
        var fraction = Duration.zero
        if index < text.count, text[index] == UInt8(ascii: ".") {
            index += 1
            var scale: Int64 = 100_000_000
            var nanoseconds: Int64 = 0
            while index < text.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[index]) {
                nanoseconds += Int64(text[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            fraction = .nanoseconds(nanoseconds)
        }
        var offsetSeconds: Int64 = 0
        if index < text.count {
            switch text[index] {
            case UInt8(ascii: "Z"):
                guard index + 1 == text.count else { return nil }
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                guard index + 6 == text.count, text[index + 3] == UInt8(ascii: ":"),
                      let hours = number(index + 1..<index + 3), let minutes = number(index + 4..<index + 6)
                else { return nil }
                offsetSeconds = (hours * 3600 + minutes * 60) * (text[index] == UInt8(ascii: "+") ? 1 : -1)
            default:
                return nil
            }
        }
        let days = Self.daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        self.init(sinceUnixEpoch: .seconds(seconds) + fraction)
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil).
    static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension Duration {
    /// Whole nanoseconds; every duration the agent handles (intervals, instants since 1970) fits until 2262.
    var totalNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
