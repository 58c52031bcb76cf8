internal import CLibXML2

/// Owns one libxml2 `xmlTextWriter` (and through it the `xmlOutputBuffer` it writes to) and frees it in
/// `deinit`.
///
/// Why xmlTextWriter rather than the tree API: it streams, so a 5,000-parameter response costs no DOM
/// nodes, and libxml2 still does the XML syntax and every bit of escaping (`<`, `&`, `>`, `"`, `\r`).
/// Element and attribute names are `StaticString`s: they are the schema's own names, never caller data.
///
/// Why an I/O-callback output buffer rather than `xmlNewTextWriterMemory`: libxml2 hands over its 4 KB
/// output chunks as it fills them and they land straight in a Swift array, so the result needs no final
/// 1 MB copy out of an `xmlBuffer` (measured on a 1 MB GetParameterValuesResponse: about 5 % faster).
///
/// Not thread-safe and not meant to be shared: the encoder makes one per envelope.
final class XMLWriter {
    /// Where libxml2's write callback appends; a class so the C side can reach it through a raw pointer.
    private final class Sink {
        var bytes: [UInt8] = []
    }

    private let sink = Sink()
    private let writer: xmlTextWriterPtr

    /// libxml2 wants `xmlInitParser()` once before threads use it (it sets up its global state and
    /// locks); a Swift global's lazy initialiser runs exactly once, however many encoders start at once.
    private static let libxml2Initialized: Void = xmlInitParser()

    init(initialCapacity: Int) throws(CWMPError) {
        Self.libxml2Initialized
        sink.bytes.reserveCapacity(max(initialCapacity, 512))
        // Unretained is enough: `sink` is a stored property, so it outlives `writer` (freed in deinit).
        let context = Unmanaged.passUnretained(sink).toOpaque()
        let output = xmlOutputBufferCreateIO({ context, buffer, length in
            guard let context, let buffer, length >= 0 else { return -1 }
            let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
            buffer.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
                sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(length)))
            }
            return length
        }, nil, context, nil)
        guard let output else { throw CWMPError(.encodingFailed, "xmlOutputBufferCreateIO failed") }
        // From here the writer owns `output` and closes it in xmlFreeTextWriter.
        guard let writer = xmlNewTextWriter(output) else {
            xmlOutputBufferClose(output)
            throw CWMPError(.encodingFailed, "xmlNewTextWriter failed")
        }
        self.writer = writer
    }

    deinit {
        xmlFreeTextWriter(writer)
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
    ///
    /// `plain: true` promises the text holds none of the bytes libxml2's text escaping rewrites
    /// (`xmlEncodeSpecialChars`: `<`, `>`, `&`, `"`, CR), so its escaped form is itself; it is then written
    /// as is, sparing libxml2 a scan, a malloc'd copy and a `strlen` per value. Anything else still goes
    /// through libxml2's escaping.
    func text(_ value: String, plain: Bool = false) throws(CWMPError) {
        if value.isEmpty { return }
        if plain, let result = value.utf8.withContiguousStorageIfAvailable({ bytes in
            xmlTextWriterWriteRawLen(writer, bytes.baseAddress, Int32(bytes.count))
        }) {
            try check(result, "text")
            return
        }
        let result = value.withCString { pointer in
            pointer.withMemoryRebound(to: xmlChar.self, capacity: 1) { xmlTextWriterWriteString(writer, $0) }
        }
        try check(result, "text")
    }

    func text(_ value: StaticString) throws(CWMPError) {
        try check(xmlTextWriterWriteString(writer, value.utf8Start), "text")
    }

    /// `<name>value</name>` in one call (the common case of the CWMP body).
    func element(_ name: StaticString, _ value: String, plain: Bool = false) throws(CWMPError) {
        if plain, !value.isEmpty, try rawLeaf(name, attribute: nil, value) { return }
        try startElement(name)
        try text(value, plain: plain)
        try endElement()
    }

    /// `<name attribute="attributeValue">value</name>`; the attribute value is a schema constant (an xsi:type
    /// such as `xsd:string`), never caller data, so it needs no escaping.
    func element(_ name: StaticString, attribute: StaticString, _ attributeValue: StaticString, _ value: String,
                 plain: Bool = false) throws(CWMPError) {
        if plain, !value.isEmpty, try rawLeaf(name, attribute: (attribute, attributeValue), value) { return }
        try startElement(name)
        try self.attribute(attribute, attributeValue)
        try text(value, plain: plain)
        try endElement()
    }

    /// Writes a whole leaf element whose text needs no escaping as one raw write, byte for byte what
    /// start/text/end would produce (empty values are left to libxml2, which writes `<name/>`).
    /// Why: xmlTextWriter mallocs a stack entry and a copy of the name per element and frees both at its end
    /// tag; for the thousands of Name/Value leaves of a large response that was most of encode's cost
    /// (callgrind). libxml2 still closes the parent's pending start tag before raw output. The element is
    /// composed in a temporary (stack) buffer through raw pointers: a scratch array stored on this class paid
    /// a dynamic exclusivity check and retain/release per append (perf). False when the value is not
    /// contiguous UTF-8 (the caller then takes the ordinary path).
    private func rawLeaf(_ name: StaticString, attribute: (StaticString, StaticString)?,
                         _ value: String) throws(CWMPError) -> Bool {
        let writer = self.writer
        let result: Int32? = value.utf8.withContiguousStorageIfAvailable { text in
            let attributeBytes = attribute.map { $0.0.utf8CodeUnitCount + $0.1.utf8CodeUnitCount + 4 } ?? 0
            // `<name` + attribute + `>` + text + `</name>`
            let total = 2 * name.utf8CodeUnitCount + attributeBytes + text.count + 5
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: total) { buffer -> Int32 in
                let base = buffer.baseAddress!
                var cursor = base
                cursor = Self.put(UInt8(ascii: "<"), at: cursor)
                cursor = Self.put(name.utf8Start, name.utf8CodeUnitCount, at: cursor)
                if let (attributeName, attributeValue) = attribute {
                    cursor = Self.put(UInt8(ascii: " "), at: cursor)
                    cursor = Self.put(attributeName.utf8Start, attributeName.utf8CodeUnitCount, at: cursor)
                    cursor = Self.put(UInt8(ascii: "="), at: cursor)
                    cursor = Self.put(UInt8(ascii: "\""), at: cursor)
                    cursor = Self.put(attributeValue.utf8Start, attributeValue.utf8CodeUnitCount, at: cursor)
                    cursor = Self.put(UInt8(ascii: "\""), at: cursor)
                }
                cursor = Self.put(UInt8(ascii: ">"), at: cursor)
                if let textBase = text.baseAddress { cursor = Self.put(textBase, text.count, at: cursor) }
                cursor = Self.put(UInt8(ascii: "<"), at: cursor)
                cursor = Self.put(UInt8(ascii: "/"), at: cursor)
                cursor = Self.put(name.utf8Start, name.utf8CodeUnitCount, at: cursor)
                cursor = Self.put(UInt8(ascii: ">"), at: cursor)
                assert(cursor - base == total)
                return xmlTextWriterWriteRawLen(writer, base, Int32(total))
            }
        }
        guard let result else { return false }
        try check(result, "<\(name)>")
        return true
    }

    @inline(__always)
    private static func put(_ byte: UInt8, at cursor: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        cursor.initialize(to: byte)
        return cursor + 1
    }

    @inline(__always)
    private static func put(_ bytes: UnsafePointer<UInt8>, _ count: Int,
                            at cursor: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        cursor.initialize(from: bytes, count: count)
        return cursor + count
    }

    /// Closes every open element, flushes libxml2's last chunk, and hands over the bytes.
    func finish() throws(CWMPError) -> [UInt8] {
        try check(xmlTextWriterEndDocument(writer), "the end of the document")
        try check(xmlTextWriterFlush(writer), "the output (flush)")
        guard !sink.bytes.isEmpty else { throw CWMPError(.encodingFailed, "libxml2 produced no output") }
        defer { sink.bytes = [] }
        return sink.bytes
    }
}
