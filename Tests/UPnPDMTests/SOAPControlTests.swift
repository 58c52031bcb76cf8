import NIOCore
import Testing
@testable import UPnPDM

private let cms = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
private let bms = "urn:schemas-upnp-org:service:BasicManagement:2"

/// A SOAP response envelope around `body`, as a device would send it.
func soapResponse(_ body: String, status: String = "200 OK", prefix: String = "s") -> String {
    let envelope = "<?xml version=\"1.0\"?>\r\n<\(prefix):Envelope xmlns:\(prefix)=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        + "\(prefix):encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><\(prefix):Body>\(body)</\(prefix):Body>"
        + "</\(prefix):Envelope>"
    return "HTTP/1.1 \(status)\r\nCONTENT-TYPE: text/xml; charset=\"utf-8\"\r\nCONTENT-LENGTH: \(envelope.utf8.count)\r\n\r\n"
        + envelope
}

func upnpFault(_ code: Int, _ description: String) -> String {
    soapResponse("<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
                 + "<UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode> \(code) </errorCode>"
                 + "<errorDescription>\(description)</errorDescription></UPnPError></detail></s:Fault>",
                 status: "500 Internal Server Error")
}

@Suite struct SOAPEnvelopeTests {
    @Test func requestEnvelopeBytes() throws {
        let bytes = try UPnPSOAP.requestEnvelope(action: "GetValues", serviceType: cms, arguments: [
            UPnPActionArgument(name: "Parameters", value: "<cms:ContentPathList><ContentPath>/A/&amp;</ContentPath>"),
            UPnPActionArgument(name: "Empty", value: ""),
        ])
        let expected = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<s:Envelope s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\" "
            + "xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
            + "<u:GetValues xmlns:u=\"urn:schemas-upnp-org:service:ConfigurationManagement:2\">"
            + "<Parameters>&lt;cms:ContentPathList&gt;&lt;ContentPath&gt;/A/&amp;amp;&lt;/ContentPath&gt;</Parameters>"
            + "<Empty></Empty></u:GetValues></s:Body></s:Envelope>\n"
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
        #expect(UPnPSOAP.soapAction("GetValues", serviceType: cms)
                == "\"urn:schemas-upnp-org:service:ConfigurationManagement:2#GetValues\"")
    }

    @Test func requestRoundTripsThroughTheResponseReader() throws {
        // The writer's envelope read back by our own reader: the same argument values, in order.
        let arguments = [UPnPActionArgument(name: "A", value: " x < y & \"z\"\r\n"), UPnPActionArgument(name: "B", value: "2")]
        let bytes = try UPnPSOAP.requestEnvelope(action: "Act", serviceType: cms, arguments: arguments)
        let envelope = try UPnPXML.parse(bytes)
        let action = try #require(envelope.child("Body")?.child("Act"))
        #expect(action.namespaceURI == cms)
        #expect(action.children.map(\.localName) == ["A", "B"])
        #expect(action.children.map(\.text) == [" x < y & \"z\"\r\n", "2"])
        #expect(action.children.allSatisfy { $0.namespaceURI == nil })
    }

    @Test(arguments: ["", "1abc", "a b", "a<b", "Ümlaut"])
    func invalidNamesAreRefused(_ name: String) {
        #expect(throws: UPnPDMError(.invalidArgument, "")) {
            try UPnPSOAP.requestEnvelope(action: name, serviceType: cms, arguments: [])
        }
        #expect(throws: UPnPDMError(.invalidArgument, "")) {
            try UPnPSOAP.requestEnvelope(action: "A", serviceType: cms, arguments: [UPnPActionArgument(name: name, value: "")])
        }
    }

    @Test(arguments: ["nul\u{0}", "bell\u{7}", "\u{FFFF}"])
    func valuesXMLCannotCarryAreRefused(_ value: String) {
        #expect(throws: UPnPDMError(.invalidArgument, "")) {
            try UPnPSOAP.requestEnvelope(action: "A", serviceType: cms, arguments: [UPnPActionArgument(name: "V", value: value)])
        }
    }

    func decode(_ raw: String, action: String = "GetValues", service: String = cms) throws(UPnPDMError) -> [UPnPActionArgument] {
        var parser = UPnPHTTPResponseParser()
        var read = parser.feed(Array(raw.utf8))
        if case .needMoreData = read { read = parser.endOfInput() }
        guard case .complete(let response) = read else {
            throw UPnPDMError(.malformedHTTPResponse, "test response incomplete")
        }
        return try UPnPSOAP.decodeResponse(response, action: action, serviceType: service, maximumBytes: 1 << 20)
    }

    @Test func outArgumentsInOrderWhateverThePrefix() throws {
        // async-upnp-client answers with `st:`; some devices qualify the arguments too.
        let raw = soapResponse("<st:GetValuesResponse xmlns:st=\"\(cms)\"><B>2</B><st:A> padded \n</st:A>"
                               + "<C/></st:GetValuesResponse>", prefix: "SOAP-ENV")
        #expect(try decode(raw) == [UPnPActionArgument(name: "B", value: "2"), UPnPActionArgument(name: "A", value: "padded"),
                                    UPnPActionArgument(name: "C", value: "")])
    }

    @Test func escapedXMLArgumentIsUnescapedText() throws {
        let raw = soapResponse("<u:GetValuesResponse xmlns:u=\"\(cms)\"><ParameterValueList>"
                               + "&lt;cms:ParameterValueList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\"&gt;&lt;Parameter&gt;"
                               + "&lt;ParameterPath&gt;/A&lt;/ParameterPath&gt;&lt;Value&gt; 8 &lt;/Value&gt;&lt;/Parameter&gt;"
                               + "&lt;/cms:ParameterValueList&gt;</ParameterValueList></u:GetValuesResponse>")
        let value = try #require(try decode(raw).first?.value)
        #expect(value == "<cms:ParameterValueList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\"><Parameter>"
                + "<ParameterPath>/A</ParameterPath><Value> 8 </Value></Parameter></cms:ParameterValueList>")
    }

    @Test func unescapedXMLArgumentComesBackAsInnerXML() throws {
        // gwsim: the list embedded as elements, `cms:` declared on the Envelope, values padded.
        let body = "<u:GetValuesResponse xmlns:u=\"\(cms)\"><ParameterValueList>\n"
            + "<cms:ParameterValueList xsi:schemaLocation=\"urn:schemas-upnp-org:dm:cms x.xsd\">"
            + "<Parameter><ParameterPath>/UPnP/DM/DeviceInfo/SoftwareVersion</ParameterPath><Value> 8 </Value></Parameter>"
            + "</cms:ParameterValueList>\n</ParameterValueList></u:GetValuesResponse>"
        let envelope = "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
            + "xmlns:cms=\"urn:schemas-upnp-org:dm:cms\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
            + "<s:Body>\(body)</s:Body></s:Envelope>"
        let raw = "HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n" + envelope
        let value = try #require(try decode(raw).first?.value)
        // Standalone: the namespaces the fragment uses are declared on it.
        let fragment = try UPnPXML.parse(Array(value.utf8))
        #expect(fragment.localName == "ParameterValueList")
        #expect(fragment.namespaceURI == "urn:schemas-upnp-org:dm:cms")
        #expect(fragment.attributes["schemaLocation"] == "urn:schemas-upnp-org:dm:cms x.xsd")
        #expect(fragment.child("Parameter")?.childText("ParameterPath") == "/UPnP/DM/DeviceInfo/SoftwareVersion")
        #expect(fragment.child("Parameter")?.child("Value")?.text == " 8 ")
    }

    @Test func innerXMLOnlyAtTheArgumentDepth() throws {
        // Envelope (1) / Body (2) / Response (3) / argument (4): only the argument is serialised.
        let bytes = Array(("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
            + "<u:GetValuesResponse xmlns:u=\"\(cms)\"><List><P>1</P></List><Text>x</Text></u:GetValuesResponse>"
            + "</s:Body></s:Envelope>").utf8)
        let envelope = try UPnPXML.parse(bytes, innerXMLDepth: 4)
        let response = try #require(envelope.child("Body")?.children.first)
        #expect(envelope.innerXML == nil)
        #expect(envelope.child("Body")?.innerXML == nil)
        #expect(response.innerXML == nil)
        #expect(response.child("List")?.innerXML == "<P>1</P>")
        #expect(response.child("Text")?.innerXML == nil)
    }

    @Test func upnpFaultBecomesActionFailed() throws {
        do {
            _ = try decode(upnpFault(703, "No Such Name"))
            Issue.record("no error")
        } catch {
            #expect(error.code == .actionFailed)
            #expect(error.upnpErrorCode == 703)
            #expect(error.upnpErrorDescription == "No Such Name")
            #expect(error.upnpServiceType == cms)
            #expect(error.cwmpFault.code.rawValue == 9005)
        }
    }

    @Test func faultWithoutUPnPErrorIsStillAnActionFailure() throws {
        let raw = soapResponse("<s:Fault><faultcode>s:Server</faultcode><faultstring>boom</faultstring></s:Fault>",
                               status: "500 Internal Server Error")
        do {
            _ = try decode(raw)
            Issue.record("no error")
        } catch {
            #expect(error.code == .actionFailed)
            #expect(error.upnpErrorCode == nil)
            #expect(error.reason.contains("boom"))
        }
    }

    @Test func plainHTTP400IsAnUnexpectedStatus() throws {
        // async-upnp-client 0.49.0 answers an unknown action like this.
        #expect(throws: UPnPDMError(.unexpectedHTTPStatus, "")) {
            try decode("HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nBad Request")
        }
    }

    @Test func wrongResponseElementIsMalformed() throws {
        #expect(throws: UPnPDMError(.malformedSOAPResponse, "")) {
            try decode(soapResponse("<u:GetOtherResponse xmlns:u=\"\(cms)\"/>"))
        }
        #expect(throws: UPnPDMError(.malformedSOAPResponse, "")) { try decode(soapResponse("")) }
        #expect(throws: UPnPDMError(.malformedSOAPResponse, "")) {
            try decode("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n<root/>")
        }
        #expect(throws: UPnPDMError(.malformedXML, "")) { try decode("HTTP/1.1 200 OK\r\n\r\n<s:Envelope") }
    }

    @Test func doctypeInAResponseIsRefused() throws {
        let raw = "HTTP/1.0 200 OK\r\n\r\n<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]>"
            + "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body/></s:Envelope>"
        #expect(throws: UPnPDMError(.forbiddenDocumentType, "")) { try decode(raw) }
    }
}

/// `decodeResponse` reads the usual answer with a SAX pass (`ResponseArgumentsReader`) and hands everything else to
/// the tree reader (`decodeResponseTree`). These check that both give the same result, and which one answered.
@Suite struct ResponseStreamReaderTests {
    static let envelopeStart = "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        + "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"

    func response(_ xml: String, status: Int = 200) -> UPnPHTTPResponse {
        UPnPHTTPResponse(statusCode: status, reasonPhrase: "OK", body: Array(xml.utf8))
    }

    func tree(_ response: UPnPHTTPResponse, action: String) -> Result<[UPnPActionArgument], UPnPDMError> {
        Result { () throws(UPnPDMError) in
            try UPnPSOAP.decodeResponseTree(response, action: action, serviceType: cms, maximumBytes: 1 << 20)
        }
    }

    func decoded(_ response: UPnPHTTPResponse, action: String) -> Result<[UPnPActionArgument], UPnPDMError> {
        Result { () throws(UPnPDMError) in
            try UPnPSOAP.decodeResponse(response, action: action, serviceType: cms, maximumBytes: 1 << 20)
        }
    }

    /// Usual answers: the stream reads them, with the tree reader's values.
    @Test(arguments: [
        // dm_device.py / async-upnp-client: XML declaration with single quotes, `st:` prefix, an escaped document.
        "<?xml version='1.0' encoding='utf-8'?>\n\(envelopeStart)<st:GetValuesResponse xmlns:st=\"\(cms)\">"
            + "<ParameterValueList>&lt;?xml version=\"1.0\"?&gt;&lt;cms:ParameterValueList&gt;&lt;Parameter&gt;"
            + "&lt;Value&gt;a &amp;amp; b&lt;/Value&gt;&lt;/Parameter&gt;&lt;/cms:ParameterValueList&gt;"
            + "</ParameterValueList></st:GetValuesResponse></s:Body></s:Envelope>",
        // padded values, an empty element, a self-closed one, CDATA, a comment and an entity inside a value
        "\(envelopeStart)<u:GetValuesResponse xmlns:u=\"\(cms)\"><A> \t padded \r\n</A><B></B><C/>"
            + "<D>x<![CDATA[<y>]]>z</D><E>1<!-- note -->2</E><F>&#x20AC; &lt;&amp;&gt; é</F></u:GetValuesResponse>"
            + "</s:Body></s:Envelope>",
        // a Header before the Body, qualified arguments, no arguments at all
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Header><h:X xmlns:h=\"urn:h\">"
            + "<Y>1</Y></h:X></s:Header><s:Body><u:GetValuesResponse xmlns:u=\"\(cms)\"><u:A>1</u:A>"
            + "</u:GetValuesResponse></s:Body></s:Envelope>",
        "\(envelopeStart)<u:GetValuesResponse xmlns:u=\"\(cms)\"></u:GetValuesResponse></s:Body></s:Envelope>",
        // ISO-8859-1 declared: both readers honour the declaration
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\(envelopeStart)<u:GetValuesResponse xmlns:u=\"\(cms)\">"
            + "<A>caf\u{E9}</A></u:GetValuesResponse></s:Body></s:Envelope>",
    ])
    func usualAnswersAreStreamedWithTheTreeReadersValues(_ xml: String) throws {
        var bytes = Array(xml.utf8)
        if xml.contains("ISO-8859-1") { bytes = xml.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) } }
        let response = UPnPHTTPResponse(statusCode: 200, reasonPhrase: "OK", body: bytes)
        let streamed = try #require(ResponseArgumentsReader.read(bytes, action: "GetValues", maximumBytes: 1 << 20))
        #expect(streamed == (try tree(response, action: "GetValues").get()))
        #expect(try decoded(response, action: "GetValues").get() == streamed)
    }

    @Test func aUTF16AnswerWithAByteOrderMarkIsStreamed() throws {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\(Self.envelopeStart)<u:GetValuesResponse xmlns:u=\"\(cms)\">"
            + "<A>caf\u{E9} \u{20AC}</A></u:GetValuesResponse></s:Body></s:Envelope>"
        var bytes: [UInt8] = [0xFF, 0xFE]
        for unit in xml.utf16 { bytes += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        for _ in 0..<3 {   // the reused parser context, each time from a clean start
            let streamed = try #require(ResponseArgumentsReader.read(bytes, action: "GetValues", maximumBytes: 1 << 20))
            #expect(streamed == [UPnPActionArgument(name: "A", value: "caf\u{E9} \u{20AC}")])
        }
    }

    /// Everything else goes to the tree reader: the stream declines, and the result (value or error) is the tree's.
    @Test(arguments: [
        // unescaped XML inside an argument (gwsim): the tree serialises it
        "\(envelopeStart)<u:GetValuesResponse xmlns:u=\"\(cms)\"><L><P>1</P></L></u:GetValuesResponse></s:Body></s:Envelope>",
        // a fault with status 200 (some devices)
        "\(envelopeStart)<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
            + "<UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>703</errorCode></UPnPError></detail>"
            + "</s:Fault></s:Body></s:Envelope>",
        // the answer followed by a Fault in the same Body
        "\(envelopeStart)<u:GetValuesResponse xmlns:u=\"\(cms)\"/><s:Fault><faultstring>x</faultstring></s:Fault>"
            + "</s:Body></s:Envelope>",
        // wrong response element, empty Body, not an Envelope, two Bodies, malformed, a DOCTYPE
        "\(envelopeStart)<u:GetOtherResponse xmlns:u=\"\(cms)\"/></s:Body></s:Envelope>",
        "\(envelopeStart)</s:Body></s:Envelope>",
        "<root><Body><GetValuesResponse/></Body></root>",
        "\(envelopeStart)<u:GetValuesResponse xmlns:u=\"\(cms)\"/></s:Body><s:Body/></s:Envelope>",
        "\(envelopeStart)<u:GetValuesResponse xmlns:u=\"\(cms)\"><A>1</B></u:GetValuesResponse></s:Body></s:Envelope>",
        "<!DOCTYPE x [<!ENTITY a \"b\">]>\(envelopeStart)<u:GetValuesResponse xmlns:u=\"\(cms)\"><A>&a;</A>"
            + "</u:GetValuesResponse></s:Body></s:Envelope>",
        "\(envelopeStart)<u:GetValuesResponse xmlns:u=\"\(cms)\"><A>&undeclared;</A></u:GetValuesResponse></s:Body></s:Envelope>",
    ])
    func everythingElseIsTheTreeReadersCase(_ xml: String) {
        let response = response(xml)
        #expect(ResponseArgumentsReader.read(response.body, action: "GetValues", maximumBytes: 1 << 20) == nil)
        switch (decoded(response, action: "GetValues"), tree(response, action: "GetValues")) {
        case (.success(let a), .success(let b)):
            #expect(a == b)
        case (.failure(let a), .failure(let b)):
            #expect(a.code == b.code)
            #expect(a.reason == b.reason)
        case (let a, let b):
            Issue.record("decodeResponse gave \(a), the tree reader \(b)")
        }
    }

    @Test func longTextInManyPiecesIsKeptWhole() throws {
        // ~60,000 pieces (every entity reference splits the text) growing the text buffer many times over.
        let value = String(repeating: "&lt;a b=&quot;1&quot;&gt;x&amp;y&lt;/a&gt;", count: 6_000)
        let xml = "\(Self.envelopeStart)<u:GetValuesResponse xmlns:u=\"\(cms)\"><L>\(value)</L><M>2</M>"
            + "</u:GetValuesResponse></s:Body></s:Envelope>"
        let response = response(xml)
        let streamed = try #require(ResponseArgumentsReader.read(response.body, action: "GetValues", maximumBytes: 1 << 20))
        #expect(streamed.count == 2)
        #expect(streamed.first?.value == String(repeating: "<a b=\"1\">x&y</a>", count: 6_000))
        #expect(streamed == (try tree(response, action: "GetValues").get()))
    }

    @Test func caps() {
        let xml = "\(Self.envelopeStart)<u:GetValuesResponse xmlns:u=\"\(cms)\"><A>1</A></u:GetValuesResponse></s:Body></s:Envelope>"
        let bytes = Array(xml.utf8)
        // Over the byte cap: declined unread (the tree reader then refuses it with .documentTooLarge).
        #expect(ResponseArgumentsReader.read(bytes, action: "GetValues", maximumBytes: bytes.count - 1) == nil)
        #expect(ResponseArgumentsReader.read(bytes, action: "GetValues", maximumBytes: bytes.count) != nil)
        #expect(throws: UPnPDMError(.documentTooLarge, "")) {
            try UPnPSOAP.decodeResponse(response(xml), action: "GetValues", serviceType: cms, maximumBytes: bytes.count - 1)
        }
        // Deeper than the envelope depth cap inside a Header: the tree reader's documentTooDeep.
        let deep = String(repeating: "<x>", count: 70) + String(repeating: "</x>", count: 70)
        let nested = "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Header>\(deep)</s:Header>"
            + "<s:Body><u:GetValuesResponse xmlns:u=\"\(cms)\"/></s:Body></s:Envelope>"
        #expect(ResponseArgumentsReader.read(Array(nested.utf8), action: "GetValues", maximumBytes: 1 << 20) == nil)
        #expect(throws: UPnPDMError(.documentTooDeep, "")) {
            try UPnPSOAP.decodeResponse(response(nested), action: "GetValues", serviceType: cms, maximumBytes: 1 << 20)
        }
    }
}

/// `UPnPControlClient` against in-test servers on loopback.
@Suite struct ControlClientTests {
    let client = UPnPControlClient(actionTimeout: .seconds(2))

    @Test func requestOnTheWireAndOutArguments() async throws {
        let script = ServerScript.respond(soapResponse(
            "<u:GetDeviceStatusResponse xmlns:u=\"\(bms)\"><DeviceStatus>OK,2026-11-23T12:37:21Z</DeviceStatus>"
            + "</u:GetDeviceStatusResponse>"))
        try await withMisbehavingServer(script) { server in
            let endpoint = UPnPServiceEndpoint(serviceType: bms, controlURL: server.url("/upnp/control/bms"))
            let out = try await client.invoke("GetDeviceStatus", arguments: [], on: endpoint)
            #expect(out == [UPnPActionArgument(name: "DeviceStatus", value: "OK,2026-11-23T12:37:21Z")])
            let request = String(decoding: try #require(server.receivedRequests.first), as: UTF8.self)
            #expect(request.hasPrefix("POST /upnp/control/bms HTTP/1.1\r\n"))
            #expect(request.contains("Content-Type: text/xml; charset=\"utf-8\"\r\n"))
            #expect(request.contains("SOAPACTION: \"\(bms)#GetDeviceStatus\"\r\n"))
            #expect(request.contains("<u:GetDeviceStatus xmlns:u=\"\(bms)\"></u:GetDeviceStatus>"))
            let body = request.split(separator: "\r\n\r\n", maxSplits: 1).last ?? ""
            #expect(request.contains("Content-Length: \(body.utf8.count)\r\n"))
        }
    }

    @Test func faultOverTheWire() async throws {
        try await withMisbehavingServer(.respond(upnpFault(706, "No Such Test"))) { server in
            let endpoint = UPnPServiceEndpoint(serviceType: bms, controlURL: server.url("/bms"))
            do {
                _ = try await client.invoke("GetTestInfo", arguments: [UPnPActionArgument(name: "TestID", value: "99")],
                                            on: endpoint)
                Issue.record("no error")
            } catch let error as UPnPDMError {
                #expect(error.code == .actionFailed)
                #expect(error.upnpErrorCode == 706)
                #expect(error.cwmpFault.code.rawValue == 9003)  // BMS 706, not CMS 706 (9008)
            }
        }
    }

    @Test func gwsimStyleHTTP10WithoutLength() async throws {
        let envelope = "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
            + "<u:GetSupportedParametersResponse xmlns:u=\"\(cms)\"><Result> <cms:StructurePathList "
            + "xmlns:cms=\"urn:schemas-upnp-org:dm:cms\"><StructurePath>/UPnP/DM/</StructurePath></cms:StructurePathList>"
            + " </Result></u:GetSupportedParametersResponse></s:Body></s:Envelope>"
        let script = ServerScript([.writeString("HTTP/1.1 200 OK\r\nCONTENT-LENGTH:\r\nEXT:\r\n\r\n"),
                                   .pause(.milliseconds(20)), .writeString(envelope), .close])
        try await withMisbehavingServer(script) { server in
            let endpoint = UPnPServiceEndpoint(serviceType: cms, controlURL: server.url("/upnp/control/cms"))
            let out = try await client.invoke("GetSupportedParameters", arguments: [
                UPnPActionArgument(name: "StartingNode", value: "/"), UPnPActionArgument(name: "SearchDepth", value: "0"),
            ], on: endpoint)
            #expect(out.map(\.name) == ["Result"])
            #expect(out.first?.value == "<cms:StructurePathList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\">"
                    + "<StructurePath>/UPnP/DM/</StructurePath></cms:StructurePathList>")
            let request = String(decoding: try #require(server.receivedRequests.first), as: UTF8.self)
            #expect(request.contains("<StartingNode>/</StartingNode><SearchDepth>0</SearchDepth>"))
        }
    }

    @Test func slowDeviceHitsTheActionDeadline() async throws {
        let short = UPnPControlClient(actionTimeout: .milliseconds(300))
        try await withMisbehavingServer(ServerScript([.hang])) { server in
            let endpoint = UPnPServiceEndpoint(serviceType: cms, controlURL: server.url("/c"))
            await #expect(throws: UPnPDMError(.deadlineExceeded, "")) {
                try await short.invoke("GetValues", arguments: [], on: endpoint)
            }
        }
    }
}
