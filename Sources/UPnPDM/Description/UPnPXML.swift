// libxml2 for every XML document a device sends (device descriptions, SCPDs, SOAP responses).
//
// Defences (each covered by UPnPXMLHostileInputTests):
// * DTDs: our internalSubset/externalSubset/entityDecl SAX callbacks stop the parser at the first `<!DOCTYPE`, so
//   no entity is ever declared (billion laughs) and nothing external is fetched (XXE); the error says so. Options
//   are XML_PARSE_NONET only: never NOENT (entity substitution), DTDLOAD/DTDATTR, or HUGE, so libxml2's own
//   limits stay on (text node size, name length, and a nesting depth of 256).
// * Size: checked before libxml2 sees a byte. Depth: our cap is checked on the tree (and libxml2 stops at 256
//   anyway, which a 100k-deep document hits long before it costs memory).
// * Diagnostics go to a structured-error callback that keeps the first fatal message for the error's reason;
//   nothing is printed to stderr.
//
// Documents are small (a description is a few KB), so a DOM is built and immediately turned into `XMLElement`
// values; the libxml2 document never leaves this file.

internal import CLibXML2

/// An element of a parsed document, as plain Swift values.
struct XMLElement: Sendable, Hashable {
    var localName: String
    var namespaceURI: String?
    /// The concatenated text and CDATA directly inside this element, untrimmed.
    var text: String
    var children: [XMLElement]
    /// Attributes by local name.
    var attributes: [String: String]
    /// The serialised content (child elements with the namespaces they use declared on them), for elements with
    /// element children exactly `innerXMLDepth` deep; nil otherwise.
    var innerXML: String?

    /// The text without leading and trailing whitespace (UPnP values are padded by real devices).
    var trimmedText: String { String(text.trimmingWhitespace()) }

    /// The first child with this local name, whatever its namespace.
    func child(_ name: String) -> XMLElement? { children.first { $0.localName == name } }

    /// The trimmed text of the first child with this local name; nil when absent, "" when empty.
    func childText(_ name: String) -> String? { child(name)?.trimmedText }
}

enum UPnPXML {
    struct Limits: Sendable, Hashable {
        var maximumBytes: Int
        var maximumDepth: Int
        var maximumElements: Int

        init(maximumBytes: Int = 1024 * 1024, maximumDepth: Int = 64, maximumElements: Int = 100_000) {
            self.maximumBytes = maximumBytes
            self.maximumDepth = maximumDepth
            self.maximumElements = maximumElements
        }
    }

    /// libxml2 wants xmlInitParser() once before threads use it; a global's initialiser runs exactly once.
    private static let initialized: Bool = {
        xmlInitParser()
        return true
    }()

    /// Per-parse state reached from the C callbacks through the parser context's `_private`.
    private final class ParseState {
        var forbidden: String?
        var firstError: String?
    }

    /// Parses `bytes` into its root element.
    /// - Parameter innerXMLDepth: elements with element children at exactly this depth (the root is 1) get
    ///   `innerXML`. Not the shallower ones: serialising the Envelope, the Body and the ActionResponse (each a
    ///   deep copy and a dump of the whole response) cost every action three copies nobody read.
    static func parse(_ bytes: [UInt8], limits: Limits = Limits(), innerXMLDepth: Int = 0,
                      what: String = "document") throws(UPnPDMError) -> XMLElement {
        _ = initialized
        guard bytes.count <= limits.maximumBytes else {
            throw UPnPDMError(.documentTooLarge, "the \(what) is \(bytes.count) bytes, more than \(limits.maximumBytes)")
        }
        guard !bytes.isEmpty else { throw UPnPDMError(.malformedXML, "the \(what) is empty") }
        let state = ParseState()
        let document: xmlDocPtr? = bytes.withUnsafeBufferPointer { buffer -> xmlDocPtr? in
            guard let context = buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count, {
                xmlCreateMemoryParserCtxt($0, Int32(buffer.count))
            }) else {
                state.firstError = "libxml2 could not allocate a parser"
                return nil
            }
            defer { xmlFreeParserCtxt(context) }
            // NONET only: never NOENT, DTDLOAD, DTDATTR or HUGE (see the file comment).
            _ = xmlCtxtUseOptions(context, Int32(XML_PARSE_NONET.rawValue))
            context.pointee._private = Unmanaged.passUnretained(state).toOpaque()
            if let sax = context.pointee.sax {
                // The default SAX2 tree builder stays; only the DTD entry points and the error channel change.
                sax.pointee.internalSubset = { context, _, _, _ in UPnPXML.refuse(context, "a DOCTYPE") }
                sax.pointee.externalSubset = { context, _, _, _ in UPnPXML.refuse(context, "an external DTD") }
                sax.pointee.entityDecl = { context, _, _, _, _, _ in UPnPXML.refuse(context, "an entity declaration") }
                sax.pointee.serror = { userData, error in
                    guard let userData, let error, error.pointee.level == XML_ERR_FATAL else { return }
                    let context = userData.assumingMemoryBound(to: xmlParserCtxt.self)
                    guard let state = context.pointee._private else { return }
                    let box = Unmanaged<ParseState>.fromOpaque(state).takeUnretainedValue()
                    guard box.firstError == nil else { return }
                    var message = error.pointee.message.map { String(cString: $0) } ?? "error \(error.pointee.code)"
                    while message.last == "\n" { message.removeLast() }
                    box.firstError = "\(message) (line \(error.pointee.line))"
                }
            }
            _ = xmlParseDocument(context)
            let document = context.pointee.myDoc
            context.pointee.myDoc = nil
            if context.pointee.wellFormed == 0 || state.forbidden != nil {
                if let document { xmlFreeDoc(document) }
                return nil
            }
            return document
        }
        if let forbidden = state.forbidden {
            throw UPnPDMError(.forbiddenDocumentType, "the \(what) has \(forbidden); DTDs are refused")
        }
        guard let document else {
            let message = state.firstError ?? "not well-formed"
            if message.contains("Excessive depth") {
                throw UPnPDMError(.documentTooDeep, "the \(what) nests elements too deep: \(message)")
            }
            throw UPnPDMError(.malformedXML, "the \(what) is not well-formed XML: \(message)")
        }
        defer { xmlFreeDoc(document) }
        guard let root = xmlDocGetRootElement(document) else {
            throw UPnPDMError(.malformedXML, "the \(what) has no root element")
        }
        var converter = Converter(document: document, limits: limits, innerXMLDepth: innerXMLDepth, what: what)
        return try converter.element(root, depth: 1)
    }

    /// A SAX DTD callback: records what was found and stops the parser.
    private static func refuse(_ userData: UnsafeMutableRawPointer?, _ what: String) {
        guard let userData else { return }
        let context = userData.assumingMemoryBound(to: xmlParserCtxt.self)
        if let state = context.pointee._private {
            let box = Unmanaged<ParseState>.fromOpaque(state).takeUnretainedValue()
            if box.forbidden == nil { box.forbidden = what }
        }
        xmlStopParser(context)
    }

    private struct Converter {
        let document: xmlDocPtr
        let limits: Limits
        let innerXMLDepth: Int
        let what: String
        var elements = 0

        mutating func element(_ node: xmlNodePtr, depth: Int) throws(UPnPDMError) -> XMLElement {
            guard depth <= limits.maximumDepth else {
                throw UPnPDMError(.documentTooDeep, "the \(what) nests elements deeper than \(limits.maximumDepth)")
            }
            elements += 1
            guard elements <= limits.maximumElements else {
                throw UPnPDMError(.documentTooLarge, "the \(what) has more than \(limits.maximumElements) elements")
            }
            var result = XMLElement(localName: Self.string(node.pointee.name) ?? "",
                                    namespaceURI: Self.string(node.pointee.ns?.pointee.href), text: "",
                                    children: [], attributes: [:], innerXML: nil)
            var attribute = node.pointee.properties
            while let current = attribute {
                if let name = Self.string(current.pointee.name) {
                    let value = xmlNodeListGetString(document, current.pointee.children, 1)
                    result.attributes[name] = Self.string(value) ?? ""
                    if let value { cwmp_xml_free(value) }
                }
                attribute = current.pointee.next
            }
            var child = node.pointee.children
            while let current = child {
                switch current.pointee.type {
                case XML_ELEMENT_NODE:
                    result.children.append(try element(current, depth: depth + 1))
                case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                    if let content = Self.string(current.pointee.content) { result.text += content }
                default:
                    break  // comments, processing instructions
                }
                child = current.pointee.next
            }
            if depth == innerXMLDepth, !result.children.isEmpty { result.innerXML = innerXML(of: node) }
            return result
        }

        /// The element's content serialised. Each child element is copied first: a copy declares the namespaces
        /// it uses on itself (xmlStaticCopyNode), so the fragment parses on its own even when the device declared
        /// `cms:` on the Envelope.
        private func innerXML(of node: xmlNodePtr) -> String {
            guard let buffer = xmlBufferCreate() else { return "" }
            defer { xmlBufferFree(buffer) }
            var child = node.pointee.children
            while let current = child {
                if current.pointee.type == XML_ELEMENT_NODE, let copy = xmlDocCopyNode(current, document, 1) {
                    xmlNodeDump(buffer, document, copy, 0, 0)
                    xmlFreeNode(copy)
                } else if current.pointee.type == XML_TEXT_NODE || current.pointee.type == XML_CDATA_SECTION_NODE {
                    xmlNodeDump(buffer, document, current, 0, 0)
                }
                child = current.pointee.next
            }
            guard let content = xmlBufferContent(buffer) else { return "" }
            return String(cString: content)
        }

        static func string(_ pointer: UnsafePointer<xmlChar>?) -> String? {
            pointer.map { String(cString: $0) }
        }

        static func string(_ pointer: UnsafeMutablePointer<xmlChar>?) -> String? {
            pointer.map { String(cString: $0) }
        }
    }
}
