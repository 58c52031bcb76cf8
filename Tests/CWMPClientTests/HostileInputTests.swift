// Hostile inputs. Each test shows the defence, not just "no crash": the right CWMPError, and where it matters
// that the parser stopped early (bytes fed before the refusal), so no test depends on wall-clock time.
import Foundation
import Testing
@testable import CWMPClient

@Suite struct HostileInputTests {
    let decoder = CWMPDecoder()

    /// The SOAP skeleton split around a body, so hostile parts can be put before or inside it.
    static let head = """
        <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
        xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><soapenv:Header><cwmp:ID>h</cwmp:ID></soapenv:Header><soapenv:Body>
        """
    static let tail = "</soapenv:Body></soapenv:Envelope>"

    /// Feeds `chunks` one by one and returns how many were accepted before the parser refused one.
    func chunksAccepted(_ parser: CWMPEnvelopeParser, _ chunks: some Sequence<[UInt8]>) -> Int {
        var accepted = 0
        for chunk in chunks {
            do { try parser.feed(chunk) } catch { return accepted }
            accepted += 1
        }
        return accepted
    }

    @Test func billionLaughsIsRefusedAtTheDoctype() throws {
        var doctype = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n"
        doctype += "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        for level in 2...9 {
            doctype += "<!ENTITY lol\(level) \"" + String(repeating: "&lol\(level - 1);", count: 10) + "\">\n"
        }
        doctype += "]>\n"
        let body = Self.head + "<cwmp:Reboot><CommandKey>&lol9;</CommandKey></cwmp:Reboot>" + Self.tail
        let whole = Array((doctype + body).utf8)
        #expect(decodeFailure(whole)?.error == CWMPError(.forbiddenDocumentType, ""))

        // Streamed: the chunk with the DOCTYPE is refused; the entity use that would expand is never parsed.
        let parser = decoder.makeParser()
        #expect(chunksAccepted(parser, [Array(doctype.utf8), Array(body.utf8)]) == 0)
        #expect(parser.finish() .failureCode == .forbiddenDocumentType)
    }

    @Test func xxeFileIsRefusedAndNeverRead() throws {
        let bytes = Array(("""
            <?xml version="1.0"?><!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
            """ + Self.head + "<cwmp:Reboot><CommandKey>&xxe;</CommandKey></cwmp:Reboot>" + Self.tail).utf8)
        let failure = try #require(decodeFailure(bytes))
        #expect(failure.error == CWMPError(.forbiddenDocumentType, ""))
        // Nothing of the file reaches the caller (the error, its reason, the header).
        #expect(!"\(failure)".contains("root:"))
        #expect(!failure.error.reason.contains("root:"))
    }

    /// Without a DOCTYPE an entity reference has nothing to refer to: a well-formedness error, no lookup.
    @Test func entityReferenceWithoutDTDIsMalformed() throws {
        let bytes = Array((Self.head + "<cwmp:Reboot><CommandKey>&xxe;</CommandKey></cwmp:Reboot>" + Self.tail).utf8)
        let failure = try #require(decodeFailure(bytes))
        #expect(failure.error == CWMPError(.malformedEnvelope, ""))
        #expect(failure.header.id == "h")
    }

    @Test(arguments: [
        "<!DOCTYPE Envelope SYSTEM \"http://127.0.0.1:9/evil.dtd\">",
        "<!DOCTYPE Envelope PUBLIC \"-//EVIL//DTD\" \"file:///etc/passwd\">",
        "<!DOCTYPE Envelope [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>",
    ])
    func externalDTDIsRefused(_ doctype: String) throws {
        let bytes = Array(("<?xml version=\"1.0\"?>" + doctype + Self.head + "<cwmp:Reboot/>" + Self.tail).utf8)
        let failure = try #require(decodeFailure(bytes))
        #expect(failure.error == CWMPError(.forbiddenDocumentType, ""))
        #expect(!"\(failure)".contains("root:"))
    }

    @Test func nesting10000DeepStopsAtTheLimit() throws {
        let open = Array(String(repeating: "<a>", count: 10_000).utf8)
        let whole = Array(Self.head.utf8) + open + Array(String(repeating: "</a>", count: 10_000).utf8) + Array(Self.tail.utf8)
        #expect(decodeFailure(whole)?.error == CWMPError(.envelopeTooDeep, ""))

        // Streamed in 1 KiB chunks (74 of them): refused in the first chunk that crosses depth 64.
        let parser = decoder.makeParser()
        let chunks = stride(from: 0, to: whole.count, by: 1024).map { Array(whole[$0..<min($0 + 1024, whole.count)]) }
        #expect(chunks.count > 60)
        #expect(chunksAccepted(parser, chunks) <= 1)
        #expect(parser.finish().failureCode == .envelopeTooDeep)
    }

    @Test func announcedHundredMiBIsRefusedBeforeReading() throws {
        let parser = decoder.makeParser()
        #expect(throws: CWMPError(.envelopeTooLarge, "")) { try parser.checkContentLength(100 << 20) }
        #expect(parser.finish().failureCode == .envelopeTooLarge)
        #expect(throws: Never.self) { try decoder.makeParser().checkContentLength(4 << 20) }
    }

    /// A body that never ends (a GetParameterValues with endless names), fed in 64 KiB chunks: refused once the
    /// 4 MiB limit is crossed, i.e. after at most 64 chunks of the 1,600 a 100 MiB body would take.
    @Test func overLimitStreamStopsEarly() throws {
        // 128-byte entries: 4 MiB holds 32,768 of them, below the array-entry limit, so the size limit fires.
        let name = "Device.DeviceInfo.X_Padding_" + String(repeating: "p", count: 128 - 45)
        let entry = Array("<string>\(name)</string>".utf8)
        // Whole entries only, so every chunk is well-formed continuation (about 64 KiB each).
        let pattern = Array([[UInt8]](repeating: entry, count: 65_536 / entry.count).joined())
        let first = Array((Self.head + "<cwmp:GetParameterValues><ParameterNames>").utf8)
        let chunks = [first] + Array(repeating: pattern, count: 1_600)
        let parser = decoder.makeParser()
        let accepted = chunksAccepted(parser, chunks)
        let limitInChunks = (4 << 20) / pattern.count
        #expect(accepted <= limitInChunks + 1)
        #expect(accepted >= limitInChunks - 1, "the size limit, not something else, stopped it")
        let failure = try #require(parser.finish().failure)
        #expect(failure.error == CWMPError(.envelopeTooLarge, ""))
        #expect(failure.error.reason.contains("exceeds"), "\(failure.error.reason)")
        #expect(failure.header.id == "h")
    }

    @Test func truncatedDocumentIsMalformedWithTheHeaderKept() throws {
        let full = try Fixture.bytes("inform-1-2.xml")
        for length in [0, 10, 200, 600, full.count / 2, full.count - 10] {
            let failure = try #require(decodeFailure(Array(full.prefix(length))), "length \(length)")
            #expect(failure.error == CWMPError(.malformedEnvelope, ""), "length \(length)")
            if length >= 600 { #expect(failure.header.id == "1", "length \(length)") }
        }
    }

    @Test func invalidUTF8IsMalformed() throws {
        var bytes = soap("<cwmp:Reboot><CommandKey>ab</CommandKey></cwmp:Reboot>")
        let index = try #require(String(decoding: bytes, as: UTF8.self).utf8.firstRange(of: "ab".utf8)).lowerBound
        let offset = String(decoding: bytes, as: UTF8.self).utf8.distance(from: String(decoding: bytes, as: UTF8.self).utf8.startIndex, to: index)
        bytes.replaceSubrange(offset..<offset + 2, with: [0xC3, 0x28])   // an invalid 2-byte sequence
        #expect(decodeFailure(bytes)?.error == CWMPError(.malformedEnvelope, ""))
        bytes.replaceSubrange(offset..<offset + 2, with: [0xFF, 0xFE])
        #expect(decodeFailure(bytes)?.error == CWMPError(.malformedEnvelope, ""))
    }

    @Test func nulBytesAreMalformed() throws {
        let clean = soap("<cwmp:Reboot><CommandKey>ab</CommandKey></cwmp:Reboot>")
        for position in [0, 5, clean.count / 2, clean.count - 1] {
            var bytes = clean
            bytes.insert(0, at: position)
            #expect(decodeFailure(bytes)?.error == CWMPError(.malformedEnvelope, ""), "NUL at \(position)")
        }
        #expect(decodeFailure([UInt8](repeating: 0, count: 4096))?.error == CWMPError(.malformedEnvelope, ""))
    }

    @Test func oneMiBAttributeIsRefused() throws {
        let huge = String(repeating: "x", count: 1 << 20)
        let bytes = soap("<cwmp:Reboot junk=\"\(huge)\"><CommandKey>ab</CommandKey></cwmp:Reboot>")
        let failure = try #require(decodeFailure(bytes))
        #expect(failure.error == CWMPError(.envelopeTooLarge, ""))
        #expect(failure.error.reason.contains("attribute"))
        #expect(failure.header.id == "1")
    }

    /// 40,000 attributes on one element would cost libxml2 2.9 close to a second (quadratic duplicate check);
    /// refused on the bytes before libxml2 parses the tag.
    @Test func manyAttributesOnOneElementAreRefusedBeforeLibxml2() throws {
        let attributes = (0..<40_000).map { "a\($0)=\"\"" }.joined(separator: " ")
        let bytes = soap("<cwmp:Reboot \(attributes)/>")
        let failure = try #require(decodeFailure(bytes))
        #expect(failure.error == CWMPError(.envelopeTooLarge, ""))
        #expect(failure.error.reason.contains("attributes"))
        // The guard is conservative but not trigger-happy: many `=` inside one value are fine.
        let equalsInValues = soap("<cwmp:Reboot><CommandKey>\(String(repeating: "=", count: 200))</CommandKey></cwmp:Reboot>")
        #expect(throws: Never.self) { try decoder.decode(equalsInValues) }
        // And it cannot be dodged: quotes and '>' inside values do not hide the `=` after them.
        let dodge = (0..<1_000).map { "a\($0)=\"'>\"" }.joined(separator: " ")
        #expect(decodeFailure(soap("<cwmp:Reboot \(dodge)/>"))?.error == CWMPError(.envelopeTooLarge, ""))
    }

    @Test func manyNamespaceDeclarationsAreRefused() throws {
        let declarations = (0..<200).map { "xmlns:p\($0)=\"urn:x:\($0)\"" }.joined(separator: " ")
        let failure = decodeFailure(soap("<cwmp:Reboot \(declarations)/>"))
        #expect(failure?.error == CWMPError(.envelopeTooLarge, ""))
    }

    @Test func hugeArrayIsRefusedAtTheEntryLimit() throws {
        let entries = String(repeating: "<string>D.</string>", count: 70_000)
        let bytes = soap("<cwmp:GetParameterValues><ParameterNames>\(entries)</ParameterNames></cwmp:GetParameterValues>")
        #expect(bytes.count < 4 << 20, "the entry limit, not the size limit, must be what stops it")
        let failure = try #require(decodeFailure(bytes))
        #expect(failure.error == CWMPError(.envelopeTooLarge, ""))
        #expect(failure.error.reason.contains("ParameterNames"))
        // Just under the limit decodes.
        let small = CWMPDecoder(configuration: .init(maximumArrayEntries: 100))
        let fits = soap("<cwmp:GetParameterValues><ParameterNames>\(String(repeating: "<string>D.</string>", count: 100))</ParameterNames></cwmp:GetParameterValues>")
        #expect(throws: Never.self) { try small.decode(fits) }
        let over = soap("<cwmp:GetParameterValues><ParameterNames>\(String(repeating: "<string>D.</string>", count: 101))</ParameterNames></cwmp:GetParameterValues>")
        #expect(decodeFailure(over, small)?.error == CWMPError(.envelopeTooLarge, ""))
    }

    @Test func garbageIsMalformed() throws {
        var generator = SplitMix64(seed: 42)
        for length in [1, 17, 4096, 65_536] {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            #expect(decodeFailure(bytes)?.error == CWMPError(.malformedEnvelope, ""), "\(length) random bytes")
        }
        for text in ["not xml at all", "<html><body>502 Bad Gateway</body></html>", "{\"json\": true}",
                     "<?xml version=\"1.0\"?>", "<soapenv:Envelope", "<a:Envelope xmlns:a=\"urn:x\"/>"] {
            let code = decodeFailure(Array(text.utf8))?.error.code
            #expect(code == .malformedEnvelope || code == .unsupportedNamespace, "\(text)")
        }
    }

    @Test func emptyInputIsMalformed() throws {
        #expect(decodeFailure([])?.error == CWMPError(.malformedEnvelope, ""))
        #expect(decodeFailure(Array("  \r\n\t ".utf8))?.error == CWMPError(.malformedEnvelope, ""))
        let parser = decoder.makeParser()
        #expect(parser.finish().failureCode == .malformedEnvelope, "finish() without any feed")
        let chunked = decoder.makeParser()
        try chunked.feed([UInt8]())
        #expect(chunked.finish().failureCode == .malformedEnvelope)
    }

    @Test func failedParserKeepsRefusing() throws {
        let shallow = CWMPDecoder(configuration: .init(maximumDepth: 2)).makeParser()
        #expect(throws: CWMPError(.envelopeTooDeep, "")) { try shallow.feed(soap("<cwmp:Reboot/>")) }
        #expect(throws: CWMPError(.envelopeTooDeep, "")) { try shallow.feed(soap("<cwmp:Reboot/>")) }
        #expect(shallow.finish().failureCode == .envelopeTooDeep)

        // libxml2's push mode may wait for more bytes before judging a fragment; finish() always judges.
        let parser = decoder.makeParser()
        try? parser.feed(Array("<<<<".utf8))
        #expect(parser.finish().failureCode == .malformedEnvelope)
        #expect(throws: CWMPError(.malformedEnvelope, "")) { try parser.feed(soap("<cwmp:Reboot/>")) }
    }

    /// 3,000 deterministic mutations of a real Inform (byte flips, cuts, inserted markup): every one ends in
    /// an envelope or a CWMPError from the documented set, never a crash or a hang.
    @Test func mutatedInformsNeverCrash() throws {
        let original = try Fixture.bytes("captures/vendor-informs/vmg.xml")
        let insertions: [[UInt8]] = ["<", "&", "]]>", "<!DOCTYPE x>", "\u{0}", "\"", "<a>", "</x>", "&#0;", "&#x110000;"]
            .map { Array($0.utf8) }
        var generator = SplitMix64(seed: 7)
        var outcomes: [String: Int] = [:]
        for _ in 0..<3_000 {
            var bytes = original
            for _ in 0..<(1 + Int(generator.next() % 3)) {
                let position = Int(generator.next() % UInt64(bytes.count))
                switch generator.next() % 4 {
                case 0: bytes[position] = UInt8(truncatingIfNeeded: generator.next())
                case 1: bytes.removeSubrange(position..<min(bytes.count, position + Int(generator.next() % 64)))
                case 2: bytes.insert(contentsOf: insertions[Int(generator.next() % UInt64(insertions.count))], at: position)
                default: bytes = Array(bytes.prefix(position))
                }
                if bytes.isEmpty { bytes = [0x3C] }
            }
            switch decoder.decodeOutcome(bytes) {
            case .envelope: outcomes["decoded", default: 0] += 1
            case .failure(let failure): outcomes["\(failure.error.code)", default: 0] += 1
            }
        }
        #expect(outcomes.values.reduce(0, +) == 3_000)
        #expect(outcomes["malformedEnvelope", default: 0] > 1_000, "\(outcomes)")
        #expect(Set(outcomes.keys).isSubset(of: ["decoded", "malformedEnvelope", "invalidArgument", "unknownMethod",
                                                 "unsupportedNamespace", "forbiddenDocumentType",
                                                 "mustUnderstandHeader"]), "\(outcomes)")
    }
}

extension CWMPDecodingOutcome {
    var failure: CWMPDecodingFailure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }

    var failureCode: CWMPError.ErrorCode? { failure?.error.code }
}

/// A tiny deterministic generator (SplitMix64) so the garbage and mutation tests are reproducible.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
