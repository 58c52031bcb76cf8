import Testing
@testable import UPnPDM

private let cmsRoot = #"xmlns:cms="urn:schemas-upnp-org:dm:cms" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:schemas-upnp-org:dm:cms http://www.upnp.org/schemas/dm/cms.xsd""#

@Suite struct ArgumentDocumentBuildTests {
    @Test func contentPathListHasTheCanonicalShape() throws {
        let document = try CMSDocuments.contentPathList(["/UPnP/DM/DeviceInfo/", "/BBF/IP/Interface/0/Enable"])
        #expect(DMXML.trimmed(document) == "<cms:ContentPathList \(cmsRoot)><ContentPath>/UPnP/DM/DeviceInfo/</ContentPath><ContentPath>/BBF/IP/Interface/0/Enable</ContentPath></cms:ContentPathList>")
    }

    @Test func parameterValueListEscapesOnce() throws {
        let document = try CMSDocuments.parameterValueList([DMParameterValue(path: "/BBF/X/Name", value: #"<a&b> "q" 'x'"#)])
        #expect(DMXML.trimmed(document) == "<cms:ParameterValueList \(cmsRoot)><Parameter><ParameterPath>/BBF/X/Name</ParameterPath><Value>&lt;a&amp;b&gt; &quot;q&quot; 'x'</Value></Parameter></cms:ParameterValueList>")
    }

    @Test func emptyListsAreEmptyRootElements() throws {
        #expect(DMXML.trimmed(try CMSDocuments.parameterInitialValueList([])) == "<cms:ParameterInitialValueList \(cmsRoot)/>")
    }

    @Test func structureInstanceAndAttributePathListsUseTheirElementNames() throws {
        #expect(try CMSDocuments.structurePathList(["/BBF/IP/Interface/#/"]).contains("<cms:StructurePathList \(cmsRoot)><StructurePath>/BBF/IP/Interface/#/</StructurePath></cms:StructurePathList>"))
        #expect(try CMSDocuments.instancePathList(["/BBF/IP/Interface/0/"]).contains("<InstancePath>/BBF/IP/Interface/0/</InstancePath></cms:InstancePathList>"))
        #expect(try CMSDocuments.nodeAttributePathList(["/BBF/A"]).contains("<cms:NodeAttributePathList \(cmsRoot)><NodeAttributePath>/BBF/A</NodeAttributePath>"))
    }

    @Test func nodeAttributeValueListWritesEachAttributeAsAnElement() throws {
        let document = try CMSDocuments.nodeAttributeValueList([DMNodeAttributeValues(path: "/BBF/A", attributes: [.init(name: "EventOnChange", value: "1")])])
        #expect(document.contains("<Node><NodeAttributePath>/BBF/A</NodeAttributePath><EventOnChange>1</EventOnChange></Node>"))
    }

    @Test func attributeNamesThatAreNotElementNamesAreRefused() {
        #expect(throws: UPnPDMError(.invalidArgument, "")) {
            try CMSDocuments.nodeAttributeValueList([DMNodeAttributeValues(path: "/A", attributes: [.init(name: "a b", value: "1")])])
        }
    }

    @Test(arguments: ["\u{0}", "\u{1}", "x\u{1B}y", "\u{FFFE}"])
    func valuesXMLCannotCarryAreRefused(value: String) {
        #expect(throws: UPnPDMError(.invalidArgument, "")) { try CMSDocuments.parameterValueList([DMParameterValue(path: "/A", value: value)]) }
    }

    @Test func supportedDataModelsOmitsAbsentOptionalFields() throws {
        let document = try CMSDocuments.supportedDataModels([DMSupportedDataModel(uri: "urn:broadband-forum-org:tr-181-2-19", location: "/BBF/")])
        #expect(document.contains("<SubTree><URI>urn:broadband-forum-org:tr-181-2-19</URI><Location>/BBF/</Location></SubTree>"))
    }
}

@Suite struct ArgumentDocumentRoundTripTests {
    @Test(arguments: [
        "<a&b>", "\"double\" and 'single'", "é ü ß 中文 😀", "line\nbreak\ttab", "a]]>b", "&amp; literally", "",
        "x\r\ny",
    ])
    func valuesSurviveBuildAndParse(value: String) throws {
        let document = try CMSDocuments.parameterValueList([DMParameterValue(path: "/BBF/X/Y", value: value)])
        let parsed = try CMSDocuments.parseParameterValueList(document)
        // Values are trimmed on reading (none of these has outer white space); CR is written as &#13;, so it survives.
        #expect(parsed == [DMParameterValue(path: "/BBF/X/Y", value: value)])
    }

    @Test func paddedValuesAndPathsAreTrimmed() throws {
        let document = "<cms:ParameterValueList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\"><Parameter><ParameterPath>\n  /BBF/DSL/Line/0/Rate </ParameterPath><Value> 8 </Value></Parameter></cms:ParameterValueList>"
        #expect(try CMSDocuments.parseParameterValueList(document) == [DMParameterValue(path: "/BBF/DSL/Line/0/Rate", value: "8")])
    }

    /// The document is a string argument: the SOAP layer escapes it again. Written and read here with libxml2 on both
    /// levels, as the control layer does, a value `<a&b>` is `&amp;lt;a&amp;amp;b&amp;gt;` on the wire and comes back whole.
    @Test func doubleEscapingRoundTrip() throws {
        let document = try CMSDocuments.parameterValueList([DMParameterValue(path: "/BBF/X", value: "<a&b>")])
        let writer = try DMXMLWriter()
        try writer.startElement("u:SetValues")
        try writer.attribute("xmlns:u", ConfigurationManagementClient.serviceType)
        try writer.element("ParameterValueList", document)
        try writer.endElement()
        let body = try writer.finish()
        #expect(body.contains("&lt;Value&gt;&amp;lt;a&amp;amp;b&amp;gt;&lt;/Value&gt;"))
        let argument = try DMXML.parse(body, root: "SetValues", limits: .init()).children[0].text
        #expect(try CMSDocuments.parseParameterValueList(argument) == [DMParameterValue(path: "/BBF/X", value: "<a&b>")])
    }

    @Test func nodeAttributeValueListRoundTrip() throws {
        let nodes = [DMNodeAttributeValues(path: "/BBF/A/", attributes: [.init(name: "EventOnChange", value: "1"), .init(name: "X_Vendor", value: "v")])]
        #expect(try CMSDocuments.parseNodeAttributeValueList(try CMSDocuments.nodeAttributeValueList(nodes)) == nodes)
    }

    @Test func supportedDataModelsRoundTrip() throws {
        let models = [DMSupportedDataModel(uri: "urn:broadband-forum-org:tr-181-2-19", location: "/BBF/", url: "http://d/x.xml", description: "TR-181 & more"),
                      DMSupportedDataModel(uri: "urn:schemas-upnp-org:dm:dm", location: "/UPnP/DM/")]
        #expect(try CMSDocuments.parseSupportedDataModels(try CMSDocuments.supportedDataModels(models)) == models)
    }

    @Test func pathListsRoundTrip() throws {
        let paths = ["/BBF/IP/Interface/0/", "/BBF/IP/Interface/7/"]
        #expect(try CMSDocuments.parseInstancePathList(try CMSDocuments.instancePathList(paths)) == paths)
        #expect(try CMSDocuments.parseStructurePathList(try CMSDocuments.structurePathList(paths)) == paths)
        #expect(try CMSDocuments.parseContentPathList(try CMSDocuments.contentPathList(paths)) == paths)
        #expect(try CMSDocuments.parseNodeAttributePathList(try CMSDocuments.nodeAttributePathList(paths)) == paths)
    }

    @Test func parameterInitialValueListRoundTrip() throws {
        let values = [DMParameterValue(path: "/BBF/IP/Interface/#/Name", value: "eth9")]
        #expect(try CMSDocuments.parseParameterInitialValueList(try CMSDocuments.parameterInitialValueList(values)) == values)
    }
}

@Suite struct ArgumentDocumentFixtureTests {
    /// TPV's sensor-management device: XML declaration, xsi attributes, line breaks between elements.
    @Test func tpvStyleParameterValueList() throws {
        let document = """
        <?xml version="1.0" encoding="UTF-8"?>
        <cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"
            xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
            xsi:schemaLocation="urn:schemas-upnp-org:dm:cms http://www.upnp.org/schemas/dm/cms.xsd">
          <Parameter>
            <ParameterPath>/UPnP/DM/DeviceInfo/FriendlyName</ParameterPath>
            <Value>Living room sensor</Value>
          </Parameter>
          <Parameter>
            <ParameterPath>/UPnP/DM/DeviceInfo/SerialNumber</ParameterPath>
            <Value/>
          </Parameter>
        </cms:ParameterValueList>
        """
        #expect(try CMSDocuments.parseParameterValueList(document) == [
            DMParameterValue(path: "/UPnP/DM/DeviceInfo/FriendlyName", value: "Living room sensor"),
            DMParameterValue(path: "/UPnP/DM/DeviceInfo/SerialNumber", value: ""),
        ])
    }

    /// LARK's control point used a default namespace of its own; names are matched locally.
    @Test func defaultNamespaceAndCDATAAreAccepted() throws {
        let document = #"<ParameterValueList xmlns="urn:schemas-upnp-org:dm:ConfigurationManagement"><Parameter><ParameterPath>/BBF/A</ParameterPath><Value><![CDATA[<raw & text>]]></Value></Parameter></ParameterValueList>"#
        #expect(try CMSDocuments.parseParameterValueList(document) == [DMParameterValue(path: "/BBF/A", value: "<raw & text>")])
    }

    @Test func anEncodingDeclarationDoesNotOverrideUTF8() throws {
        let document = #"<?xml version="1.0" encoding="ISO-8859-1"?><cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"><Parameter><ParameterPath>/A</ParameterPath><Value>é</Value></Parameter></cms:ParameterValueList>"#
        #expect(try CMSDocuments.parseParameterValueList(document).first?.value == "é")
    }

    @Test func emptyResultIsAnEmptyList() throws {
        #expect(try CMSDocuments.parseInstancePathList("") == [])
        #expect(try CMSDocuments.parseInstancePathList("  \n") == [])
        #expect(try CMSDocuments.parseInstancePathList(#"<cms:InstancePathList xmlns:cms="urn:schemas-upnp-org:dm:cms"/>"#) == [])
    }

    @Test func devoloStyleSupportedDataModels() throws {
        let document = """
        <cms:SupportedDataModels xmlns:cms="urn:schemas-upnp-org:dm:cms">
        <SubTree><URI>urn:broadband-forum-org:tr-181-2-0</URI><Location>/BBF/</Location><URL>http://192.168.1.1/tr-181.xml</URL><Description>Device:2</Description></SubTree>
        </cms:SupportedDataModels>
        """
        let models = try CMSDocuments.parseSupportedDataModels(document)
        #expect(models == [DMSupportedDataModel(uri: "urn:broadband-forum-org:tr-181-2-0", location: "/BBF/", url: "http://192.168.1.1/tr-181.xml", description: "Device:2")])
        #expect(DMPathMapping.bbfLocation(in: models) == "/BBF/")
    }

    @Test func configurationUpdateWithChangedParametersSplitsAtTheFirstTwoCommas() throws {
        let list = try CMSDocuments.parameterValueList([DMParameterValue(path: "/BBF/A", value: "x,y,z")])
        let update = try CMSDocuments.parseConfigurationUpdate("42,2026-11-23T16:00:00Z," + list)
        #expect(update == DMConfigurationUpdate(version: 42, time: "2026-11-23T16:00:00Z", changes: [DMParameterValue(path: "/BBF/A", value: "x,y,z")]))
        #expect(try CMSDocuments.parseConfigurationUpdate("7,2026-11-23T16:00:00Z") == DMConfigurationUpdate(version: 7, time: "2026-11-23T16:00:00Z"))
    }

    @Test(arguments: ["", "abc", "x,2026-11-23T16:00:00Z", "5"])
    func malformedConfigurationUpdateIsRefused(text: String) {
        #expect(throws: UPnPDMError(.invalidResponse, "")) { try CMSDocuments.parseConfigurationUpdate(text) }
    }

    @Test func nsLookupResultEntries() throws {
        let document = try BMSDocuments.nsLookupResult([[("Status", "Success"), ("AnswerType", "Authoritative"), ("HostNameReturned", "example.org"),
                                                         ("IPAddresses", "192.0.2.1,192.0.2.2"), ("DNSServerIP", "192.0.2.53"), ("ResponseTime", "12")]])
        #expect(document.contains("<bms:NSLookupResult xmlns:bms=\"urn:schemas-upnp-org:dm:bms\""))
        let answers = try BMSDocuments.parseNSLookupResult(document)
        #expect(answers.count == 1)
        #expect(answers.first?.ipAddresses == ["192.0.2.1", "192.0.2.2"])
        #expect(answers.first?.responseTime == 12)
        #expect(answers.first?.answerType == "Authoritative")
    }
}

@Suite struct HostileArgumentDocumentTests {
    static let hostile: [(String, String)] = [
        ("billion laughs", #"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"><Parameter><ParameterPath>/A</ParameterPath><Value>&lol3;</Value></Parameter></cms:ParameterValueList>"#),
        ("XXE", #"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"><Parameter><ParameterPath>/A</ParameterPath><Value>&xxe;</Value></Parameter></cms:ParameterValueList>"#),
        ("external DTD", #"<!DOCTYPE cms:ParameterValueList SYSTEM "http://192.0.2.9/evil.dtd"><cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"/>"#),
        ("undeclared entity", #"<cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"><Parameter><ParameterPath>/A</ParameterPath><Value>&nope;</Value></Parameter></cms:ParameterValueList>"#),
        ("not XML", "ParameterPath=/A Value=1"),
        ("unclosed", #"<cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"><Parameter><ParameterPath>/A"#),
        ("wrong root", #"<cms:ContentPathList xmlns:cms="urn:schemas-upnp-org:dm:cms"><ContentPath>/A</ContentPath></cms:ContentPathList>"#),
        ("two roots", #"<cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"/><cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"/>"#),
        ("entry without path", #"<cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms"><Parameter><Value>1</Value></Parameter></cms:ParameterValueList>"#),
        ("too deep", "<cms:ParameterValueList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\">" + String(repeating: "<a>", count: 40) + String(repeating: "</a>", count: 40) + "</cms:ParameterValueList>"),
        ("many attributes", "<cms:ParameterValueList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\" " + (0..<5000).map { "a\($0)=\"1\"" }.joined(separator: " ") + "/>"),
        ("NUL byte", "<cms:ParameterValueList xmlns:cms=\"urn:schemas-upnp-org:dm:cms\"><Parameter><ParameterPath>/A\u{0}</ParameterPath></Parameter></cms:ParameterValueList>"),
    ]

    static let refusals: Set<UPnPDMError.ErrorCode> = [.malformedXML, .forbiddenDocumentType, .documentTooLarge, .documentTooDeep, .invalidResponse]

    @Test(arguments: hostile.map(\.0))
    func hostileDocumentsAreRefused(name: String) {
        let document = Self.hostile.first { $0.0 == name }!.1
        let error = #expect(throws: UPnPDMError.self) { try CMSDocuments.parseParameterValueList(document) }
        #expect(error.map { Self.refusals.contains($0.code) } == true, "\(String(describing: error))")
    }

    @Test func eachDefenceHasItsCode() {
        func code(_ index: Int) -> UPnPDMError.ErrorCode? {
            #expect(throws: UPnPDMError.self) { try CMSDocuments.parseParameterValueList(Self.hostile[index].1) }?.code
        }
        #expect(code(0) == .forbiddenDocumentType)
        #expect(code(1) == .forbiddenDocumentType)
        #expect(code(2) == .forbiddenDocumentType)
        #expect(code(3) == .malformedXML)
        #expect(code(6) == .invalidResponse)
        #expect(code(8) == .invalidResponse)
        #expect(code(9) == .documentTooDeep)
        #expect(code(10) == .documentTooLarge)
    }

    @Test func theDTDIsNamedAsTheReason() {
        let error = #expect(throws: UPnPDMError.self) { try CMSDocuments.parseParameterValueList(Self.hostile[1].1) }
        #expect(error?.reason.contains("DTD") == true)
    }

    @Test func sizeAndCountCapsApply() throws {
        let values = (0..<100).map { DMParameterValue(path: "/BBF/P/\($0)", value: String(repeating: "v", count: 100)) }
        let document = try CMSDocuments.parameterValueList(values)
        #expect(throws: UPnPDMError(.documentTooLarge, "")) { try CMSDocuments.parseParameterValueList(document, limits: .init(maximumBytes: 1000)) }
        #expect(throws: UPnPDMError(.documentTooLarge, "")) { try CMSDocuments.parseParameterValueList(document, limits: .init(maximumElements: 50)) }
        #expect(try CMSDocuments.parseParameterValueList(document).count == 100)
    }
}
