// libxml2's SAX2 interface for the documents read on every action (the SOAP envelope of a response and the
// ParameterValueList-style argument documents inside it): events go straight into the caller's Swift state, with
// no libxml2 tree built, copied and freed in between. For a GetValues answer that tree work (xmlNode and text node
// allocations, the copy into Swift values, xmlFreeDoc) cost more than the tokenising itself.
//
// The defences are those of UPnPXML and DMXML, on the same libxml2 entry points:
// * DTDs: the internalSubset/externalSubset/entityDecl callbacks stop the parser at the first `<!DOCTYPE`, so no
//   entity is ever declared (billion laughs) and nothing external is fetched (XXE). Options: NONET, never NOENT,
//   DTDLOAD, DTDATTR or HUGE, so libxml2's own limits stay on. An undeclared entity reference is a fatal error.
// * Depth: checked as elements open, against the caller's cap (and libxml2's own 256).
// * Diagnostics go to a structured-error callback that keeps the first fatal message; nothing reaches stderr.
// The caller checks the byte size before calling, and counts elements itself.

internal import CLibXML2
import NIOPosix

/// Receives the events of one document from `UPnPXMLStream.parse`, synchronously, on the parsing thread. Local
/// names and text are UTF-8 bytes, valid only during the call (libxml2 has already converted the document to UTF-8
/// and checked it). Returning an error stops the parse; `parse` throws that error.
protocol UPnPXMLStreamHandler: AnyObject {
    /// An element opens; `depth` is 1 for the root.
    func startElement(_ localName: UnsafeRawBufferPointer, depth: Int) -> UPnPDMError?
    /// The element at `depth` closes.
    func endElement(depth: Int) -> UPnPDMError?
    /// Character data (text, resolved predefined entities, CDATA) directly inside the element at `depth`, one
    /// call per run of text between two tags (comments and processing instructions do not break a run).
    func characters(_ bytes: UnsafeRawBufferPointer, depth: Int) -> UPnPDMError?
}

enum UPnPXMLStream {
    /// libxml2 wants xmlInitParser() once before threads use it; a static's initialiser runs exactly once.
    private static let initialized: Bool = {
        xmlInitParser()
        return true
    }()

    /// Parses `bytes` and reports its events to `handler`.
    /// - Parameters:
    ///   - maximumDepth: elements may nest this deep (the root is 1); deeper is `.documentTooDeep`.
    ///   - readAsUTF8: read the bytes as UTF-8 whatever the XML declaration says (argument documents come from a
    ///     Swift String); otherwise the declaration's encoding is honoured, as for documents off the wire.
    ///   - what: the document, for error reasons ("response to GetValues").
    /// - Throws: `.forbiddenDocumentType` for a DTD, `.documentTooDeep`, `.malformedXML` with libxml2's first
    ///   fatal message, or the error a handler method returned.
    static func parse(_ bytes: UnsafeRawBufferPointer, maximumDepth: Int, readAsUTF8: Bool, what: String,
                      handler: some UPnPXMLStreamHandler) throws(UPnPDMError) {
        _ = initialized
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            throw UPnPDMError(.malformedXML, "the \(what) is empty")
        }
        guard let parser = ReusableParser.forThisThread() else {
            throw UPnPDMError(.malformedXML, "libxml2 could not allocate a parser for the \(what)")
        }
        parser.busy = true
        defer { parser.busy = false }
        let context = parser.context
        let state = StreamState(handler: handler, maximumDepth: maximumDepth, what: what)
        let callbacks = UnsafeMutablePointer<CallbackContext>.allocate(capacity: 1)
        // Text is at most the document's size: sized for it up front (capped), it rarely grows.
        callbacks.initialize(to: CallbackContext(state: state, capacity: min(max(bytes.count, 64), 1 << 16)))
        defer {
            context.pointee._private = nil
            callbacks.pointee.text.deallocate()
            callbacks.deinitialize(count: 1)
            callbacks.deallocate()
        }
        // The whole document as the push parser's only chunk: the reset detects a BOM-marked encoding from its
        // first bytes, as a memory parser would.
        guard xmlCtxtResetPush(context, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil, nil) == 0 else {
            parser.retire()
            throw UPnPDMError(.malformedXML, "libxml2 could not reset its parser for the \(what)")
        }
        var options = XML_PARSE_NONET.rawValue
        if readAsUTF8 { options |= XML_PARSE_IGNORE_ENC.rawValue }
        // Options are sticky across resets (xmlCtxtUseOptions only adds IGNORE_ENC, never clears it): start over.
        context.pointee.options = 0
        _ = xmlCtxtUseOptions(context, Int32(options))
        context.pointee._private = UnsafeMutableRawPointer(callbacks)
        _ = xmlParseChunk(context, nil, 0, 1)
        if let document = context.pointee.myDoc {   // not expected without startDocument; never leaked
            xmlFreeDoc(document)
            context.pointee.myDoc = nil
        }
        let clean = state.forbidden == nil && state.failure == nil && context.pointee.wellFormed != 0
        // A parser that stopped, failed, or has interned many names (its dictionary outlives each document: a device
        // inventing element names would grow it) is not reused.
        if !clean || parser.shouldRetire { parser.retire() }
        if let forbidden = state.forbidden {
            throw UPnPDMError(.forbiddenDocumentType, "the \(what) has \(forbidden); DTDs are refused")
        }
        if let failure = state.failure { throw failure }
        guard context.pointee.wellFormed != 0 else {
            let message = state.firstError ?? "not well-formed"
            if message.contains("Excessive depth") {
                throw UPnPDMError(.documentTooDeep, "the \(what) nests elements too deep: \(message)")
            }
            throw UPnPDMError(.malformedXML, "the \(what) is not well-formed XML: \(message)")
        }
    }

    /// One push parser context per thread, reused from document to document: creating and freeing a context (its
    /// dictionary, input buffers and stacks) for each of the two documents of every action cost more than a small
    /// document's parse. Its SAX handler is ours (`install`), set once. A context is only ever used by one parse
    /// at a time (`busy`: a parse that somehow started inside another gets a context of its own).
    private final class ReusableParser: @unchecked Sendable {
        let context: xmlParserCtxtPtr
        var busy = false
        private var documents = 0

        private static let perThread = ThreadSpecificVariable<ReusableParser>()

        /// This thread's parser, or a fresh one when it is in use or was retired.
        static func forThisThread() -> ReusableParser? {
            if let parser = perThread.currentValue, !parser.busy {
                parser.documents += 1
                return parser
            }
            guard let parser = ReusableParser() else { return nil }
            if perThread.currentValue == nil { perThread.currentValue = parser }
            return parser
        }

        private init?() {
            guard let context = xmlCreatePushParserCtxt(nil, nil, nil, 0, nil) else { return nil }
            guard let sax = context.pointee.sax else {
                xmlFreeParserCtxt(context)
                return nil
            }
            Self.install(sax)
            self.context = context
        }

        deinit { xmlFreeParserCtxt(context) }

        /// Past these the context is replaced: its dictionary keeps every name it interned.
        var shouldRetire: Bool {
            documents >= 10_000 || (context.pointee.dict.map { xmlDictSize($0) } ?? 0) > 2_000
        }

        /// Not used again: the next parse on this thread makes a new context (this one is freed when the last
        /// reference goes).
        func retire() {
            if Self.perThread.currentValue === self { Self.perThread.currentValue = nil }
        }

        private static func install(_ sax: UnsafeMutablePointer<xmlSAXHandler>) {
            // No tree: without startDocument there is no xmlDoc, and the element and text callbacks are ours.
            sax.pointee.startDocument = nil
            sax.pointee.endDocument = nil
            sax.pointee.startElement = nil
            sax.pointee.endElement = nil
            sax.pointee.reference = nil
            sax.pointee.comment = nil
            sax.pointee.processingInstruction = nil
            sax.pointee.startElementNs = { context, localName, _, _, _, _, _, _, _ in
                guard let callbacks = CallbackContext.of(context), let localName else { return }
                callbacks.pointee.state._withUnsafeGuaranteedRef { state in
                    guard state.flushText(callbacks, context) else { return }
                    state.depth += 1
                    guard state.depth <= state.maximumDepth else {
                        state.stop(context, UPnPDMError(.documentTooDeep,
                                                        "the \(state.what) nests elements deeper than \(state.maximumDepth)"))
                        return
                    }
                    let name = UnsafeRawBufferPointer(start: localName, count: Int(xmlStrlen(localName)))
                    if let error = state.handler.startElement(name, depth: state.depth) { state.stop(context, error) }
                }
            }
            sax.pointee.endElementNs = { context, _, _, _ in
                guard let callbacks = CallbackContext.of(context) else { return }
                callbacks.pointee.state._withUnsafeGuaranteedRef { state in
                    guard state.flushText(callbacks, context) else { return }
                    let depth = state.depth
                    state.depth -= 1
                    if let error = state.handler.endElement(depth: depth) { state.stop(context, error) }
                }
            }
            let characters: charactersSAXFunc = { context, text, length in
                // Collected in plain memory and handed over once per run of text: libxml2 reports text in pieces
                // (each entity reference splits it, and an escaped argument document is mostly references), and
                // this callback, hundreds of times per answer, touches no Swift object (no reference counting).
                guard let callbacks = CallbackContext.of(context), let text, length > 0 else { return }
                callbacks.pointee.append(text, count: Int(length))
            }
            sax.pointee.characters = characters
            sax.pointee.ignorableWhitespace = characters
            sax.pointee.cdataBlock = characters
            sax.pointee.internalSubset = { context, _, _, _ in StreamState.refuse(context, "a DOCTYPE") }
            sax.pointee.externalSubset = { context, _, _, _ in StreamState.refuse(context, "an external DTD") }
            sax.pointee.entityDecl = { context, _, _, _, _, _ in StreamState.refuse(context, "an entity declaration") }
            sax.pointee.serror = { userData, error in
                guard let error, error.pointee.level == XML_ERR_FATAL,
                      let state = CallbackContext.of(userData)?.pointee.state.takeUnretainedValue(),
                      state.firstError == nil else { return }
                var message = error.pointee.message.map { String(cString: $0) } ?? "error \(error.pointee.code)"
                while message.last == "\n" { message.removeLast() }
                state.firstError = "\(message) (line \(error.pointee.line))"
            }
        }
    }

    /// What the C callbacks reach through the parser context's `_private`: the pending text in plain memory and
    /// the parse's state, unretained (the parse keeps it alive).
    private struct CallbackContext {
        var text: UnsafeMutablePointer<UInt8>
        var count = 0
        var capacity: Int
        let state: Unmanaged<StreamState>

        init(state: StreamState, capacity: Int) {
            self.capacity = capacity
            text = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            self.state = Unmanaged.passUnretained(state)
        }

        /// The context of the parse whose callback got `userData` (the parser context, libxml2's default).
        static func of(_ userData: UnsafeMutableRawPointer?) -> UnsafeMutablePointer<CallbackContext>? {
            guard let userData, let callbacks = userData.assumingMemoryBound(to: xmlParserCtxt.self).pointee._private
            else { return nil }
            return callbacks.assumingMemoryBound(to: CallbackContext.self)
        }

        /// Appends text; the document's byte cap (checked before parsing) bounds the growth.
        mutating func append(_ bytes: UnsafePointer<xmlChar>, count length: Int) {
            if count + length > capacity {
                let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: max(capacity * 2, count + length))
                grown.initialize(from: text, count: count)
                text.deallocate()
                text = grown
                capacity = max(capacity * 2, count + length)
            }
            (text + count).initialize(from: bytes, count: length)
            count += length
        }
    }

    /// Per-parse state: the handler, the depth, and why the parse stopped.
    private final class StreamState {
        let handler: any UPnPXMLStreamHandler
        let maximumDepth: Int
        let what: String
        var depth = 0
        var failure: UPnPDMError?
        var forbidden: String?
        var firstError: String?

        init(handler: any UPnPXMLStreamHandler, maximumDepth: Int, what: String) {
            self.handler = handler
            self.maximumDepth = maximumDepth
            self.what = what
        }

        /// Hands the collected text to the handler (at the next element boundary); false when that stopped the parse.
        func flushText(_ callbacks: UnsafeMutablePointer<CallbackContext>, _ userData: UnsafeMutableRawPointer?) -> Bool {
            let count = callbacks.pointee.count
            guard count > 0 else { return true }
            callbacks.pointee.count = 0
            guard let error = handler.characters(UnsafeRawBufferPointer(start: callbacks.pointee.text, count: count),
                                                 depth: depth) else { return true }
            stop(userData, error)
            return false
        }

        /// Records the first failure and stops the parser (no further callbacks).
        func stop(_ userData: UnsafeMutableRawPointer?, _ error: UPnPDMError) {
            if failure == nil { failure = error }
            if let userData { xmlStopParser(userData.assumingMemoryBound(to: xmlParserCtxt.self)) }
        }

        /// A DTD callback: records what was found and stops the parser.
        static func refuse(_ userData: UnsafeMutableRawPointer?, _ what: String) {
            guard let userData else { return }
            if let state = CallbackContext.of(userData)?.pointee.state.takeUnretainedValue(), state.forbidden == nil {
                state.forbidden = what
            }
            xmlStopParser(userData.assumingMemoryBound(to: xmlParserCtxt.self))
        }
    }
}
