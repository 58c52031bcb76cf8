import Testing
@testable import CWMPClient

private func expectInvalidArgument(_ body: () throws(CWMPError) -> Void,
                                   sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        try body()
        Issue.record("no error thrown", sourceLocation: sourceLocation)
    } catch {
        #expect(error.code == .invalidArgument, "\(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct DateTimeTests {
    @Test func formatsSecondsSince1970InUTC() throws {
        #expect(try CWMPDateTime(secondsSince1970: 0).rawValue == "1970-01-01T00:00:00Z")
        #expect(try CWMPDateTime(secondsSince1970: 1_700_000_000).rawValue == "2023-11-14T22:13:20Z")
        #expect(try CWMPDateTime(secondsSince1970: 951_782_400).rawValue == "2000-02-29T00:00:00Z")
        #expect(try CWMPDateTime(secondsSince1970: -1).rawValue == "1969-12-31T23:59:59Z")
        #expect(try CWMPDateTime(secondsSince1970: 253_402_300_799).rawValue == "9999-12-31T23:59:59Z")
        #expect(try CWMPDateTime(secondsSince1970: -62_135_596_800) == .unknown)
    }

    @Test func formatsFractionsByTruncation() throws {
        #expect(try CWMPDateTime(secondsSince1970: 0, nanoseconds: 123_456_789, fractionDigits: 3).rawValue
            == "1970-01-01T00:00:00.123Z")
        #expect(try CWMPDateTime(secondsSince1970: 0, nanoseconds: 999_999_999, fractionDigits: 1).rawValue
            == "1970-01-01T00:00:00.9Z")
        #expect(try CWMPDateTime(secondsSince1970: 0, nanoseconds: 5, fractionDigits: 9).rawValue
            == "1970-01-01T00:00:00.000000005Z")
        #expect(try CWMPDateTime(secondsSince1970: 0, nanoseconds: 500_000_000).rawValue == "1970-01-01T00:00:00Z")
    }

    @Test func rejectsImpossibleInputs() {
        expectInvalidArgument { () throws(CWMPError) in _ = try CWMPDateTime(secondsSince1970: 253_402_300_800) }
        expectInvalidArgument { () throws(CWMPError) in _ = try CWMPDateTime(secondsSince1970: -62_135_596_801) }
        expectInvalidArgument { () throws(CWMPError) in _ = try CWMPDateTime(secondsSince1970: 0, nanoseconds: 1_000_000_000) }
        expectInvalidArgument { () throws(CWMPError) in _ = try CWMPDateTime(secondsSince1970: 0, fractionDigits: 10) }
    }

    @Test func parsesOffsetsFractionsAndZ() throws {
        #expect(try CWMPDateTime(rawValue: "2023-11-14T22:13:20Z").secondsSince1970() == (1_700_000_000, 0))
        #expect(try CWMPDateTime(rawValue: "2023-11-14T23:13:20+01:00").secondsSince1970() == (1_700_000_000, 0))
        #expect(try CWMPDateTime(rawValue: "2023-11-14T16:43:20-05:30").secondsSince1970() == (1_700_000_000, 0))
        #expect(try CWMPDateTime(rawValue: "2023-11-14T22:13:20.25Z").secondsSince1970() == (1_700_000_000, 250_000_000))
        #expect(try CWMPDateTime(rawValue: "2023-11-14T22:13:20.1234567891234Z").secondsSince1970() == (1_700_000_000, 123_456_789))
        // No zone: TR-106 times are UTC unless stated otherwise.
        #expect(try CWMPDateTime(rawValue: "2023-11-14T22:13:20").secondsSince1970() == (1_700_000_000, 0))
        // 24:00:00 is the end of the day, i.e. the next midnight.
        #expect(try CWMPDateTime(rawValue: "1969-12-31T24:00:00Z").secondsSince1970() == (0, 0))
        // Before 1970, with a fraction: floor seconds, positive nanoseconds.
        #expect(try CWMPDateTime(rawValue: "1969-12-31T23:59:59.5Z").secondsSince1970() == (-1, 500_000_000))
        #expect(try CWMPDateTime(rawValue: "2025-01-01T00:00:00+14:00").secondsSince1970() == (1_735_639_200, 0))
    }

    @Test(arguments: [
        "2024-02-29T00:00:00Z", "2000-02-29T12:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z",
        "2025-06-30T23:59:59-14:00", "2025-01-01T24:00:00.000Z", "2025-01-01T00:00:00",
    ])
    func acceptsValidLexicalForms(text: String) {
        #expect(CWMPDateTime(rawValue: text).isValid)
    }

    @Test(arguments: [
        "", "2025-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2025-04-31T00:00:00Z", "2025-13-01T00:00:00Z",
        "0000-01-01T00:00:00Z", "2025-01-01T24:00:01Z", "2025-01-01T24:00:00.5Z", "2025-01-01T00:60:00Z",
        "2025-01-01T00:00:60Z", "2025-01-01T00:00:00.Z", "2025-01-01T00:00:00+14:01", "2025-01-01T00:00:00+01:60",
        "2025-01-01T00:00:00+0100", "2025-01-01 00:00:00Z", "25-01-01T00:00:00Z", "2025-1-01T00:00:00Z",
        "2025-01-01T00:00:00Zjunk", "2025-01-01T00:00:00z", " 2025-01-01T00:00:00Z", "-0001-01-01T00:00:00Z",
    ])
    func rejectsInvalidLexicalForms(text: String) {
        #expect(!CWMPDateTime(rawValue: text).isValid)
        expectInvalidArgument { () throws(CWMPError) in _ = try CWMPDateTime(validating: text) }
    }

    @Test func unknownTimeInAnySpelling() {
        #expect(CWMPDateTime.unknown.isUnknownTime)
        #expect(CWMPDateTime(rawValue: "0001-01-01T00:00:00.000Z").isUnknownTime)
        #expect(CWMPDateTime(rawValue: "0001-01-01T01:00:00+01:00").isUnknownTime)
        #expect(!CWMPDateTime(rawValue: "0001-01-01T00:00:01Z").isUnknownTime)
        #expect(!CWMPDateTime(rawValue: "not a time").isUnknownTime)
    }

    /// format(seconds) → parse gives the seconds back, over the whole range, including leap days and
    /// century years (a fixed LCG, so a failure is reproducible).
    @Test func formattingAndParsingRoundTrip() throws {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        let low = CWMPDateTime.minimumSeconds, span = UInt64(CWMPDateTime.maximumSeconds - low + 1)
        for i in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let seconds = low + Int64((state >> 11) % span)
            let nanoseconds = UInt32((state >> 7) % 1_000_000_000)
            let digits = i % 10
            let text = try CWMPDateTime(secondsSince1970: seconds, nanoseconds: nanoseconds, fractionDigits: digits)
            var scale: UInt32 = 1
            for _ in 0..<(9 - digits) { scale *= 10 }
            let back = try text.secondsSince1970()
            #expect(back.seconds == seconds && back.nanoseconds == nanoseconds / scale * scale, "\(text) for \(seconds)")
            if back.seconds != seconds { break }
        }
    }

    @Test func calendarMatchesKnownDates() {
        // Days since 1970 of dates computed independently (POSIX `date -u -d … +%s` / 86400).
        #expect(CWMPDateTime.days(fromCivil: 2000, 3, 1) == 11_017)
        #expect(CWMPDateTime.days(fromCivil: 1900, 3, 1) == -25_508)
        #expect(CWMPDateTime.days(fromCivil: 1, 1, 1) == -719_162)
        #expect(CWMPDateTime.civil(fromDays: 11_016) == (2000, 2, 29))
        #expect(CWMPDateTime.civil(fromDays: -719_162) == (1, 1, 1))
    }
}
