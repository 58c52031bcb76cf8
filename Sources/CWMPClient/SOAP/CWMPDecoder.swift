// The CWMP SOAP decoder: bytes (whole, or as HTTP body chunks arrive) → `CWMPEnvelope`, on libxml2's SAX2
// push parser. Safety first: no DTD is accepted at all (so no entities and no external fetches), every size is
// bounded, and every failure is a `CWMPError`. When the body cannot be decoded the caller still gets the header
// (`cwmp:ID`) and the namespace, because the fault it must send echoes them.

internal import CLibXML2

/// Decodes SOAP envelopes into `CWMPEnvelope` values. A value type holding only limits: share it freely.
///
/// ```swift
/// let decoder = CWMPDecoder()
/// switch decoder.decodeOutcome(body) {
/// case .envelope(let envelope): handle(envelope)
/// case .failure(let failure):   sendFault(failure.fault, id: failure.header.id, namespace: failure.namespace)
/// }
/// ```
/// For a body that arrives in pieces use `makeParser()` and `CWMPEnvelopeParser.feed(_:)`.
public struct CWMPDecoder: Sendable {
    /// Limits and lenient-mode choices. Every limit turns into a `CWMPError`, never into unbounded work.
    public struct Configuration: Sendable, Hashable {
        /// The largest envelope accepted, checked as chunks arrive (→ `envelopeTooLarge`).
        public var maximumEnvelopeBytes: Int
        /// The deepest element nesting accepted; a CWMP envelope needs about 8 (→ `envelopeTooDeep`).
        public var maximumDepth: Int
        /// The most child elements any one element may have, which bounds every array (→ `envelopeTooLarge`).
        public var maximumArrayEntries: Int
        /// The longest attribute value accepted; CWMP's attributes are a few dozen bytes (→ `envelopeTooLarge`).
        public var maximumAttributeBytes: Int
        /// The most attributes (namespace declarations included) one element may have, checked conservatively on
        /// the bytes before libxml2 sees them (see StartTagGuard: libxml2 2.9 checks attributes quadratically).
        /// Text with more `=` signs than this right after a start tag also trips it (→ `envelopeTooLarge`).
        public var maximumAttributesPerElement: Int
        /// The most namespace declarations in scope at once (libxml2 searches them linearly per element).
        public var maximumNamespaceDeclarations: Int
        /// The namespace reported when neither the RPC element, nor a header entry, nor any declaration in the
        /// envelope names a cwmp namespace (an ACS that writes `<Reboot/>` or an undeclared `cwmp:` prefix).
        public var namespaceWhenUndeclared: CWMPNamespace

        public init(maximumEnvelopeBytes: Int = 4 << 20, maximumDepth: Int = 64,
                    maximumArrayEntries: Int = 65_536, maximumAttributeBytes: Int = 64 << 10,
                    maximumAttributesPerElement: Int = 256, maximumNamespaceDeclarations: Int = 128,
                    namespaceWhenUndeclared: CWMPNamespace = .cwmp12) {
            self.maximumEnvelopeBytes = maximumEnvelopeBytes
            self.maximumDepth = maximumDepth
            self.maximumArrayEntries = maximumArrayEntries
            self.maximumAttributeBytes = maximumAttributeBytes
            self.maximumAttributesPerElement = maximumAttributesPerElement
            self.maximumNamespaceDeclarations = maximumNamespaceDeclarations
            self.namespaceWhenUndeclared = namespaceWhenUndeclared
        }
    }

    public var configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// A parser for one envelope that arrives in chunks.
    public func makeParser() -> CWMPEnvelopeParser {
        CWMPEnvelopeParser(configuration: configuration)
    }

    /// Decodes a complete envelope; on failure the header decoded so far is in the outcome.
    public func decodeOutcome(_ bytes: UnsafeRawBufferPointer) -> CWMPDecodingOutcome {
        makeParser().parseComplete(bytes)
    }

    /// Decodes a complete envelope held in any byte collection (an Array, a ByteBuffer view, a Data, …).
    public func decodeOutcome(_ bytes: some Collection<UInt8>) -> CWMPDecodingOutcome {
        if let outcome = bytes.withContiguousStorageIfAvailable({ decodeOutcome(UnsafeRawBufferPointer($0)) }) {
            return outcome
        }
        return Array(bytes).withUnsafeBytes { decodeOutcome($0) }
    }

    /// Decodes a complete envelope, throwing only the error (use `decodeOutcome` to answer with a fault).
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(CWMPError) -> CWMPEnvelope {
        try decodeOutcome(bytes).get()
    }

    /// Decodes a complete envelope held in any byte collection, throwing only the error.
    public func decode(_ bytes: some Collection<UInt8>) throws(CWMPError) -> CWMPEnvelope {
        try decodeOutcome(bytes).get()
    }
}

/// The result of decoding one envelope.
public enum CWMPDecodingOutcome: Sendable {
    case envelope(CWMPEnvelope)
    case failure(CWMPDecodingFailure)

    /// The envelope, or the failure's `CWMPError`.
    public func get() throws(CWMPError) -> CWMPEnvelope {
        switch self {
        case .envelope(let envelope): return envelope
        case .failure(let failure): throw failure.error
        }
    }
}

/// Why an envelope could not be decoded, with what is needed to answer it with a fault.
public struct CWMPDecodingFailure: Error, Sendable, CustomStringConvertible {
    public var error: CWMPError
    /// The header entries decoded before the failure; `header.id` is what the fault response must echo.
    /// Empty when the failure came before the header closed (or the header itself was unreadable).
    public var header: CWMPHeader
    /// The cwmp namespace of the envelope as far as it was known (the RPC element's, else a header entry's,
    /// else the first declared); nil when none was seen or the namespace itself was the problem.
    public var namespace: CWMPNamespace?

    public init(error: CWMPError, header: CWMPHeader, namespace: CWMPNamespace?) {
        self.error = error
        self.header = header
        self.namespace = namespace
    }

    /// The fault to send back (TR-069 §A.5 mapping of `CWMPError`).
    public var fault: CWMPFault { error.cwmpFault }

    public var description: String { "\(error) (ID \(header.id ?? "none"))" }
}

/// libxml2's global state (encodings, dictionaries' random seed, …) must be set up once before threads
/// race to do it; `static let` runs this exactly once, thread-safely.
enum LibXML2 {
    static let initialized: Bool = {
        xmlInitParser()
        return true
    }()
}
