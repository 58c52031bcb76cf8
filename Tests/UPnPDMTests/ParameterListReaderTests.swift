import Testing
@testable import UPnPDM

/// `CMSDocuments.parseParameterValueList` reads SAX events straight into entries (`ParameterListReader`). These
/// compare it with the same rules applied to the `DMXMLElement` tree (the reader every other document uses).
@Suite struct ParameterListReaderTests {
    /// The tree rules, as parseParameterList applied them before the stream reader: the reference.
    func throughTheTree(_ text: String, limits: DMDocumentLimits = .init()) -> Result<[DMParameterValue], UPnPDMError> {
        Result { () throws(UPnPDMError) -> [DMParameterValue] in
            if DMXML.trimmed(text).isEmpty { return [] }
            let tree = try DMXML.parse(text, root: "ParameterValueList", limits: limits)
            var result: [DMParameterValue] = []
            for entry in tree.children where entry.name == "Parameter" {
                guard let path = entry.child("ParameterPath"), !path.isEmpty else {
                    throw UPnPDMError(.invalidResponse, "a Parameter of the ParameterValueList document has no ParameterPath")
                }
                result.append(DMParameterValue(path: path, value: entry.child("Value") ?? ""))
            }
            return result
        }
    }

    func streamed(_ text: String, limits: DMDocumentLimits = .init()) -> Result<[DMParameterValue], UPnPDMError> {
        Result { () throws(UPnPDMError) in try CMSDocuments.parseParameterValueList(text, limits: limits) }
    }

    static let open = "<cms:ParameterValueList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\">"
    static let close = "</cms:ParameterValueList>"

    @Test(arguments: [
        // dm_device.py's answer shape: declaration, xsi attributes, padded values
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\(open)<Parameter><ParameterPath>/UPnP/DM/DeviceInfo/A</ParameterPath>"
            + "<Value> 8 </Value></Parameter><Parameter><ParameterPath>/B</ParameterPath><Value>x &amp; y</Value></Parameter>\(close)",
        // Value absent, empty, self-closed; CDATA and a comment inside a value; other elements ignored
        "\(open)<Parameter><ParameterPath>/A</ParameterPath></Parameter><Parameter><ParameterPath>/B</ParameterPath>"
            + "<Value/></Parameter><Parameter><Value>v<![CDATA[<w>]]>x<!-- c -->y</Value><ParameterPath> /C </ParameterPath>"
            + "</Parameter><Other><Parameter><ParameterPath>/nested</ParameterPath></Parameter></Other>\(close)",
        // repeated children: the first counts; a Value with child elements reads as empty
        "\(open)<Parameter><ParameterPath>/A</ParameterPath><ParameterPath>/A2</ParameterPath><Value><x>1</x></Value>"
            + "<Value>2</Value><Extra>e</Extra></Parameter>\(close)",
        // no ParameterPath, an empty one, one with child elements: invalidResponse (after the whole parse)
        "\(open)<Parameter><Value>1</Value></Parameter>\(close)",
        "\(open)<Parameter><ParameterPath>  </ParameterPath></Parameter>\(close)",
        "\(open)<Parameter><ParameterPath><p>/A</p></ParameterPath></Parameter>\(close)",
        // a bad entry in a malformed document: malformedXML wins
        "\(open)<Parameter><Value>1</Value></Parameter><Parameter>\(close)",
        // wrong root, empty document, whitespace only, a DTD, an undeclared entity, a prefix-less root
        "<cms:ContentPathList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\"/>",
        "", "  \n ",
        "<!DOCTYPE x [<!ENTITY a \"b\">]>\(open)\(close)",
        "\(open)<Parameter><ParameterPath>&a;</ParameterPath></Parameter>\(close)",
        "<ParameterValueList><Parameter><ParameterPath>/Z</ParameterPath><Value>é€</Value></Parameter></ParameterValueList>",
    ])
    func sameResultAsTheTreeRules(_ text: String) {
        switch (streamed(text), throughTheTree(text)) {
        case (.success(let a), .success(let b)):
            #expect(a == b)
        case (.failure(let a), .failure(let b)):
            #expect(a.code == b.code)
            #expect(a.reason == b.reason)
        case (let a, let b):
            Issue.record("stream \(a), tree \(b)")
        }
    }

    @Test func capsAreTheTreeReadersCaps() {
        let many = Self.open + String(repeating: "<Parameter><ParameterPath>/A</ParameterPath></Parameter>", count: 50) + Self.close
        let limits = DMDocumentLimits(maximumElements: 100)
        guard case .failure(let error) = streamed(many, limits: limits) else { Issue.record("no error"); return }
        #expect(error.code == .documentTooLarge)
        guard case .failure(let reference) = throughTheTree(many, limits: limits) else { Issue.record("no error"); return }
        #expect(error.reason == reference.reason)
        let deep = Self.open + "<Parameter><Value><a><b><c><d><e><f><g>1</g></f></e></d></c></b></a></Value></Parameter>" + Self.close
        guard case .failure(let deepError) = streamed(deep) else { Issue.record("no error"); return }
        #expect(deepError.code == .documentTooDeep)
    }

    @Test func aRealAnswerReadsInOrder() throws {
        let text = Self.open + (1...40).map { "<Parameter><ParameterPath>/P\($0)</ParameterPath><Value>\($0)</Value></Parameter>" }
            .joined() + Self.close
        let values = try CMSDocuments.parseParameterValueList(text)
        #expect(values.map(\.path) == (1...40).map { "/P\($0)" })
        #expect(values.map(\.value) == (1...40).map { "\($0)" })
    }
}

/// UPnPXMLStream reuses one libxml2 context per thread. Synchronous tests run every parse on one thread, so each
/// parse below reuses the context the previous one left (or its replacement after a failure).
@Suite struct ReusedParserContextTests {
    static let good = "<cms:ParameterValueList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\"><Parameter>"
        + "<ParameterPath>/A</ParameterPath><Value>v</Value></Parameter></cms:ParameterValueList>"

    func readGood() throws {
        #expect(try CMSDocuments.parseParameterValueList(Self.good) == [DMParameterValue(path: "/A", value: "v")])
    }

    @Test func aFailedParseLeavesNothingBehind() throws {
        try readGood()
        #expect(throws: UPnPDMError(.malformedXML, "")) { try CMSDocuments.parseParameterValueList("<a><b></a>") }
        try readGood()
        #expect(throws: UPnPDMError(.forbiddenDocumentType, "")) {
            try CMSDocuments.parseParameterValueList("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>")
        }
        try readGood()
        // Stopped by the handler (the element cap) in the middle of the document.
        #expect(throws: UPnPDMError(.documentTooLarge, "")) {
            try CMSDocuments.parseParameterValueList(Self.good, limits: DMDocumentLimits(maximumElements: 2))
        }
        try readGood()
        // Truncated in the middle of a tag, then a document whose first bytes would continue it.
        #expect(throws: UPnPDMError(.malformedXML, "")) { try CMSDocuments.parseParameterValueList("<cms:Parameter") }
        try readGood()
    }

    @Test func encodingsDoNotCarryOverFromOneDocumentToTheNext() throws {
        let cms = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
        func envelope(_ declaration: String, _ value: [UInt8]) -> UPnPHTTPResponse {
            let head = Array("\(declaration)<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
                .utf8) + Array("<u:GetValuesResponse xmlns:u=\"\(cms)\"><A>".utf8)
            let tail = Array("</A></u:GetValuesResponse></s:Body></s:Envelope>".utf8)
            return UPnPHTTPResponse(statusCode: 200, body: head + value + tail)
        }
        let latin1 = envelope("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>", [0x63, 0x61, 0x66, 0xE9])  // café
        let utf8 = envelope("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", Array("café".utf8))
        let undeclared = envelope("", Array("café".utf8))
        for response in [latin1, utf8, latin1, undeclared, latin1, utf8] {
            // The stream reader itself (decodeResponse would hide a failure behind the tree reader), after an
            // argument document read as UTF-8 on the same context.
            #expect(try CMSDocuments.parseParameterValueList(Self.good).count == 1)
            let arguments = try #require(ResponseArgumentsReader.read(response.body, action: "GetValues", maximumBytes: 1 << 20))
            #expect(arguments == [UPnPActionArgument(name: "A", value: "café")])
        }
        // Argument documents are read as UTF-8 whatever they declare, before and after an envelope that was not.
        let declaredLatin1 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>" + Self.good.replacingOccurrences("v", "é")
        #expect(try CMSDocuments.parseParameterValueList(declaredLatin1).first?.value == "é")
    }

    @Test func manyDistinctElementNamesKeepBeingReadCorrectly() throws {
        // A device inventing element names: the reused context's dictionary would grow; it is replaced instead.
        for index in 0..<3_000 {
            let text = "<ParameterValueList><X\(index)/><Parameter><ParameterPath>/P\(index)</ParameterPath></Parameter>"
                + "</ParameterValueList>"
            #expect(try CMSDocuments.parseParameterValueList(text) == [DMParameterValue(path: "/P\(index)", value: "")])
        }
    }
}

private extension String {
    func replacingOccurrences(_ target: Character, _ replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}

/// The libxml2 writers are reused per thread too: a document that failed half-written leaves nothing behind.
@Suite struct ReusedWriterTests {
    @Test func aDocumentThatFailedHalfWrittenLeavesNothingBehind() throws {
        let expected = try CMSDocuments.contentPathList(["/A/", "/B"])
        #expect(throws: UPnPDMError(.invalidArgument, "")) { try CMSDocuments.contentPathList(["/ok", "bad\u{0}"]) }
        #expect(try CMSDocuments.contentPathList(["/A/", "/B"]) == expected)
        #expect(throws: UPnPDMError(.invalidArgument, "")) {
            try CMSDocuments.parameterValueList([DMParameterValue(path: "/P", value: "\u{1}")])
        }
        #expect(try CMSDocuments.contentPathList(["/A/", "/B"]) == expected)
        #expect(expected.hasPrefix("<cms:ContentPathList") && expected.contains("<ContentPath>/B</ContentPath>"))
        #expect(expected.ranges(of: "<cms:ContentPathList").count == 1)   // one root, nothing left over
    }

    @Test func envelopesWrittenOneAfterAnotherAreIdentical() throws {
        let cms = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
        let first = try UPnPSOAP.requestEnvelope(action: "GetValues", serviceType: cms,
                                                 arguments: [UPnPActionArgument(name: "Parameters", value: "<x/>")])
        _ = try UPnPSOAP.requestEnvelope(action: "Other", serviceType: cms, arguments: [])
        let again = try UPnPSOAP.requestEnvelope(action: "GetValues", serviceType: cms,
                                                 arguments: [UPnPActionArgument(name: "Parameters", value: "<x/>")])
        #expect(again == first)
        #expect(String(decoding: first, as: UTF8.self).hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<s:Envelope"))
        #expect(String(decoding: first, as: UTF8.self).filter { $0 == "<" }.count == 9)   // one declaration, 4 elements
    }
}
