internal import CLibXML2

/// Owns one libxml2 `xmlTextWriter` writing into one `xmlBuffer`, and frees both in `deinit`.
///
/// Why xmlTextWriter rather than the tree API: it streams straight into the buffer, so a 5,000-parameter
/// response costs no DOM nodes, and libxml2 still does every bit of escaping (`<`, `&`, `>`, `"`, `\r`).
/// Element and attribute names are `StaticString`s: they are the schema's own names, never caller data.
/// Text goes through `withCString`, which hands libxml2 the native UTF-8 storage without a copy.
///
/// Not thread-safe and not meant to be shared: the encoder makes one per envelope.
final class XMLWriter {
    private let buffer: xmlBufferPtr
    private let writer: xmlTextWriterPtr

    init(initialCapacity: Int) throws(CWMPError) {
        guard let buffer = xmlBufferCreateSize(max(initialCapacity, 512)) else {
            throw CWMPError(.encodingFailed, "xmlBufferCreateSize failed")
        }
        // The writer takes an output buffer over `buffer` but never frees `buffer` itself.
        guard let writer = xmlNewTextWriterMemory(buffer, 0) else {
            xmlBufferFree(buffer)
            throw CWMPError(.encodingFailed, "xmlNewTextWriterMemory failed")
        }
        self.buffer = buffer
        self.writer = writer
    }

    deinit {
        // Writer first: freeing it flushes into (and so still touches) the buffer.
        xmlFreeTextWriter(writer)
        xmlBufferFree(buffer)
    }

    @inline(__always)
    private func check(_ result: Int32, _ what: @autoclosure () -> String) throws(CWMPError) {
        if result < 0 { throw CWMPError(.encodingFailed, "libxml2 failed to write \(what())") }
    }

    func startDocument() throws(CWMPError) {
        try check(xmlTextWriterStartDocument(writer, "1.0", "UTF-8", nil), "the XML declaration")
    }

    func startElement(_ name: StaticString) throws(CWMPError) {
        try check(xmlTextWriterStartElement(writer, name.utf8Start), "<\(name)>")
    }

    func endElement() throws(CWMPError) {
        try check(xmlTextWriterEndElement(writer), "an end tag")
    }

    /// Writes an attribute of the element just started; libxml2 escapes the value.
    func attribute(_ name: StaticString, _ value: StaticString) throws(CWMPError) {
        try check(xmlTextWriterWriteAttribute(writer, name.utf8Start, value.utf8Start), "attribute \(name)")
    }

    func attribute(_ name: StaticString, _ value: String) throws(CWMPError) {
        let result = value.withCString { pointer in
            pointer.withMemoryRebound(to: xmlChar.self, capacity: 1) { xmlTextWriterWriteAttribute(writer, name.utf8Start, $0) }
        }
        try check(result, "attribute \(name)")
    }

    /// Writes character data; libxml2 escapes it. The caller has checked that it holds only XML characters
    /// (in particular no NUL, which would silently truncate the C string).
    func text(_ value: String) throws(CWMPError) {
        if value.isEmpty { return }
        let result = value.withCString { pointer in
            pointer.withMemoryRebound(to: xmlChar.self, capacity: 1) { xmlTextWriterWriteString(writer, $0) }
        }
        try check(result, "text")
    }

    func text(_ value: StaticString) throws(CWMPError) {
        try check(xmlTextWriterWriteString(writer, value.utf8Start), "text")
    }

    /// `<name>value</name>` in one call (the common case of the CWMP body).
    func element(_ name: StaticString, _ value: String) throws(CWMPError) {
        try startElement(name)
        try text(value)
        try endElement()
    }

    /// Closes every open element, flushes, and copies the bytes out.
    func finish() throws(CWMPError) -> [UInt8] {
        try check(xmlTextWriterEndDocument(writer), "the end of the document")
        try check(xmlTextWriterFlush(writer), "the output (flush)")
        let count = Int(xmlBufferLength(buffer))
        guard count > 0, let content = xmlBufferContent(buffer) else {
            throw CWMPError(.encodingFailed, "libxml2 produced no output")
        }
        return Array(UnsafeBufferPointer(start: content, count: count))
    }
}
