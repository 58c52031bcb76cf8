// libxml2 for the XML argument documents of the DM services (ParameterValueList, ContentPathList, …).
//
// These documents travel as *string* arguments: the SOAP layer escapes them once more, so a value `<a&b>` is
// `&lt;a&amp;b&gt;` in the document and `&amp;lt;a&amp;amp;b&amp;gt;` on the wire. This file only ever sees the
// document itself (the SOAP layer hands over the unescaped argument, or the serialised inner XML when a device put
// the document unescaped as child elements), and libxml2 does every bit of escaping and unescaping.
//
// Reading is defensive, because the documents come from LAN devices nobody vouches for:
// * no DTD at all: the internalSubset/externalSubset/entityDecl callbacks stop the parser at the first
//   `<!DOCTYPE`, so no entity is ever declared (billion laughs) and nothing external is fetched (XXE); options are
//   NONET (+ NOERROR/NOWARNING so libxml2 prints nothing), never NOENT, DTDLOAD or HUGE;
// * a byte cap before libxml2 sees anything, CWMPClient's StartTagGuard against libxml2 2.9's quadratic attribute
//   check, and depth and element-count caps while the tree is copied out.
// The DOM is copied into plain Swift values (`DMXMLElement`) and freed at once: no C pointer leaves this file.
// Errors use the module's XML codes (malformedXML, forbiddenDocumentType, documentTooLarge, documentTooDeep) like
// UPnPXML, which reads descriptions and SOAP envelopes. This reader differs in two ways the argument documents need:
// the bytes are always read as UTF-8 (they come from a Swift String, whatever the declaration says), and
// CWMPClient's StartTagGuard runs first.

internal import CLibXML2
import CWMPClient

/// Caps on an XML argument document a device sends.
public struct DMDocumentLimits: Hashable, Sendable {
    /// Bytes of the document (UTF-8).
    public var maximumBytes: Int
    /// Element nesting (the deepest standard document, NodeAttributeValueList, needs 3).
    public var maximumDepth: Int
    /// Elements in the whole document (a ParameterValueList entry is three).
    public var maximumElements: Int

    public init(maximumBytes: Int = 4 << 20, maximumDepth: Int = 8, maximumElements: Int = 300_000) {
        self.maximumBytes = maximumBytes
        self.maximumDepth = maximumDepth
        self.maximumElements = maximumElements
    }
}

/// An element of a parsed argument document: its local name (prefixes and namespaces are ignored, as devices use
/// several), its text (leaf elements only) and its child elements in document order.
struct DMXMLElement: Hashable, Sendable {
    var name: String
    var text: String
    var children: [DMXMLElement]

    /// The trimmed text of the first child with this local name.
    func child(_ name: String) -> String? {
        children.first { $0.name == name }.map { DMXML.trimmed($0.text) }
    }
}

enum DMXML {
    /// libxml2 wants `xmlInitParser()` once before threads use it; a static's initialiser runs exactly once.
    static let initialized: Bool = {
        xmlInitParser()
        return true
    }()

    /// Leading and trailing XML white space removed. Devices pad values (devolo's gwsim answers `" 8 "`), and the
    /// issue asks for trimming: a value that really begins or ends with white space cannot be read through CMS.
    static func trimmed(_ text: String) -> String {
        // Bytes, not Characters (see `trimmingWhitespace`); an untouched string is returned without a copy.
        let bytes = text.utf8
        guard let first = bytes.first, let last = bytes.last else { return text }
        if !isASCIIWhitespace(first) && !isASCIIWhitespace(last) { return text }
        return String(text.trimmingWhitespace())
    }

    /// Whether every character may appear in an XML 1.0 document. libxml2's writer escapes `<&>"` and CR but
    /// passes control characters through, which would make the document unreadable (and a NUL would cut the C
    /// string short), so values are checked before they are written.
    static func isXMLText(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { scalar in
            switch scalar.value {
            case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
            default: false
            }
        }
    }

    // MARK: Reading

    /// Parses `text` and returns its root element, which must have the local name `rootName`.
    static func parse(_ text: String, root rootName: String, limits: DMDocumentLimits) throws(UPnPDMError) -> DMXMLElement {
        _ = initialized
        var bytes = Array(text.utf8)
        guard bytes.count <= limits.maximumBytes else {
            throw UPnPDMError(.documentTooLarge, "the \(rootName) document is \(bytes.count) bytes, more than \(limits.maximumBytes)")
        }
        guard !bytes.isEmpty else { throw UPnPDMError(.malformedXML, "the \(rootName) document is empty") }
        var guardian = StartTagGuard(limit: 64)
        let admitted = bytes.withUnsafeBytes { guardian.admit($0) }
        guard admitted else {
            throw UPnPDMError(.documentTooLarge, "the \(rootName) document has a start tag with more than 64 attributes")
        }
        let document = try DMXMLDocument(parsing: &bytes, what: rootName)
        guard let root = xmlDocGetRootElement(document.pointer) else {
            throw UPnPDMError(.malformedXML, "the \(rootName) document has no root element")
        }
        var elements = 0
        let tree = try copy(root, depth: 1, elements: &elements, limits: limits, what: rootName)
        guard tree.name == rootName else {
            throw UPnPDMError(.invalidResponse, "expected a \(rootName) document, got <\(tree.name)>")
        }
        return tree
    }

    private static func copy(_ node: xmlNodePtr, depth: Int, elements: inout Int, limits: DMDocumentLimits,
                             what: String) throws(UPnPDMError) -> DMXMLElement {
        elements += 1
        guard elements <= limits.maximumElements else {
            throw UPnPDMError(.documentTooLarge, "the \(what) document has more than \(limits.maximumElements) elements")
        }
        guard depth <= limits.maximumDepth else {
            throw UPnPDMError(.documentTooDeep, "the \(what) document nests deeper than \(limits.maximumDepth)")
        }
        let name = node.pointee.name.map { String(cString: $0) } ?? ""
        var children: [DMXMLElement] = []
        var text = ""
        var child = node.pointee.children
        while let current = child {
            switch current.pointee.type {
            case XML_ELEMENT_NODE:
                children.append(try copy(current, depth: depth + 1, elements: &elements, limits: limits, what: what))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = current.pointee.content { text += String(cString: content) }
            case XML_ENTITY_REF_NODE:
                // Unreachable without a DTD (undeclared entities are fatal); refuse rather than drop text silently.
                throw UPnPDMError(.forbiddenDocumentType, "the \(what) document references an entity")
            default:
                break  // comments, processing instructions
            }
            child = current.pointee.next
        }
        return DMXMLElement(name: name, text: children.isEmpty ? text : "", children: children)
    }

    // MARK: Writing

    /// Writes a document whose root is `cms:<root>` (or another prefix) with the given namespace, children built by
    /// `body`. No XML declaration: it is optional, and some device-side parsers refuse a declaration in a string
    /// they were handed as text (lxml does).
    static func document(prefix: StaticString, root: StaticString, namespace: StaticString, schemaLocation: StaticString?,
                         _ body: (DMXMLWriter) throws(UPnPDMError) -> Void) throws(UPnPDMError) -> String {
        let writer = try DMXMLWriter()
        try writer.startElement("\(prefix):\(root)")
        try writer.attribute("xmlns:\(prefix)", "\(namespace)")
        if let schemaLocation {
            try writer.attribute("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
            try writer.attribute("xsi:schemaLocation", "\(namespace) \(schemaLocation)")
        }
        try body(writer)
        try writer.endElement()
        return try writer.finish()
    }
}

/// Owns one libxml2 document and frees it in `deinit`. Confined to the function that parses (never shared).
final class DMXMLDocument {
    let pointer: xmlDocPtr

    /// A `_private` marker the DTD callbacks leave on the parser context, so the error can say why it stopped.
    private static var sawDTD: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: 0xD7D) }

    init(parsing bytes: inout [UInt8], what: String) throws(UPnPDMError) {
        guard let context = xmlNewParserCtxt() else {
            throw UPnPDMError(.malformedXML, "libxml2 could not allocate a parser for the \(what) document")
        }
        defer { xmlFreeParserCtxt(context) }
        if let sax = context.pointee.sax {
            // User data of the DOM builder is the context itself, so the callbacks can stop it.
            sax.pointee.internalSubset = { user, _, _, _ in DMXMLDocument.refuseDTD(user) }
            sax.pointee.externalSubset = { user, _, _, _ in DMXMLDocument.refuseDTD(user) }
            sax.pointee.entityDecl = { user, _, _, _, _, _ in DMXMLDocument.refuseDTD(user) }
        }
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        let document = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) {
                // The SOAP layer hands over a Swift String, so the bytes are UTF-8 whatever the declaration says.
                xmlCtxtReadMemory(context, $0.baseAddress, Int32($0.count), nil, "UTF-8", options)
            }
        }
        if context.pointee._private == Self.sawDTD {
            if let document { xmlFreeDoc(document) }
            throw UPnPDMError(.forbiddenDocumentType, "the \(what) document has a DTD (refused: entities, external subsets)")
        }
        guard let document, context.pointee.wellFormed != 0 else {
            if let document { xmlFreeDoc(document) }
            var reason = "the \(what) document is not well-formed XML"
            if let message = context.pointee.lastError.message {
                reason += ": " + DMXML.trimmed(String(cString: message))
            }
            throw UPnPDMError(.malformedXML, reason)
        }
        pointer = document
    }

    deinit { xmlFreeDoc(pointer) }

    private static func refuseDTD(_ user: UnsafeMutableRawPointer?) {
        guard let context = user?.assumingMemoryBound(to: xmlParserCtxt.self) else { return }
        context.pointee._private = sawDTD
        xmlStopParser(context)
    }
}

/// Owns one libxml2 `xmlTextWriter` over an `xmlBuffer` and frees both in `deinit`. libxml2 does the XML syntax
/// and all escaping; this class checks that caller text holds only XML characters. One per document.
final class DMXMLWriter {
    private let buffer: xmlBufferPtr
    private let writer: xmlTextWriterPtr

    init() throws(UPnPDMError) {
        _ = DMXML.initialized
        guard let buffer = xmlBufferCreate() else { throw UPnPDMError(.invalidArgument, "libxml2 could not allocate a buffer") }
        guard let writer = xmlNewTextWriterMemory(buffer, 0) else {
            xmlBufferFree(buffer)
            throw UPnPDMError(.invalidArgument, "libxml2 could not allocate a writer")
        }
        self.buffer = buffer
        self.writer = writer
    }

    deinit {
        xmlFreeTextWriter(writer)
        xmlBufferFree(buffer)
    }

    private func check(_ result: Int32, _ what: @autoclosure () -> String) throws(UPnPDMError) {
        if result < 0 { throw UPnPDMError(.invalidArgument, "libxml2 failed to write \(what())") }
    }

    func startElement(_ name: String) throws(UPnPDMError) {
        try check(name.withCString { xmlTextWriterStartElement(writer, UnsafeRawPointer($0).assumingMemoryBound(to: xmlChar.self)) },
                  "<\(name)>")
    }

    func endElement() throws(UPnPDMError) { try check(xmlTextWriterEndElement(writer), "an end tag") }

    func attribute(_ name: String, _ value: String) throws(UPnPDMError) {
        let result = name.withCString { namePointer in
            value.withCString { valuePointer in
                xmlTextWriterWriteAttribute(writer, UnsafeRawPointer(namePointer).assumingMemoryBound(to: xmlChar.self),
                                            UnsafeRawPointer(valuePointer).assumingMemoryBound(to: xmlChar.self))
            }
        }
        try check(result, "attribute \(name)")
    }

    /// `<name>text</name>`; libxml2 escapes the text.
    func element(_ name: String, _ text: String) throws(UPnPDMError) {
        guard DMXML.isXMLText(text) else {
            throw UPnPDMError(.invalidArgument, "the value of <\(name)> holds characters XML cannot carry")
        }
        try startElement(name)
        if !text.isEmpty {
            try check(text.withCString { xmlTextWriterWriteString(writer, UnsafeRawPointer($0).assumingMemoryBound(to: xmlChar.self)) },
                      "the text of <\(name)>")
        }
        try endElement()
    }

    func finish() throws(UPnPDMError) -> String {
        try check(xmlTextWriterEndDocument(writer), "the end of the document")
        try check(xmlTextWriterFlush(writer), "the output")
        guard let content = xmlBufferContent(buffer) else { throw UPnPDMError(.invalidArgument, "libxml2 produced no output") }
        return String(cString: content)
    }
}
