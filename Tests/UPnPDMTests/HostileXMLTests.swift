import Testing
@testable import UPnPDM

/// Hostile documents end in a clear error, within the caps, whatever the parser is asked to read.
@Suite struct HostileXMLTests {
    static let xxe = """
        <?xml version="1.0"?>
        <!DOCTYPE root [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
        <root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceType>&xxe;</deviceType><UDN>uuid:x</UDN></device></root>
        """

    static let billionLaughs = """
        <?xml version="1.0"?>
        <!DOCTYPE lolz [
         <!ENTITY lol "lol">
         <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
         <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
         <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
         <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
         <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
         <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
         <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
         <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
        ]>
        <root><device><deviceType>&lol9;</deviceType><UDN>uuid:x</UDN></device></root>
        """

    @Test func externalEntityIsRefused() {
        #expect(throws: UPnPDMError(.forbiddenDocumentType, "")) {
            try UPnPDeviceDescription(parsing: Array(Self.xxe.utf8), location: "http://127.0.0.1/")
        }
    }

    @Test func billionLaughsIsRefused() {
        #expect(throws: UPnPDMError(.forbiddenDocumentType, "")) {
            try UPnPDeviceDescription(parsing: Array(Self.billionLaughs.utf8), location: "http://127.0.0.1/")
        }
    }

    @Test func externalDTDIsRefused() {
        let xml = "<?xml version=\"1.0\"?><!DOCTYPE root SYSTEM \"http://127.0.0.1:9/evil.dtd\"><root/>"
        #expect(throws: UPnPDMError(.forbiddenDocumentType, "")) { try UPnPXML.parse(Array(xml.utf8)) }
    }

    @Test func undeclaredEntityIsMalformed() {
        let xml = "<root><device><deviceType>&nope;</deviceType></device></root>"
        #expect(throws: UPnPDMError(.malformedXML, "")) { try UPnPXML.parse(Array(xml.utf8)) }
    }

    @Test func hundredThousandNestedElementsAreTooDeep() {
        let xml = String(repeating: "<a>", count: 100_000) + String(repeating: "</a>", count: 100_000)
        let error = #expect(throws: UPnPDMError(.documentTooDeep, "")) {
            try UPnPDeviceDescription(parsing: Array(xml.utf8), location: "http://127.0.0.1/", maximumBytes: 1 << 20)
        }
        // libxml2's own limit (256 without XML_PARSE_HUGE) stopped it, long before 100,000 levels were built.
        #expect(error?.reason.contains("Excessive depth") == true, "\(String(describing: error))")
    }

    @Test func nestingPastOurCapBelowLibxml2sIsTooDeep() {
        let xml = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        #expect(throws: UPnPDMError(.documentTooDeep, "")) { try UPnPXML.parse(Array(xml.utf8)) }
    }

    @Test func documentOverTheSizeCapIsRefusedUnread() {
        let bytes = [UInt8](repeating: UInt8(ascii: " "), count: 64 * 1024 * 1024)
        #expect(throws: UPnPDMError(.documentTooLarge, "")) {
            try UPnPDeviceDescription(parsing: bytes, location: "http://127.0.0.1/")
        }
    }

    @Test func tooManyElementsAreRefused() {
        let xml = "<root>" + String(repeating: "<x/>", count: 30_000) + "</root>"
        #expect(throws: UPnPDMError(.documentTooLarge, "")) {
            try UPnPDeviceDescription(parsing: Array(xml.utf8), location: "http://127.0.0.1/")
        }
    }

    @Test(arguments: ["", "not xml", "<root>", "<root></wrong>", "\u{0}<root/>", "<a/><b/>"])
    func malformedDocuments(_ text: String) {
        #expect(throws: UPnPDMError(.malformedXML, "")) { try UPnPXML.parse(Array(text.utf8)) }
    }

    @Test func malformedReasonCarriesLibxml2sMessage() throws {
        do {
            _ = try UPnPXML.parse(Array("<root></wrong>".utf8), what: "device description")
            Issue.record("parsed")
        } catch {
            #expect(error.reason.contains("device description"))
            #expect(error.reason.contains("line 1"))
        }
    }
}
