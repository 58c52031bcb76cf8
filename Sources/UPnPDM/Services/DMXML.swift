// libxml2 for the XML argument documents of the DM services (ParameterValueList, ContentPathList, …).
//
// These documents travel as *string* arguments: the SOAP layer escapes them once more, so a value `<a&b>` is
// `&lt;a&amp;b&gt;` in the document and `&amp;lt;a&amp;amp;b&amp;gt;` on the wire. This file only ever sees the
// document itself (the SOAP layer hands over the unescaped argument, or the serialised inner XML when a device put
// the document unescaped as child elements), and libxml2 does every bit of escaping and unescaping.
//
// Reading is defensive, because the documents come from LAN devices nobody vouches for:
// * no DTD at all, through UPnPXMLStream (the DTD callbacks stop the parser at the first `<!DOCTYPE`: no entity is
//   ever declared, nothing external is fetched); options NONET and IGNORE_ENC, never NOENT, DTDLOAD or HUGE;
// * a byte cap before libxml2 sees anything, CWMPClient's StartTagGuard against libxml2 2.9's quadratic attribute
//   check, and depth and element-count caps checked as each element opens.
// The SAX events are built straight into plain Swift values (`DMXMLElement`): no libxml2 tree, no C pointer
// leaves the parse. Errors use the module's XML codes (malformedXML, forbiddenDocumentType, documentTooLarge,
// documentTooDeep) like UPnPXML, which reads descriptions and SOAP envelopes. This reader differs in two ways the
// argument documents need: the bytes are always read as UTF-8 (they come from a Swift String, whatever the
// declaration says), and CWMPClient's StartTagGuard runs first.

internal import CLibXML2
import CWMPClient
import NIOPosix

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
        // ASCII (paths and almost every value): a byte check, no scalar decoding. 0x7F is a legal XML character.
        let asciiOnly = text.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.allSatisfy { $0 < 0x80 } ? bytes.allSatisfy { $0 >= 0x20 || $0 == 0x9 || $0 == 0xA || $0 == 0xD } : nil
        }
        if let verdict = asciiOnly ?? nil { return verdict }
        return text.unicodeScalars.allSatisfy { scalar in
            switch scalar.value {
            case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
            default: false
            }
        }
    }

    // MARK: Reading

    /// Parses `text` and returns its root element, which must have the local name `rootName`. Streamed through
    /// SAX (UPnPXMLStream) into `DMXMLElement`s: no libxml2 tree is built, and the caps apply as elements open.
    static func parse(_ text: String, root rootName: String, limits: DMDocumentLimits) throws(UPnPDMError) -> DMXMLElement {
        let builder = DMTreeBuilder(limits: limits, what: rootName)
        try read(text, root: rootName, handler: builder, limits: limits)
        guard let tree = builder.root else {
            throw UPnPDMError(.malformedXML, "the \(rootName) document has no root element")
        }
        try check(rootName: tree.name, expected: rootName)
        return tree
    }

    /// Streams `text` to `handler` after the checks every argument document gets (byte cap, StartTagGuard); the
    /// handler counts elements and checks depth (`DMElementCaps`), libxml2's own depth limit of 256 still applies.
    static func read(_ text: String, root rootName: String, handler: some UPnPXMLStreamHandler,
                     limits: DMDocumentLimits) throws(UPnPDMError) {
        var text = text
        // Contiguous UTF-8 without a copy for native strings (a bridged or odd string is made native once).
        let result: Result<Void, UPnPDMError> = text.withUTF8 { bytes in
            Result { () throws(UPnPDMError) in
                let bytes = UnsafeRawBufferPointer(bytes)
                guard bytes.count <= limits.maximumBytes else {
                    throw UPnPDMError(.documentTooLarge, "the \(rootName) document is \(bytes.count) bytes, more than \(limits.maximumBytes)")
                }
                guard !bytes.isEmpty else { throw UPnPDMError(.malformedXML, "the \(rootName) document is empty") }
                var guardian = StartTagGuard(limit: 64)
                guard guardian.admit(bytes) else {
                    throw UPnPDMError(.documentTooLarge, "the \(rootName) document has a start tag with more than 64 attributes")
                }
                try UPnPXMLStream.parse(bytes, maximumDepth: .max, readAsUTF8: true, what: "\(rootName) document",
                                        handler: handler)
            }
        }
        try result.get()
    }

    /// The root element must have the expected local name.
    static func check(rootName: String, expected: String) throws(UPnPDMError) {
        guard rootName == expected else {
            throw UPnPDMError(.invalidResponse, "expected a \(expected) document, got <\(rootName)>")
        }
    }

    // MARK: Writing

    /// Writes a document whose root is `cms:<root>` (or another prefix) with the given namespace, children built by
    /// `body`. No XML declaration: it is optional, and some device-side parsers refuse a declaration in a string
    /// they were handed as text (lxml does).
    static func document(prefix: StaticString, root: StaticString, namespace: StaticString, schemaLocation: StaticString?,
                         _ body: (DMXMLWriter) throws(UPnPDMError) -> Void) throws(UPnPDMError) -> String {
        try DMXMLWriter.withWriter { writer throws(UPnPDMError) in
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
}

/// The element-count and depth caps of an argument document, checked as each element opens.
struct DMElementCaps {
    let limits: DMDocumentLimits
    let what: String
    private var elements = 0

    init(limits: DMDocumentLimits, what: String) {
        self.limits = limits
        self.what = what
    }

    mutating func admit(depth: Int) -> UPnPDMError? {
        elements += 1
        guard elements <= limits.maximumElements else {
            return UPnPDMError(.documentTooLarge, "the \(what) document has more than \(limits.maximumElements) elements")
        }
        guard depth <= limits.maximumDepth else {
            return UPnPDMError(.documentTooDeep, "the \(what) document nests deeper than \(limits.maximumDepth)")
        }
        return nil
    }
}

/// Builds the `DMXMLElement` tree from a document's SAX events: local names (prefixes and namespaces ignored, as
/// devices use several), the text of leaf elements (text beside child elements is dropped), children in order.
/// Element-count and depth caps are checked as each element opens, before anything is kept.
private final class DMTreeBuilder: UPnPXMLStreamHandler {
    private var caps: DMElementCaps
    /// The elements open now, outermost first.
    private var open: [DMXMLElement] = []
    /// The text since the innermost open element started (or its last child ended): a leaf's whole text at its end.
    private var text: [UInt8] = []
    private(set) var root: DMXMLElement?

    init(limits: DMDocumentLimits, what: String) {
        caps = DMElementCaps(limits: limits, what: what)
    }

    func startElement(_ localName: UnsafeRawBufferPointer, depth: Int) -> UPnPDMError? {
        if let error = caps.admit(depth: depth) { return error }
        open.append(DMXMLElement(name: String(decoding: localName, as: UTF8.self), text: "", children: []))
        text.removeAll(keepingCapacity: true)
        return nil
    }

    func characters(_ bytes: UnsafeRawBufferPointer, depth: Int) -> UPnPDMError? {
        text.append(contentsOf: bytes)
        return nil
    }

    func endElement(depth: Int) -> UPnPDMError? {
        guard var element = open.popLast() else { return nil }
        if element.children.isEmpty { element.text = String(decoding: text, as: UTF8.self) }
        text.removeAll(keepingCapacity: true)
        if open.isEmpty {
            root = element
        } else {
            open[open.count - 1].children.append(element)
        }
        return nil
    }
}

/// Owns one libxml2 `xmlTextWriter` over an `xmlBuffer` and frees both in `deinit`. libxml2 does the XML syntax
/// and all escaping; this class checks that caller text holds only XML characters. One per document.
final class DMXMLWriter: @unchecked Sendable {
    private let buffer: xmlBufferPtr
    private let writer: xmlTextWriterPtr

    private var busy = false
    private var finished = false
    private static let perThread = ThreadSpecificVariable<DMXMLWriter>()

    /// Runs `body` with this thread's writer (a new one when it is in use or was dropped); `body` ends with
    /// `finish`. Reused because making and freeing a writer per document cost more than writing a small one; a
    /// writer that failed or was not finished is dropped, so no open element carries over.
    static func withWriter<T>(_ body: (DMXMLWriter) throws(UPnPDMError) -> T) throws(UPnPDMError) -> T {
        let writer: DMXMLWriter
        if let cached = perThread.currentValue, !cached.busy {
            writer = cached
        } else {
            writer = try DMXMLWriter()
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
        defer {
            xmlBufferEmpty(buffer)
            finished = true
        }
        return String(cString: content)
    }
}
