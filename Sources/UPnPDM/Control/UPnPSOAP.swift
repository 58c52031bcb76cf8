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
import NIOPosix

enum UPnPSOAP {
    static let envelopeNamespace = "http://schemas.xmlsoap.org/soap/envelope/"
    static let encodingStyle = "http://schemas.xmlsoap.org/soap/encoding/"
    /// Caps on a response envelope, beyond its byte size (the client's body limit).
    static let maximumResponseDepth = 64
    static let maximumResponseElements = 200_000

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
        return try SOAPWriter.withWriter { writer throws(UPnPDMError) in
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
    }

    /// Decodes the response to `action`: its out arguments in the order received, or the UPnP fault as
    /// `UPnPDMError(.actionFailed)`, or a clear error for anything else.
    ///
    /// Two readers, one result: the usual answer (200, Envelope / Body / `<Action>Response` / arguments holding
    /// text) is read in one SAX pass (`ResponseArgumentsReader`); anything else, a fault, an argument holding
    /// unescaped XML, a malformed or unexpected document, is read again by the tree reader
    /// (`decodeResponseTree`), which has every rule and error message. Both give the same arguments for the usual
    /// answer (SOAPEnvelopeTests compares them); the stream only saves the tree's cost on every action.
    static func decodeResponse(_ response: UPnPHTTPResponse, action: String, serviceType: String,
                               maximumBytes: Int) throws(UPnPDMError) -> [UPnPActionArgument] {
        if response.statusCode == 200, let arguments = ResponseArgumentsReader.read(response.body, action: action,
                                                                                   maximumBytes: maximumBytes) {
            return arguments
        }
        return try decodeResponseTree(response, action: action, serviceType: serviceType, maximumBytes: maximumBytes)
    }

    /// `decodeResponse` through the libxml2 tree (UPnPXML): every case, with its precise error.
    static func decodeResponseTree(_ response: UPnPHTTPResponse, action: String, serviceType: String,
                                   maximumBytes: Int) throws(UPnPDMError) -> [UPnPActionArgument] {
        let status = response.statusCode
        let envelope: XMLElement
        do {
            // Envelope (1) / Body (2) / ActionResponse (3) / argument (4): arguments get innerXML.
            envelope = try UPnPXML.parse(response.body, limits: .init(maximumBytes: maximumBytes,
                                                                      maximumDepth: maximumResponseDepth,
                                                                      maximumElements: maximumResponseElements),
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
        // ASCII (every value the DM services send but a few): a byte check, no scalar decoding.
        let asciiOnly = text.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.allSatisfy { $0 < 0x80 } ? bytes.allSatisfy { $0 >= 0x20 || $0 == 0x9 || $0 == 0xA || $0 == 0xD } : nil
        }
        if let verdict = asciiOnly ?? nil { return verdict }
        return text.unicodeScalars.allSatisfy { scalar in
            let value = scalar.value
            return value >= 0x20 ? (value != 0xFFFE && value != 0xFFFF) : (value == 0x9 || value == 0xA || value == 0xD)
        }
    }
}

/// Reads the usual answer to an action in one SAX pass: `Envelope` / `Body` / `<Action>Response` / argument
/// elements whose content is text. `read` returns nil for anything else, and `decodeResponse` hands the document to
/// the tree reader, so this reader needs no error messages of its own. Matches the tree reader's rules: local names
/// only (namespaces are not checked), elements beside the Body (a Header) ignored, text and CDATA of an argument
/// concatenated and trimmed of ASCII whitespace.
final class ResponseArgumentsReader: UPnPXMLStreamHandler {
    /// `<action>Response`, compared in two parts so that no name is built per answer.
    private let action: String
    private let maximumElements: Int
    private var elements = 0
    private var sawBody = false
    private var inBody = false
    private var sawResult = false
    private var inResult = false
    private var argumentName: String?
    fileprivate var text: [UInt8] = []
    private var arguments: [UPnPActionArgument] = []

    /// Stops the stream when the document is not the usual answer; never leaves this file.
    private static let unusual = UPnPDMError(.malformedSOAPResponse, "not the usual answer: read by the tree reader")

    private init(action: String, maximumElements: Int) {
        self.action = action
        self.maximumElements = maximumElements
    }

    static func read(_ body: [UInt8], action: String, maximumBytes: Int) -> [UPnPActionArgument]? {
        guard !body.isEmpty, body.count <= maximumBytes else { return nil }
        let reader = ResponseArgumentsReader(action: action, maximumElements: UPnPSOAP.maximumResponseElements)
        reader.text.reserveCapacity(min(body.count, 1 << 16))   // an argument's text is at most the body
        let completed = body.withUnsafeBytes { bytes -> Bool in
            do {
                try UPnPXMLStream.parse(bytes, maximumDepth: UPnPSOAP.maximumResponseDepth, readAsUTF8: false,
                                        what: "response to \(action)", handler: reader)
                return true
            } catch {
                return false
            }
        }
        return completed && reader.sawResult ? reader.arguments : nil
    }

    func startElement(_ localName: UnsafeRawBufferPointer, depth: Int) -> UPnPDMError? {
        elements += 1
        if elements > maximumElements { return Self.unusual }
        switch depth {
        case 1:
            if !localName.elementsEqual("Envelope".utf8) { return Self.unusual }
        case 2:
            if localName.elementsEqual("Body".utf8) {
                if sawBody { return Self.unusual }   // which Body counts is the tree reader's call
                sawBody = true
                inBody = true
            }
        case 3:
            guard inBody else { return nil }   // inside a Header
            // A second element in the Body (a Fault after the answer?) is the tree reader's case too.
            if sawResult || !Self.isResponseName(localName, action: action) { return Self.unusual }
            sawResult = true
            inResult = true
        case 4:
            guard inResult else { return nil }
            argumentName = String(decoding: localName, as: UTF8.self)
            text.removeAll(keepingCapacity: true)
        default:
            // An element inside an argument: unescaped XML, which the tree reader serialises.
            if inResult { return Self.unusual }
        }
        return nil
    }

    func characters(_ bytes: UnsafeRawBufferPointer, depth: Int) -> UPnPDMError? {
        if depth == 4, argumentName != nil { text.append(contentsOf: bytes) }
        return nil
    }

    func endElement(depth: Int) -> UPnPDMError? {
        switch depth {
        case 4:
            if let name = argumentName {
                arguments.append(UPnPActionArgument(name: name, value: Self.trimmedText(text)))
                argumentName = nil
            }
        case 3:
            inResult = false
        case 2:
            inBody = false
        default:
            break
        }
        return nil
    }

    /// `name` is `<action>Response`.
    private static func isResponseName(_ name: UnsafeRawBufferPointer, action: String) -> Bool {
        let suffix: StaticString = "Response"
        let actionBytes = action.utf8
        guard name.count == actionBytes.count + suffix.utf8CodeUnitCount else { return false }
        return name.prefix(actionBytes.count).elementsEqual(actionBytes)
            && UnsafeRawBufferPointer(rebasing: name[actionBytes.count...]).elementsEqual(
                UnsafeRawBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount))
    }

    /// The text without leading and trailing ASCII whitespace, as `XMLElement.trimmedText`.
    private static func trimmedText(_ bytes: [UInt8]) -> String {
        guard let first = bytes.firstIndex(where: { !isASCIIWhitespace($0) }),
              let last = bytes.lastIndex(where: { !isASCIIWhitespace($0) }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}

private extension Unicode.Scalar {
    var isASCIILetterOrUnderscore: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) || self == "_" }
}

/// Owns one libxml2 xmlTextWriter over an xmlBuffer and frees both in `deinit`. Reused per thread (`withWriter`):
/// making and freeing a writer for every envelope cost more than writing a small one. After `finish` the writer
/// holds no open element and its buffer is emptied; one that failed or was not finished is dropped instead.
private final class SOAPWriter: @unchecked Sendable {
    let buffer: xmlBufferPtr
    let writer: xmlTextWriterPtr
    private var busy = false
    private var finished = false
    private static let perThread = ThreadSpecificVariable<SOAPWriter>()

    /// Runs `body` with this thread's writer (a new one when it is in use or was dropped); `body` ends with `finish`.
    static func withWriter<T>(_ body: (SOAPWriter) throws(UPnPDMError) -> T) throws(UPnPDMError) -> T {
        let writer: SOAPWriter
        if let cached = perThread.currentValue, !cached.busy {
            writer = cached
        } else {
            writer = try SOAPWriter()
            if perThread.currentValue == nil { perThread.currentValue = writer }
        }
        writer.busy = true
        writer.finished = false
        defer { writer.busy = false }
        do {
            let result = try body(writer)
            if !writer.finished { writer.retire() }
            return result
        } catch {
            writer.retire()
            throw error
        }
    }

    private func retire() {
        if Self.perThread.currentValue === self { Self.perThread.currentValue = nil }
    }

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

    /// `what` is built only on failure: an interpolated string per element cost every action several allocations.
    func check(_ result: Int32, _ what: @autoclosure () -> String) throws(UPnPDMError) {
        if result < 0 { throw UPnPDMError(.invalidArgument, "libxml2 failed to write \(what())") }
    }

    func startElement(prefix: String, _ name: String, namespace: String?) throws(UPnPDMError) {
        try check(xmlTextWriterStartElementNS(writer, prefix, name, namespace), "<\(prefix):\(name)>")
    }

    func finish() throws(UPnPDMError) -> [UInt8] {
        try check(xmlTextWriterEndDocument(writer), "the end of the document")
        try check(xmlTextWriterFlush(writer), "the output")
        defer {
            xmlBufferEmpty(buffer)
            finished = true
        }
        guard let content = xmlBufferContent(buffer) else { return [] }
        return Array(UnsafeBufferPointer(start: content, count: Int(xmlBufferLength(buffer))))
    }
}
