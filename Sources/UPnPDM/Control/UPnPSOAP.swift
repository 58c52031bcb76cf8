// SOAP 1.1 for UPnP control (UDA 1.1 §3.2): the request envelope, written with libxml2's xmlTextWriter, and the
// response (out arguments or a UPnPError fault), read with libxml2 through `UPnPXML`.
//
// Out-argument values, as returned:
// * text content is trimmed of leading and trailing whitespace (space, tab, CR, LF). Real devices pad values
//   (devolo gwsim sends " 8 "), and no UPnP DM out argument has significant edge whitespace: the XML-valued ones
//   (ParameterValueList, Result, ...) are documents, where it is insignificant, and the rest are numbers, enums,
//   booleans, CSV lists and URIs. Whitespace inside a value is kept.
// * an argument whose content is unescaped XML (child elements instead of text: real CMS devices do this) is
//   returned as its serialised inner XML, trimmed the same way, with the namespaces the children use declared on
//   them, so the CMS layer parses it exactly like an escaped document.

internal import CLibXML2

enum UPnPSOAP {
    static let envelopeNamespace = "http://schemas.xmlsoap.org/soap/envelope/"
    static let encodingStyle = "http://schemas.xmlsoap.org/soap/encoding/"

    /// The `SOAPACTION` header value: `"urn:…:service:Type:v#Action"`, the quotes included.
    static func soapAction(_ action: String, serviceType: String) -> String { "\"\(serviceType)#\(action)\"" }

    /// The request body: `s:Envelope` / `s:Body` / `u:Action` (xmlns:u = the service type) with unqualified
    /// arguments in the given order.
    static func requestEnvelope(action: String, serviceType: String,
                                arguments: [UPnPActionArgument]) throws(UPnPDMError) -> [UInt8] {
        guard isXMLName(action) else {
            throw UPnPDMError(.invalidArgument, "action name \(action.debugDescription) is not an XML name")
        }
        guard !serviceType.isEmpty, isXMLText(serviceType) else {
            throw UPnPDMError(.invalidArgument, "service type \(serviceType.debugDescription) is not usable")
        }
        for argument in arguments {
            guard isXMLName(argument.name) else {
                throw UPnPDMError(.invalidArgument, "argument name \(argument.name.debugDescription) is not an XML name")
            }
            // The value itself is not quoted: it may be a password (SetValues).
            guard isXMLText(argument.value) else {
                throw UPnPDMError(.invalidArgument, "the value of argument \(argument.name) holds characters XML cannot carry")
            }
        }
        let writer = try SOAPWriter()
        try writer.check(xmlTextWriterStartDocument(writer.writer, "1.0", "utf-8", nil), "the XML declaration")
        try writer.startElement(prefix: "s", "Envelope", namespace: envelopeNamespace)
        try writer.check(xmlTextWriterWriteAttributeNS(writer.writer, "s", "encodingStyle", nil, encodingStyle),
                         "s:encodingStyle")
        try writer.startElement(prefix: "s", "Body", namespace: nil)
        try writer.startElement(prefix: "u", action, namespace: serviceType)
        for argument in arguments {
            try writer.check(xmlTextWriterWriteElement(writer.writer, argument.name, argument.value),
                             "argument \(argument.name)")
        }
        // `<u:Action ...></u:Action>` even without arguments, as in UDA's examples (not `<u:Action/>`).
        try writer.check(xmlTextWriterFullEndElement(writer.writer), "</u:\(action)>")
        return try writer.finish()
    }

    /// Decodes the response to `action`: its out arguments in the order received, or the UPnP fault as
    /// `UPnPDMError(.actionFailed)`, or a clear error for anything else.
    static func decodeResponse(_ response: UPnPHTTPResponse, action: String, serviceType: String,
                               maximumBytes: Int) throws(UPnPDMError) -> [UPnPActionArgument] {
        let status = response.statusCode
        let envelope: XMLElement
        do {
            // Envelope (1) / Body (2) / ActionResponse (3) / argument (4): arguments get innerXML.
            envelope = try UPnPXML.parse(response.body, limits: .init(maximumBytes: maximumBytes, maximumDepth: 64,
                                                                      maximumElements: 200_000),
                                         innerXMLDepth: 4, what: "response to \(action)")
        } catch {
            if status == 200 { throw error }
            // Non-compliant devices answer with a bare status (async-upnp-client: 400 for an unknown action).
            throw UPnPDMError(.unexpectedHTTPStatus, "\(action) was answered with HTTP \(status) "
                              + "\(response.reasonPhrase) and no SOAP fault", underlying: error)
        }
        guard envelope.localName == "Envelope", let body = envelope.child("Body") else {
            if status != 200 {
                throw UPnPDMError(.unexpectedHTTPStatus, "\(action) was answered with HTTP \(status) and no SOAP envelope")
            }
            throw UPnPDMError(.malformedSOAPResponse, "the response to \(action) is not a SOAP Envelope with a Body")
        }
        if let fault = body.child("Fault") {
            throw faultError(fault, action: action, serviceType: serviceType, status: status)
        }
        guard status == 200 else {
            throw UPnPDMError(.unexpectedHTTPStatus, "\(action) was answered with HTTP \(status) and no SOAP Fault")
        }
        guard let result = body.children.first else {
            throw UPnPDMError(.malformedSOAPResponse, "the response to \(action) has an empty Body")
        }
        guard result.localName == action + "Response" else {
            throw UPnPDMError(.malformedSOAPResponse,
                              "the response to \(action) holds <\(result.localName)>, not <\(action)Response>")
        }
        return result.children.map { argument in
            let value = argument.innerXML.map { String($0.trimmingWhitespace()) } ?? argument.trimmedText
            return UPnPActionArgument(name: argument.localName, value: value)
        }
    }

    /// `s:Fault/detail/UPnPError/{errorCode, errorDescription}` → `.actionFailed`.
    private static func faultError(_ fault: XMLElement, action: String, serviceType: String,
                                   status: Int) -> UPnPDMError {
        let faultString = fault.childText("faultstring") ?? ""
        guard let upnpError = fault.child("detail")?.child("UPnPError") else {
            return UPnPDMError(.actionFailed, "\(action) failed with a SOAP fault without UPnPError "
                               + "(HTTP \(status), faultstring \(faultString.debugDescription))",
                               upnpServiceType: serviceType)
        }
        let codeText = upnpError.childText("errorCode") ?? ""
        let description = upnpError.childText("errorDescription")
        guard let code = Int(codeText) else {
            return UPnPDMError(.actionFailed, "\(action) failed with a UPnPError whose errorCode is "
                               + "\(codeText.debugDescription)", upnpErrorDescription: description,
                               upnpServiceType: serviceType)
        }
        return UPnPDMError(.actionFailed, "\(action) failed with UPnP error \(code)", upnpErrorCode: code,
                           upnpErrorDescription: description, upnpServiceType: serviceType)
    }

    /// An XML 1.0 Name as UPnP uses them (ASCII letters, digits, `_`, `-`, `.`; not starting with a digit,
    /// `-` or `.`).
    static func isXMLName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCIILetterOrUnderscore else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCIILetterOrUnderscore || ("0"..."9").contains($0) || $0 == "-" || $0 == "." }
    }

    /// Only characters XML 1.0 can carry (no NUL or other C0 controls but tab, LF, CR; no U+FFFE/U+FFFF).
    static func isXMLText(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { scalar in
            let value = scalar.value
            return value >= 0x20 ? (value != 0xFFFE && value != 0xFFFF) : (value == 0x9 || value == 0xA || value == 0xD)
        }
    }
}

private extension Unicode.Scalar {
    var isASCIILetterOrUnderscore: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) || self == "_" }
}

/// Owns one libxml2 xmlTextWriter over an xmlBuffer and frees both in `deinit`. One per envelope.
private final class SOAPWriter {
    let buffer: xmlBufferPtr
    let writer: xmlTextWriterPtr

    init() throws(UPnPDMError) {
        guard let buffer = xmlBufferCreate() else { throw UPnPDMError(.invalidArgument, "xmlBufferCreate failed") }
        guard let writer = xmlNewTextWriterMemory(buffer, 0) else {
            xmlBufferFree(buffer)
            throw UPnPDMError(.invalidArgument, "xmlNewTextWriterMemory failed")
        }
        self.buffer = buffer
        self.writer = writer
    }

    deinit {
        xmlFreeTextWriter(writer)   // flushes into `buffer`, which it does not own
        xmlBufferFree(buffer)
    }

    func check(_ result: Int32, _ what: String) throws(UPnPDMError) {
        if result < 0 { throw UPnPDMError(.invalidArgument, "libxml2 failed to write \(what)") }
    }

    func startElement(prefix: String, _ name: String, namespace: String?) throws(UPnPDMError) {
        try check(xmlTextWriterStartElementNS(writer, prefix, name, namespace), "<\(prefix):\(name)>")
    }

    func finish() throws(UPnPDMError) -> [UInt8] {
        try check(xmlTextWriterEndDocument(writer), "the end of the document")
        try check(xmlTextWriterFlush(writer), "the output")
        guard let content = xmlBufferContent(buffer) else { return [] }
        return Array(UnsafeBufferPointer(start: content, count: Int(xmlBufferLength(buffer))))
    }
}
