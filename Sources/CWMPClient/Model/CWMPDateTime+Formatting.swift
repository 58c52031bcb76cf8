// TR-106 §3.2 dateTime values: building them from a clock, checking their lexical form, and turning them
// back into seconds since 1970. Pure integer arithmetic on purpose: no Foundation (the gateway has no ICU),
// and no floating point in the round trip, so a value survives encode → decode unchanged.

extension CWMPDateTime {
    /// A dateTime for a point in time: UTC, written with `Z`, with `fractionDigits` (0–9) digits of the
    /// nanoseconds (truncated, not rounded, so the text never names a later instant than the clock did).
    /// Throws `invalidArgument` for an instant outside the years 0001–9999 or a bad `nanoseconds`/`fractionDigits`.
    public init(secondsSince1970 seconds: Int64, nanoseconds: UInt32 = 0, fractionDigits: Int = 0) throws(CWMPError) {
        guard nanoseconds < 1_000_000_000 else {
            throw CWMPError(.invalidArgument, "dateTime nanoseconds \(nanoseconds) is not below 1 000 000 000")
        }
        guard (0...9).contains(fractionDigits) else {
            throw CWMPError(.invalidArgument, "dateTime fractionDigits \(fractionDigits) is not in 0...9")
        }
        guard seconds >= Self.minimumSeconds, seconds <= Self.maximumSeconds else {
            throw CWMPError(.invalidArgument, "\(seconds) s since 1970 is outside the years 0001–9999")
        }
        let days = Self.floorDivide(seconds, 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = Self.civil(fromDays: days)

        var text = ""
        text.reserveCapacity(20 + (fractionDigits > 0 ? fractionDigits + 1 : 0))
        Self.append(year, width: 4, to: &text)
        text.append("-")
        Self.append(month, width: 2, to: &text)
        text.append("-")
        Self.append(day, width: 2, to: &text)
        text.append("T")
        Self.append(secondOfDay / 3600, width: 2, to: &text)
        text.append(":")
        Self.append(secondOfDay / 60 % 60, width: 2, to: &text)
        text.append(":")
        Self.append(secondOfDay % 60, width: 2, to: &text)
        if fractionDigits > 0 {
            text.append(".")
            var scale = 1
            for _ in 0..<(9 - fractionDigits) { scale *= 10 }
            Self.append(Int(nanoseconds) / scale, width: fractionDigits, to: &text)
        }
        text.append("Z")
        self.init(rawValue: text)
    }

    /// A dateTime whose lexical form has been checked (see `isValid`); throws `invalidArgument` otherwise.
    public init(validating text: String) throws(CWMPError) {
        self.init(rawValue: text)
        _ = try parsed()
    }

    /// Whether the text is an XML Schema dateTime that libxml2's validator accepts, within the years
    /// 0001–9999: `YYYY-MM-DDThh:mm:ss[.f+][Z|±hh:mm]`, a real calendar day, 24:00:00 only as end of day,
    /// offsets up to ±14:00. Negative and five-digit years (legal in XSD) are rejected: TR-106 has no use
    /// for them and the arithmetic here stays within Int64 without checks.
    public var isValid: Bool { (try? parsed()) != nil }

    /// Whether this is TR-106's Unknown Time: the instant `0001-01-01T00:00:00Z`, in any spelling of it.
    public var isUnknownTime: Bool {
        guard let instant = try? secondsSince1970() else { return false }
        return instant.seconds == Self.minimumSeconds && instant.nanoseconds == 0
    }

    /// The instant the text names, as whole seconds since 1970-01-01T00:00:00Z (floored) plus nanoseconds
    /// (fraction digits past the ninth are dropped). A value without a time zone is read as UTC: TR-106 §3.2
    /// says times are UTC unless a parameter states otherwise. Throws `invalidArgument` for invalid text.
    public func secondsSince1970() throws(CWMPError) -> (seconds: Int64, nanoseconds: UInt32) {
        let p = try parsed()
        let days = Self.days(fromCivil: p.year, p.month, p.day)
        let seconds = days * 86_400 + Int64(p.hour * 3600 + p.minute * 60 + p.second) - Int64(p.offsetSeconds)
        return (seconds, p.nanoseconds)
    }

    // MARK: - Lexical parsing

    /// The fields of a lexically valid dateTime. `hour` may be 24 only with zero minutes, seconds and fraction.
    struct Parsed {
        var year: Int, month: Int, day: Int
        var hour: Int, minute: Int, second: Int
        var nanoseconds: UInt32
        /// East of UTC is positive; 0 for `Z` and for a value without a zone.
        var offsetSeconds: Int
        var hasTimeZone: Bool
    }

    func parsed() throws(CWMPError) -> Parsed {
        let bytes = Array(rawValue.utf8)
        func fail(_ why: String) -> CWMPError {
            CWMPError(.invalidArgument, "dateTime \"\(rawValue)\" \(why)")
        }
        var index = 0
        func number(_ width: Int) -> Int? {
            guard index + width <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<(index + width)] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            index += width
            return value
        }
        func expect(_ character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
              expect("T"), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
              let second = number(2)
        else { throw fail("is not of the form YYYY-MM-DDThh:mm:ss") }
        guard year >= 1 else { throw fail("has year 0000") }
        guard (1...12).contains(month) else { throw fail("has month \(month)") }
        guard day >= 1, day <= Self.daysIn(month: month, year: year) else { throw fail("has no day \(day) in that month") }
        guard minute <= 59, second <= 59 else { throw fail("has minute or second out of range") }
        guard hour <= 23 || (hour == 24 && minute == 0 && second == 0) else { throw fail("has hour \(hour)") }

        var nanoseconds: UInt32 = 0
        if expect(".") {
            var digits = 0
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                if digits < 9 { nanoseconds = nanoseconds * 10 + UInt32(bytes[index] - UInt8(ascii: "0")) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { throw fail("has a '.' without fraction digits") }
            for _ in digits..<max(digits, 9) { nanoseconds *= 10 }
            guard hour != 24 || nanoseconds == 0 else { throw fail("has a fraction after 24:00:00") }
        }

        var offsetSeconds = 0
        var hasTimeZone = false
        if expect("Z") {
            hasTimeZone = true
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHours = number(2), expect(":"), let offsetMinutes = number(2) else {
                throw fail("has a malformed time-zone offset")
            }
            guard offsetMinutes <= 59, offsetHours * 60 + offsetMinutes <= 14 * 60 else {
                throw fail("has a time-zone offset beyond ±14:00")
            }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
            hasTimeZone = true
        }
        guard index == bytes.count else { throw fail("has trailing characters") }
        return Parsed(year: year, month: month, day: day, hour: hour, minute: minute, second: second,
                      nanoseconds: nanoseconds, offsetSeconds: offsetSeconds, hasTimeZone: hasTimeZone)
    }

    // MARK: - Proleptic Gregorian calendar (H. Hinnant's days_from_civil / civil_from_days)

    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z as seconds since 1970.
    static let minimumSeconds: Int64 = days(fromCivil: 1, 1, 1) * 86_400
    static let maximumSeconds: Int64 = days(fromCivil: 9999, 12, 31) * 86_400 + 86_399

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = floorDivide(y, 400)
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = floorDivide(z, 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    private static func append(_ value: Int, width: Int, to text: inout String) {
        let digits = String(value)
        if digits.utf8.count < width { text.append(String(repeating: "0", count: width - digits.utf8.count)) }
        text.append(digits)
    }
}
