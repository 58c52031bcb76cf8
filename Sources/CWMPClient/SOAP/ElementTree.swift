// The small element tree the SAX2 callbacks build while libxml2 parses an envelope.
//
// Why a tree and not a state machine per RPC: CWMP has ~50 messages, argument order varies between real
// ACSs, and one generic tree lets the decoders look children up by name. Why this tree is cheap enough to beat
// libxml2's own DOM: nodes are plain structs in one array (no per-node malloc), element names are the pointers
// libxml2 already interned in its dictionary (no string copies), and only leaf text is kept, in one shared byte
// buffer; Swift Strings are made once, when a decoder asks for a value.
//
// Lifetime rule: `Node.name` points into the parser context's dictionary, so a tree is only read while the
// owning `CWMPEnvelopeParser` still holds its context (decoding happens in `finish()`, before the free).


/// Which namespace a name or an `xsi:type` QName is in, as far as CWMP cares.
enum NamespaceKind: UInt8 {
    /// No namespace at all (unqualified, as RPC arguments are).
    case none
    /// A prefix was used that nothing declared (libxml2 reports a namespace error and passes no URI).
    case undeclared
    case soapEnvelope
    case soapEncoding
    case xsd
    case xsi
    case cwmp10
    case cwmp11
    case cwmp12
    /// `urn:dslforum-org:cwmp-…` but not a version this side speaks (there is no cwmp-1-3/-1-4 namespace).
    case cwmpUnknown
    case other

    var cwmpNamespace: CWMPNamespace? {
        switch self {
        case .cwmp10: .cwmp10
        case .cwmp11: .cwmp11
        case .cwmp12: .cwmp12
        case .none, .undeclared, .soapEnvelope, .soapEncoding, .xsd, .xsi, .cwmpUnknown, .other: nil
        }
    }

    /// Classifies a namespace URI (a NUL-terminated libxml2 string).
    static func classify(_ uri: UnsafePointer<UInt8>?) -> NamespaceKind {
        guard let uri else { return .none }
        if cStringEquals(uri, "http://schemas.xmlsoap.org/soap/envelope/") { return .soapEnvelope }
        if cStringEquals(uri, "http://schemas.xmlsoap.org/soap/encoding/") { return .soapEncoding }
        if cStringEquals(uri, "http://www.w3.org/2001/XMLSchema") { return .xsd }
        if cStringEquals(uri, "http://www.w3.org/2001/XMLSchema-instance") { return .xsi }
        if cStringEquals(uri, "urn:dslforum-org:cwmp-1-0") { return .cwmp10 }
        if cStringEquals(uri, "urn:dslforum-org:cwmp-1-1") { return .cwmp11 }
        if cStringEquals(uri, "urn:dslforum-org:cwmp-1-2") { return .cwmp12 }
        if cStringHasPrefix(uri, "urn:dslforum-org:cwmp-") { return .cwmpUnknown }
        return .other
    }
}

/// What an `xsi:type` attribute said, resolved once in startElement.
enum TypeCode: UInt8 {
    case absent
    case string, int, unsignedInt, long, unsignedLong, boolean, dateTime, base64, hexBinary
    /// A type this decoder does not map (e.g. `xsd:anyURI`): the value is kept, its type is nil.
    case unknown
    // ChangeDUState's operation sub-types (`xsi:type="cwmp:InstallOpStruct"`).
    case installOp, updateOp, uninstallOp

    var parameterValueType: ParameterValueType? {
        switch self {
        case .string: .string
        case .int: .int
        case .unsignedInt: .unsignedInt
        case .long: .long
        case .unsignedLong: .unsignedLong
        case .boolean: .boolean
        case .dateTime: .dateTime
        case .base64: .base64
        case .hexBinary: .hexBinary
        case .absent, .unknown, .installOp, .updateOp, .uninstallOp: nil
        }
    }
}

/// One element. Indices are Int32 to keep the struct small (the tree is bounded by the envelope size limit).
struct Node {
    /// The local name, interned in the parser context's dictionary (valid while the context lives).
    var name: UnsafePointer<UInt8>
    var namespace: NamespaceKind
    var type: TypeCode = .absent
    /// `soapenv:mustUnderstand`: -1 absent, 0 false, 1 true.
    var mustUnderstand: Int8 = -1
    var parent: Int32
    var firstChild: Int32 = -1
    var lastChild: Int32 = -1
    var nextSibling: Int32 = -1
    var childCount: Int32 = 0
    /// The element's text in `TreeBuilder.text`; only leaves keep text (mixed-content whitespace is dropped).
    var textStart: Int32
    var textEnd: Int32
    /// `TreeBuilder.declarations.count` before this element's own xmlns declarations (dropped when it ends).
    var declarationMark: Int32
}

// MARK: - NUL-terminated byte helpers (no allocation, no reading past the terminator)

@inline(__always)
func cStringEquals(_ pointer: UnsafePointer<UInt8>, _ literal: StaticString) -> Bool {
    let count = literal.utf8CodeUnitCount
    let bytes = literal.utf8Start
    var index = 0
    while index < count {
        // A shorter C string hits its NUL first, which never equals a literal byte: no overread.
        if pointer[index] != bytes[index] { return false }
        index += 1
    }
    return pointer[count] == 0
}

@inline(__always)
func cStringHasPrefix(_ pointer: UnsafePointer<UInt8>, _ literal: StaticString) -> Bool {
    let count = literal.utf8CodeUnitCount
    let bytes = literal.utf8Start
    var index = 0
    while index < count {
        if pointer[index] != bytes[index] { return false }
        index += 1
    }
    return true
}

@inline(__always)
func bytesEqual(_ bytes: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
    guard bytes.count == literal.utf8CodeUnitCount else { return false }
    let other = literal.utf8Start
    for index in 0..<bytes.count where bytes[index] != other[index] { return false }
    return true
}

@inline(__always)
func isXMLWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
}

/// The bytes without leading and trailing XML whitespace.
@inline(__always)
func trimmed(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
    var start = 0
    var end = bytes.count
    while start < end, isXMLWhitespace(bytes[start]) { start += 1 }
    while end > start, isXMLWhitespace(bytes[end - 1]) { end -= 1 }
    return UnsafeBufferPointer(rebasing: bytes[start..<end])
}

// MARK: - Storage

/// A growable buffer for the tree's nodes and text. Why not Array: the SAX callbacks mutate it through the
/// builder pointer tens of thousands of times per envelope, and Array pays a uniqueness check and a bounds
/// check on each of those; this pays neither. Indices are produced by the builder itself (never by input),
/// so they are in range by construction (asserted in debug builds). Freed explicitly by its owner.
struct GrowableBuffer<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>?
    private(set) var count = 0
    private(set) var capacity = 0

    init(capacity: Int) { reserve(capacity) }

    var isEmpty: Bool { count == 0 }

    subscript(index: Int) -> Element {
        @inline(__always) get {
            assert(index >= 0 && index < count)
            return base.unsafelyUnwrapped[index]
        }
        @inline(__always) set {
            assert(index >= 0 && index < count)
            base.unsafelyUnwrapped[index] = newValue
        }
    }

    var buffer: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }

    mutating func reserve(_ minimumCapacity: Int) {
        guard minimumCapacity > capacity else { return }
        let grown = UnsafeMutablePointer<Element>.allocate(capacity: minimumCapacity)
        if let base {
            grown.update(from: base, count: count)
            base.deallocate()
        }
        base = grown
        capacity = minimumCapacity
    }

    @inline(__always)
    mutating func append(_ element: Element) {
        if count == capacity { reserve(Swift.max(16, capacity * 2)) }
        (base.unsafelyUnwrapped + count).initialize(to: element)
        count += 1
    }

    @inline(__always)
    mutating func append(contentsOf elements: UnsafeBufferPointer<Element>) {
        guard let source = elements.baseAddress, !elements.isEmpty else { return }
        if count + elements.count > capacity { reserve(Swift.max(count + elements.count, capacity * 2)) }
        (base.unsafelyUnwrapped + count).update(from: source, count: elements.count)
        count += elements.count
    }

    mutating func removeLast(from newCount: Int) {
        assert(newCount >= 0 && newCount <= count)
        count = newCount
    }

    /// Frees the memory; the buffer is empty afterwards and may be reused.
    mutating func deallocate() {
        base?.deallocate()
        base = nil
        count = 0
        capacity = 0
    }
}
