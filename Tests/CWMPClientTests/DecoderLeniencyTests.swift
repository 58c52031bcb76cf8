// One test per leniency rule the decoder promises (see the file comment of SOAP/MessageDecoding.swift).
import Testing
@testable import CWMPClient

@Suite struct DecoderLeniencyTests {
    let decoder = CWMPDecoder()

    static let rebootBody = "<cwmp:Reboot><CommandKey>ck</CommandKey></cwmp:Reboot>"

    @Test(arguments: [("urn:dslforum-org:cwmp-1-0", CWMPNamespace.cwmp10),
                      ("urn:dslforum-org:cwmp-1-1", .cwmp11),
                      ("urn:dslforum-org:cwmp-1-2", .cwmp12)])
    func reportsEachSupportedNamespace(_ uri: String, _ namespace: CWMPNamespace) throws {
        let envelope = try decoder.decode(soap(Self.rebootBody, namespace: uri))
        #expect(envelope.namespace == namespace)
        #expect(envelope.message == .reboot(Reboot(commandKey: "ck")))
    }

    @Test func anyPrefixForEveryNamespace() throws {
        let bytes = Array("""
            <S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:dslforum-org:cwmp-1-1">
            <S:Header><ns1:ID S:mustUnderstand="1">p</ns1:ID></S:Header>
            <S:Body><ns1:Reboot><CommandKey>ck</CommandKey></ns1:Reboot></S:Body></S:Envelope>
            """.utf8)
        let envelope = try decoder.decode(bytes)
        #expect(envelope.namespace == .cwmp11)
        #expect(envelope.header.id == "p")
        #expect(envelope.message == .reboot(Reboot(commandKey: "ck")))
    }

    /// A default namespace on the RPC element also (wrongly, per the XSD) qualifies its arguments: still fine.
    @Test func defaultNamespaceOnTheRPC() throws {
        let envelope = try decoder.decode(soap("""
            <GetParameterNames xmlns="urn:dslforum-org:cwmp-1-1"><ParameterPath>Device.</ParameterPath>
            <NextLevel>1</NextLevel></GetParameterNames>
            """, namespace: "urn:dslforum-org:cwmp-1-0"))
        #expect(envelope.namespace == .cwmp11, "the RPC element's namespace decides")
        #expect(envelope.message == .getParameterNames(GetParameterNames(parameterPath: "Device.", nextLevel: true)))
    }

    @Test func missingXSITypeGivesANilType() throws {
        let envelope = try decoder.decode(soap("""
            <cwmp:SetParameterValues><ParameterList><ParameterValueStruct><Name>Device.X</Name>
            <Value> keep  spaces </Value></ParameterValueStruct></ParameterList><ParameterKey/></cwmp:SetParameterValues>
            """))
        guard case .setParameterValues(let spv) = envelope.message else { Issue.record("kind"); return }
        #expect(spv.parameterList == [ParameterValueStruct(name: "Device.X", value: " keep  spaces ", type: nil)])
    }

    /// Whitespace around elements is formatting; around a value it is trimmed for non-string types only.
    @Test func whitespaceAroundValuesAndElements() throws {
        let envelope = try decoder.decode(soap("""
            <cwmp:GetParameterValuesResponse>
              <ParameterList>
                <ParameterValueStruct>
                  <Name>
                     Device.DeviceInfo.UpTime
                  </Name>
                  <Value xsi:type="xsd:unsignedInt">
                     42
                  </Value>
                </ParameterValueStruct>
                <ParameterValueStruct>
                  <Name>Device.DeviceInfo.Description</Name>
                  <Value xsi:type="xsd:string">  padded  </Value>
                </ParameterValueStruct>
              </ParameterList>
            </cwmp:GetParameterValuesResponse>
            """))
        #expect(envelope.message == .getParameterValuesResponse(GetParameterValuesResponse(parameterList: [
            ParameterValueStruct(name: "Device.DeviceInfo.UpTime", value: "42", type: .unsignedInt),
            ParameterValueStruct(name: "Device.DeviceInfo.Description", value: "  padded  ", type: .string),
        ])))
    }

    /// `cwmp:` used but never declared: libxml2 reports a (non-fatal) namespace error and passes no URI.
    /// Decision: accept the element by its local name; the namespace comes from a header entry, else from any
    /// cwmp declaration in the envelope, else from `Configuration.namespaceWhenUndeclared`.
    @Test func undeclaredCWMPPrefix() throws {
        let undeclared = Array("""
            <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
            <soapenv:Header><cwmp:ID soapenv:mustUnderstand="1">u</cwmp:ID></soapenv:Header>
            <soapenv:Body><cwmp:Reboot><CommandKey>ck</CommandKey></cwmp:Reboot></soapenv:Body></soapenv:Envelope>
            """.utf8)
        let envelope = try decoder.decode(undeclared)
        #expect(envelope.header.id == "u")
        #expect(envelope.message == .reboot(Reboot(commandKey: "ck")))
        #expect(envelope.namespace == .cwmp12)
        let configured = CWMPDecoder(configuration: .init(namespaceWhenUndeclared: .cwmp10))
        #expect(try configured.decode(undeclared).namespace == .cwmp10)

        // Declared only on the header entry: the body borrows it.
        let headerOnly = Array("""
            <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
            <soapenv:Header><cwmp:ID xmlns:cwmp="urn:dslforum-org:cwmp-1-1">h</cwmp:ID></soapenv:Header>
            <soapenv:Body><cwmp:Reboot/></soapenv:Body></soapenv:Envelope>
            """.utf8)
        #expect(try decoder.decode(headerOnly).namespace == .cwmp11)
    }

    /// xsi:type prefixes: any prefix bound to XSD, the conventional ones even undeclared, and SOAP-ENC types.
    @Test func xsiTypePrefixes() throws {
        let envelope = try decoder.decode(soap("""
            <cwmp:GetParameterValuesResponse><ParameterList xmlns:q="http://www.w3.org/2001/XMLSchema"
                xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/">
            <ParameterValueStruct><Name>A</Name><Value xsi:type="q:int">-1</Value></ParameterValueStruct>
            <ParameterValueStruct><Name>B</Name><Value xsi:type="xs:unsignedInt">2</Value></ParameterValueStruct>
            <ParameterValueStruct><Name>C</Name><Value xsi:type="SOAP-ENC:string">c</Value></ParameterValueStruct>
            <ParameterValueStruct><Name>D</Name><Value xsi:type="soap-enc:base64">ZA==</Value></ParameterValueStruct>
            <ParameterValueStruct><Name>E</Name><Value xsi:type="xsd:base64Binary">ZQ==</Value></ParameterValueStruct>
            <ParameterValueStruct><Name>F</Name><Value xsi:type="xsd:anyURI">http://f</Value></ParameterValueStruct>
            <ParameterValueStruct><Name>G</Name><Value xsi:type="xsd:dateTime"> 2025-01-01T00:00:00Z </Value></ParameterValueStruct>
            <ParameterValueStruct><Name>H</Name><Value xsi:type="xsd:hexBinary">0a</Value></ParameterValueStruct>
            <ParameterValueStruct><Name>I</Name><Value xsi:type="xsd:long">-9</Value></ParameterValueStruct>
            </ParameterList></cwmp:GetParameterValuesResponse>
            """))
        guard case .getParameterValuesResponse(let response) = envelope.message else { Issue.record("kind"); return }
        #expect(response.parameterList.map(\.type) == [.int, .unsignedInt, .string, .base64, .base64, nil, .dateTime,
                                                         .hexBinary, .long])
        #expect(response.parameterList[6].value == "2025-01-01T00:00:00Z")
    }

    /// A prefix that is declared, but not to XSD, is not taken for XSD just because of its name.
    @Test func xsiTypeHonoursTheDeclaration() throws {
        let envelope = try decoder.decode(soap("""
            <cwmp:GetParameterValuesResponse><ParameterList xmlns:xsd="urn:not-xml-schema">
            <ParameterValueStruct><Name>A</Name><Value xsi:type="xsd:int">1</Value></ParameterValueStruct>
            </ParameterList></cwmp:GetParameterValuesResponse>
            """))
        guard case .getParameterValuesResponse(let response) = envelope.message else { Issue.record("kind"); return }
        #expect(response.parameterList[0].type == nil)
    }

    @Test func noMoreRequestsIsIgnored() throws {
        for header in ["<cwmp:NoMoreRequests>1</cwmp:NoMoreRequests>",
                       "<cwmp:NoMoreRequests soapenv:mustUnderstand=\"1\">1</cwmp:NoMoreRequests>"] {
            let envelope = try decoder.decode(soap(Self.rebootBody, header: header + "<cwmp:ID>n</cwmp:ID>"))
            #expect(envelope.header == CWMPHeader(id: "n"))
        }
    }

    @Test(arguments: ["", " soapenc:arrayType=\"xsd:string[7]\"", " soapenc:arrayType=\"xsd:string[0]\"",
                      " soapenc:arrayType=\"garbage\""])
    func arrayTypeMissingOrWrongUsesTheActualCount(_ attribute: String) throws {
        let envelope = try decoder.decode(soap("""
            <cwmp:GetParameterValues><ParameterNames\(attribute)><string>A</string><string>B</string>\
            <string>C</string></ParameterNames></cwmp:GetParameterValues>
            """))
        #expect(envelope.message == .getParameterValues(GetParameterValues(parameterNames: ["A", "B", "C"])))
    }

    @Test(arguments: [("0", false), ("1", true), ("true", true), ("false", false), (" true\n", true)])
    func booleans(_ lexical: String, _ value: Bool) throws {
        let envelope = try decoder.decode(soap("""
            <cwmp:GetParameterNames><ParameterPath>Device.</ParameterPath><NextLevel>\(lexical)</NextLevel>\
            </cwmp:GetParameterNames>
            """))
        #expect(envelope.message == .getParameterNames(GetParameterNames(parameterPath: "Device.", nextLevel: value)))
    }

    @Test(arguments: ["TRUE", "yes", "", "2"])
    func nonBooleansAreRefused(_ lexical: String) throws {
        let failure = decodeFailure(soap("""
            <cwmp:GetParameterNames><ParameterPath>Device.</ParameterPath><NextLevel>\(lexical)</NextLevel>\
            </cwmp:GetParameterNames>
            """))
        #expect(failure?.error == CWMPError(.invalidArgument, ""))
    }

    @Test func argumentOrderDoesNotMatter() throws {
        let envelope = try decoder.decode(soap("""
            <cwmp:Download><URL>http://u</URL><DelaySeconds>3</DelaySeconds><FileType>1 Firmware Upgrade Image</FileType>
            <CommandKey>c</CommandKey></cwmp:Download>
            """))
        #expect(envelope.message == .download(Download(commandKey: "c", fileType: "1 Firmware Upgrade Image",
                                                       url: "http://u", delaySeconds: 3)))
        let swapped = try decoder.decode(soap("""
            <cwmp:AddObjectResponse><Status>0</Status><InstanceNumber>3</InstanceNumber></cwmp:AddObjectResponse>
            """))
        #expect(swapped.message == .addObjectResponse(AddObjectResponse(instanceNumber: 3, status: 0)))
    }

    @Test func unknownHeaderWithoutMustUnderstandIsIgnored() throws {
        for header in ["<x:Trace xmlns:x=\"urn:example\">on</x:Trace>",
                       "<x:Trace xmlns:x=\"urn:example\" soapenv:mustUnderstand=\"0\">on</x:Trace>",
                       "<cwmp:X_Vendor_Hint>1</cwmp:X_Vendor_Hint>"] {
            let envelope = try decoder.decode(soap(Self.rebootBody, header: "<cwmp:ID>i</cwmp:ID>" + header))
            #expect(envelope.header == CWMPHeader(id: "i"), "\(header)")
        }
    }

    /// The same unknown header with mustUnderstand="1" (or "true") must be refused (SOAP 1.1 §4.2.3).
    @Test(arguments: ["1", "true"])
    func unknownHeaderWithMustUnderstandIsRefused(_ flag: String) throws {
        let failure = decodeFailure(soap(Self.rebootBody, header: """
            <cwmp:ID>i</cwmp:ID><x:Trace xmlns:x="urn:example" soapenv:mustUnderstand="\(flag)">on</x:Trace>
            """))
        #expect(failure?.error == CWMPError(.mustUnderstandHeader, ""))
        #expect(failure?.header.id == "i")
    }

    @Test func unknownExtraArgumentsAreIgnored() throws {
        let envelope = try decoder.decode(soap("""
            <cwmp:Reboot><X_Vendor_Delay>5</X_Vendor_Delay><CommandKey>ck</CommandKey><Extra><Deep/></Extra></cwmp:Reboot>
            """))
        #expect(envelope.message == .reboot(Reboot(commandKey: "ck")))
    }

    @Test func optionalInPracticeArgumentsDefault() throws {
        #expect(try decoder.decode(soap("<cwmp:Reboot/>")).message == .reboot(Reboot(commandKey: "")))
        #expect(try decoder.decode(soap("<cwmp:InformResponse/>")).message == .informResponse(InformResponse()))
        #expect(try decoder.decode(soap("""
            <cwmp:SetParameterValues><ParameterList/></cwmp:SetParameterValues>
            """)).message == .setParameterValues(SetParameterValues(parameterList: [], parameterKey: "")))
    }

    @Test func idIsKeptVerbatim() throws {
        let envelope = try decoder.decode(soap(Self.rebootBody, header: "<cwmp:ID> spaced id </cwmp:ID>"))
        #expect(envelope.header.id == " spaced id ")
    }

    @Test func headerFlagsAndVersions() throws {
        let envelope = try decoder.decode(soap(Self.rebootBody, header: """
            <cwmp:ID>1</cwmp:ID><cwmp:HoldRequests soapenv:mustUnderstand="1">true</cwmp:HoldRequests>
            <cwmp:UseCWMPVersion>1.3</cwmp:UseCWMPVersion>
            """))
        #expect(envelope.header == CWMPHeader(id: "1", holdRequests: true, useCWMPVersion: .v1_3))
        let bad = decodeFailure(soap(Self.rebootBody, header: "<cwmp:ID>1</cwmp:ID><cwmp:HoldRequests>maybe</cwmp:HoldRequests>"))
        #expect(bad?.error == CWMPError(.invalidArgument, ""))
        #expect(bad?.header.id == "1")
    }

    /// `<Results>` of DUStateChangeComplete as the XSD has them (repeated) or wrapped in one array element.
    @Test func duResultsWrappedInAnArray() throws {
        let result = """
            <UUID>u</UUID><Version>1</Version><CurrentState>Failed</CurrentState><Resolved>false</Resolved>
            <Fault><FaultCode>9018</FaultCode><FaultString>corrupt</FaultString></Fault>
            """
        let envelope = try decoder.decode(soap("""
            <cwmp:DUStateChangeComplete><Results soapenc:arrayType="cwmp:OpResultStruct[2]">
            <OpResultStruct>\(result)</OpResultStruct><OpResultStruct>\(result)</OpResultStruct></Results>
            </cwmp:DUStateChangeComplete>
            """))
        guard case .duStateChangeComplete(let complete) = envelope.message else { Issue.record("kind"); return }
        #expect(complete.results.count == 2)
        #expect(complete.results[0].fault == TransferFault(faultCode: 9018, faultString: "corrupt"))
        #expect(complete.results[0].startTime == .unknown)
    }

    @Test func cdataAndEntitiesInValues() throws {
        let envelope = try decoder.decode(soap("""
            <cwmp:SetParameterValues><ParameterList><ParameterValueStruct><Name>A</Name>
            <Value xsi:type="xsd:string"><![CDATA[<b>&x]]> &amp; &#x263A;</Value></ParameterValueStruct></ParameterList>
            <ParameterKey>k&lt;1</ParameterKey></cwmp:SetParameterValues>
            """))
        #expect(envelope.message == .setParameterValues(SetParameterValues(parameterList: [
            ParameterValueStruct(name: "A", value: "<b>&x & \u{263A}", type: .string),
        ], parameterKey: "k<1")))
    }

    /// Thomson CPEs declare nothing and send charset ISO-8859-1; an XML declaration of it is honoured.
    @Test func declaredLatin1IsConverted() throws {
        var bytes = Array("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>".utf8)
        bytes += Array(soap("<cwmp:Reboot><CommandKey>caf\u{E9}</CommandKey></cwmp:Reboot>").dropFirst(39))
        // Replace the UTF-8 é (C3 A9) by Latin-1 E9.
        if let index = bytes.firstIndex(of: 0xC3) { bytes.replaceSubrange(index...index + 1, with: [0xE9]) }
        #expect(try decoder.decode(bytes).message == .reboot(Reboot(commandKey: "caf\u{E9}")))
    }
}

/// Feeding an envelope in pieces gives the same result as feeding it whole, whatever the chunk size.
@Suite struct DecoderStreamingTests {
    @Test(arguments: [1, 7, 64, 4096])
    func chunkedFeedingMatchesWholeDecoding(_ chunkSize: Int) throws {
        let bytes = try Fixture.bytes("captures/magma-enodeb/004_10.0.2.243_49639_to_192.88.99.142_8443_GetParameterValuesResponse.xml")
        let whole = try CWMPDecoder().decode(bytes)
        let parser = CWMPDecoder().makeParser()
        var offset = 0
        while offset < bytes.count {
            try parser.feed(bytes[offset..<min(offset + chunkSize, bytes.count)])
            offset += chunkSize
        }
        #expect(try parser.finish().get() == whole)
        #expect(try parser.finish().get() == whole, "finish() is idempotent")
    }

    @Test func headerIsAvailableWhileTheBodyStreams() throws {
        let bytes = soap("<cwmp:GetRPCMethods/>", header: "<cwmp:ID>early</cwmp:ID>")
        let text = String(decoding: bytes, as: UTF8.self)
        let cut = try #require(text.range(of: "<soapenv:Body>")).lowerBound.utf16Offset(in: text)
        let parser = CWMPDecoder().makeParser()
        try parser.feed(bytes[..<cut])
        #expect(parser.header.id == "early")
        try parser.feed(bytes[cut...])
        #expect(try parser.finish().get().message == .getRPCMethods)
    }

    @Test func feedingAfterFinishIsAnError() throws {
        let parser = CWMPDecoder().makeParser()
        try parser.feed(soap("<cwmp:GetRPCMethods/>"))
        _ = parser.finish()
        #expect(throws: CWMPError(.malformedEnvelope, "")) { try parser.feed([0x20]) }
    }

    /// A parser dropped halfway (connection closed) frees libxml2 without finish(); run under ASan/valgrind
    /// this is what proves the deinit path.
    @Test func abandonedParserIsReleased() throws {
        for _ in 0..<100 {
            let parser = CWMPDecoder().makeParser()
            try parser.feed(Array(soap("<cwmp:GetRPCMethods/>").prefix(200)))
        }
    }
}
