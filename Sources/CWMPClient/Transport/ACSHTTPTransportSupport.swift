// Small HTTP pieces the ACS session needs and AsyncHTTPClient does not have: a per-session cookie jar and the
// Retry-After header. Pure values, tested on their own.
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The cookies of one CWMP session (cwmp.md §6 rule 7): every `Set-Cookie` name=value is sent back on each later
/// POST of the session, and the jar dies with the session. Attributes are ignored: the session talks to one ACS
/// origin, so Domain/Path/Secure choose nothing, and it lasts minutes, so Expires hardly matters; only a removal
/// (`Max-Age` ≤ 0) is honoured because ACSs use it to drop a cookie.
public struct ACSCookieJar: Sendable, Hashable {
    /// Bounds against a hostile ACS; far above TR-069's minimum of 512 bytes and "multiple cookies".
    public static let maximumCookies = 50
    public static let maximumBytes = 8 << 10

    public private(set) var cookies: [(name: String, value: String)] = []

    public init() {}

    /// Takes the `Set-Cookie` header values of one response.
    public mutating func store(_ setCookieValues: some Sequence<String>) {
        for header in setCookieValues {
            let attributes = header.split(separator: ";", omittingEmptySubsequences: false)
            guard let pair = attributes.first, let equals = pair.firstIndex(of: "=") else { continue }
            let name = String(pair[..<equals].trimmingSpaces())
            var value = pair[pair.index(after: equals)...].trimmingSpaces()
            if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
            guard !name.isEmpty else { continue }
            let removed = attributes.dropFirst().contains { attribute in
                let parts = attribute.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingSpaces().lowercased() == "max-age" else { return false }
                return Int(parts[1].trimmingSpaces()).map { $0 <= 0 } ?? false
            }
            cookies.removeAll { $0.name == name }
            if removed { continue }
            let size = cookies.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 2 }
            guard cookies.count < Self.maximumCookies,
                  size + name.utf8.count + value.utf8.count + 2 <= Self.maximumBytes else { continue }
            cookies.append((name, String(value)))
        }
    }

    /// The `Cookie` header value (RFC 6265 §5.4: `a=1; b=2`), nil when the jar is empty.
    public var headerValue: String? {
        cookies.isEmpty ? nil : cookies.map { "\($0.name)=\($0.value)" }.joined(separator: "; ")
    }

    public static func == (lhs: ACSCookieJar, rhs: ACSCookieJar) -> Bool { lhs.headerValue == rhs.headerValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(headerValue) }
}

/// `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP-date. GenieACS and the peer send `60` with a 503.
public enum RetryAfter {
    /// The wait it asks for; nil when absent or unreadable. An HTTP-date is measured against the response's own
    /// `Date` header when it has one (both from the ACS's clock, so clock skew cancels out), else against `now`.
    public static func parse(_ value: String, responseDate: String? = nil,
                             now: Int64 = currentEpochSeconds()) -> Duration? {
        let trimmed = value.trimmingSpacesAndTabs
        if !trimmed.isEmpty, trimmed.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            // Over a day is as good as "much later"; clamping keeps the arithmetic away from overflow.
            return .seconds(min(Int64(trimmed.prefix(9)) ?? 0, 86_400 * 365))
        }
        guard let at = epochSeconds(httpDate: trimmed) else { return nil }
        let reference = responseDate.flatMap { epochSeconds(httpDate: $0.trimmingSpacesAndTabs) } ?? now
        return .seconds(max(at - reference, 0))
    }

    /// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, the form senders must use) as seconds since 1970.
    public static func epochSeconds(httpDate: String) -> Int64? {
        let fields = httpDate.split(separator: " ")
        guard fields.count == 6, fields[0].hasSuffix(","), fields[5] == "GMT",
              let day = Int64(fields[1]), (1...31).contains(day),
              let monthIndex = months.firstIndex(of: String(fields[2])),
              let year = Int64(fields[3]), (1970...9999).contains(year) else { return nil }
        let time = fields[4].split(separator: ":")
        guard time.count == 3, let hour = Int64(time[0]), let minute = Int64(time[1]), let second = Int64(time[2]),
              (0..<24).contains(hour), (0..<60).contains(minute), (0...60).contains(second) else { return nil }
        return daysFromCivil(year: year, month: Int64(monthIndex) + 1, day: day) * 86_400
            + hour * 3_600 + minute * 60 + second
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The wall clock, for an HTTP-date without a `Date` header to compare with.
    public static func currentEpochSeconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec)
    }
}
