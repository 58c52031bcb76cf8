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
