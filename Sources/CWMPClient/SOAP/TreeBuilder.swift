// The state the SAX2 callbacks mutate: the element tree, the in-scope namespace declarations, the header as
// far as it has been decoded, and the first failure. It lives behind a raw pointer owned by
// `CWMPEnvelopeParser` (see there for why not `Unmanaged`), so every callback is one pointer dereference with
// no reference counting and no exclusivity bookkeeping.

internal import CLibXML2

/// One `xmlns[:prefix]="uri"` in scope; needed to resolve the prefix inside `xsi:type="xsd:int"` values,
/// which libxml2 does not do (attribute *values* are opaque to it).
struct NamespaceDeclaration {
    /// The declared prefix (dictionary-interned), nil for a default namespace.
    var prefix: UnsafePointer<UInt8>?
    var kind: NamespaceKind
}

struct TreeBuilder {
    let configuration: CWMPDecoder.Configuration
    var context: xmlParserCtxtPtr?

    var nodes = GrowableBuffer<Node>(capacity: 64)
    var text = GrowableBuffer<UInt8>(capacity: 1024)
    /// The innermost open element (-1 before the root and after it closed); its ancestors are reached through
    /// `Node.parent`, so no separate stack is kept.
    var current: Int32 = -1
    var depth = 0
    var declarations: [NamespaceDeclaration] = []
    /// libxml2 interns namespace URIs in its dictionary, so the same URI arrives as the same pointer:
    /// remembering the last classification saves the string comparisons on nearly every lookup.
    var lastURI: UnsafePointer<UInt8>?
    var lastURIKind: NamespaceKind = .none
    /// The last xsi:type prefix (up to 16 bytes) and the namespace it resolved to, see cachedType.
    var lastPrefixBytes: (UInt64, UInt64) = (0, 0)
    var lastPrefixLength = -1
    var lastPrefixDeclarations = -1
    var lastPrefixKind: NamespaceKind = .none
    /// The first cwmp-1-0/-1-1/-1-2 namespace declared anywhere, the last resort when names are unqualified.
    var firstDeclaredCWMP: NamespaceKind?

    var headerIndex: Int32 = -1
    var bodyIndex: Int32 = -1
    var rpcIndex: Int32 = -1

    /// Decoded entry by entry as each header element closes, so a later failure in the body can still answer
    /// with a fault that echoes `cwmp:ID`.
    var header = CWMPHeader()
    /// The cwmp namespace of the first header entry this side understood.
    var headerNamespace: NamespaceKind?

    /// The first hard failure; the parser is stopped when it is set.
    var failure: CWMPError?
    /// A failure that must not stop parsing yet (a header problem found before `cwmp:ID` was seen).
    var deferredFailure: CWMPError?
    /// libxml2's text for its first fatal error, used as the reason of `malformedEnvelope`.
    var libxml2Message: String?

    init(configuration: CWMPDecoder.Configuration) {
        self.configuration = configuration
    }

    /// Frees the tree (the owner calls this once, after decoding or when it is dropped).
    mutating func releaseStorage() {
        nodes.deallocate()
        text.deallocate()
    }

    /// Sizes the tree for an envelope of about this many bytes, so large responses do not pay for growth.
    /// Measured (callgrind, perf): a GetParameterValuesResponse has one element per ~58 bytes, so the earlier
    /// estimate of one per 64 bytes fell just short and doubled the node array at ~90 % of the parse: a copy of
    /// the whole array, twice the memory, and the larger peak made glibc trim and re-fault the heap on every
    /// envelope. One per 40 bytes covers dense responses (GetParameterNamesResponse) without that doubling.
    mutating func reserve(forInputBytes count: Int) {
        let bounded = min(count, configuration.maximumEnvelopeBytes)
        nodes.reserve(bounded / 40 + 16)
        text.reserve(bounded / 2 + 64)
    }

    /// Records the first failure and stops libxml2 (xmlStopParser: no more callbacks, xmlParseChunk returns).
    mutating func fail(_ code: CWMPError.ErrorCode, _ reason: String) {
        if failure == nil { failure = CWMPError(code, reason) }
        if let context { xmlStopParser(context) }
    }

    mutating func postpone(_ code: CWMPError.ErrorCode, _ reason: String) {
        if deferredFailure == nil { deferredFailure = CWMPError(code, reason) }
    }

    func name(of index: Int32) -> String { String(cString: nodes[Int(index)].name) }

    // MARK: - SAX2 events

    mutating func startElement(
        localname: UnsafePointer<UInt8>, prefix: UnsafePointer<UInt8>?, uri: UnsafePointer<UInt8>?,
        namespaceCount: Int, namespaces: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
        attributeCount: Int, attributes: UnsafeMutablePointer<UnsafePointer<UInt8>?>?
    ) {
        guard failure == nil else { return }
        let depth = self.depth + 1
        if depth > configuration.maximumDepth {
            fail(.envelopeTooDeep, "elements nest deeper than \(configuration.maximumDepth)")
            return
        }

        let declarationMark = Int32(declarations.count)
        if namespaceCount > 0, let namespaces {
            for index in 0..<namespaceCount {
                let kind = NamespaceKind.classify(namespaces[2 * index + 1])
                declarations.append(NamespaceDeclaration(prefix: namespaces[2 * index], kind: kind))
                if firstDeclaredCWMP == nil, kind.cwmpNamespace != nil { firstDeclaredCWMP = kind }
            }
            if declarations.count > configuration.maximumNamespaceDeclarations {
                fail(.envelopeTooLarge,
                     "more than \(configuration.maximumNamespaceDeclarations) namespace declarations in scope")
                return
            }
        }

        // libxml2 passes no URI for a prefix nobody declared (after reporting a namespace error, which is not
        // fatal). Such names are matched by local name, like unqualified ones: real ACSs do this.
        let namespace: NamespaceKind = uri == nil ? (prefix != nil ? .undeclared : .none) : classify(uri)
        let index = Int32(nodes.count)
        let parent = current

        // Only the first three levels carry SOAP structure (Envelope, Header/Body, the RPC).
        if depth <= 3,
           !checkStructure(depth: depth, parent: parent, localname: localname, namespace: namespace, index: index) {
            return
        }

        if parent >= 0 {
            let p = Int(parent)
            if nodes[p].firstChild < 0 {
                // The parent turns out not to be a leaf: whatever text it had is formatting, drop it.
                text.removeLast(from: Int(nodes[p].textStart))
                nodes[p].firstChild = index
            } else {
                nodes[Int(nodes[p].lastChild)].nextSibling = index
            }
            nodes[p].lastChild = index
            nodes[p].childCount += 1
            if nodes[p].childCount > configuration.maximumArrayEntries {
                fail(.envelopeTooLarge,
                     "\(name(of: parent)) has more than \(configuration.maximumArrayEntries) child elements")
                return
            }
        }

        let textStart = Int32(text.count)
        var node = Node(name: localname, namespace: namespace, parent: parent, textStart: textStart,
                        textEnd: textStart, declarationMark: declarationMark)
        if attributeCount > 0, let attributes {
            // Five pointers per attribute: localname, prefix, URI, value start, value end (not NUL-terminated).
            for index in 0..<attributeCount {
                guard let attributeName = attributes[5 * index],
                      let valueStart = attributes[5 * index + 3],
                      let valueEnd = attributes[5 * index + 4] else { continue }
                let length = valueEnd - valueStart
                if length > configuration.maximumAttributeBytes {
                    fail(.envelopeTooLarge, "an attribute of \(String(cString: localname)) is \(length) bytes, "
                         + "more than \(configuration.maximumAttributeBytes)")
                    return
                }
                let value = UnsafeBufferPointer(start: valueStart, count: length)
                let attributePrefix = attributes[5 * index + 1]
                let attributeNamespace = classify(attributes[5 * index + 2])
                if cStringEquals(attributeName, "type"),
                   attributeNamespace == .xsi || (attributeNamespace == .none && attributePrefix != nil) {
                    // `xsi:type`; an undeclared `xsi:` prefix is accepted too (no other `type` attribute has a prefix).
                    node.type = cachedType(value)
                } else if cStringEquals(attributeName, "mustUnderstand"),
                          attributeNamespace == .soapEnvelope || attributeNamespace == .none {
                    let flag = trimmed(value)
                    if bytesEqual(flag, "1") || bytesEqual(flag, "true") {
                        node.mustUnderstand = 1
                    } else if bytesEqual(flag, "0") || bytesEqual(flag, "false") {
                        node.mustUnderstand = 0
                    } else {
                        fail(.malformedEnvelope, "mustUnderstand on \(String(cString: localname)) is not 0 or 1")
                        return
                    }
                }
                // soapenc:arrayType is deliberately ignored: entries are counted, never trusted from the claim.
            }
        }
        nodes.append(node)
        current = index
        self.depth = depth
    }

    @inline(__always)
    private mutating func classify(_ uri: UnsafePointer<UInt8>?) -> NamespaceKind {
        guard let uri else { return .none }
        if uri == lastURI { return lastURIKind }
        lastURIKind = NamespaceKind.classify(uri)
        lastURI = uri
        return lastURIKind
    }

    /// Checks the SOAP skeleton as it streams by; returns false after failing.
    private mutating func checkStructure(depth: Int, parent: Int32, localname: UnsafePointer<UInt8>,
                                         namespace: NamespaceKind, index: Int32) -> Bool {
        let soap = namespace == .soapEnvelope || namespace == .undeclared
        switch depth {
        case 1:
            guard cStringEquals(localname, "Envelope") else {
                fail(.malformedEnvelope, "the root element is \(String(cString: localname)), not a SOAP Envelope")
                return false
            }
            guard soap else {
                // SOAP 1.2 or no namespace: SOAP 1.1 answers a VersionMismatch; CWMP speaks SOAP 1.1 only.
                fail(.unsupportedNamespace, "the Envelope is not in the SOAP 1.1 namespace")
                return false
            }
        case 2:
            if soap, cStringEquals(localname, "Header"), headerIndex < 0, bodyIndex < 0 {
                headerIndex = index
            } else if soap, cStringEquals(localname, "Body") {
                guard bodyIndex < 0 else {
                    fail(.malformedEnvelope, "the Envelope has two Body elements")
                    return false
                }
                bodyIndex = index
            }
        case 3 where parent == bodyIndex && parent >= 0:
            guard rpcIndex < 0 else {
                fail(.malformedEnvelope, "the Body holds more than one element (one RPC per envelope)")
                return false
            }
            rpcIndex = index
        default:
            break
        }
        return true
    }

    mutating func characters(_ characters: UnsafePointer<UInt8>, _ length: Int) {
        guard failure == nil, current >= 0, nodes[Int(current)].firstChild < 0 else { return }
        text.append(contentsOf: UnsafeBufferPointer(start: characters, count: length))
    }

    mutating func endElement() {
        guard failure == nil, current >= 0 else { return }
        let top = current
        let i = Int(top)
        nodes[i].textEnd = nodes[i].firstChild < 0 ? Int32(text.count) : nodes[i].textStart
        current = nodes[i].parent
        depth -= 1
        let mark = Int(nodes[i].declarationMark)
        if declarations.count > mark { declarations.removeSubrange(mark..<declarations.count) }
        if headerIndex >= 0, nodes[i].parent == headerIndex {
            decodeHeaderEntry(top)
        }
    }

    // MARK: - xsi:type

    /// Resolves an xsi:type value. Responses interleave a handful of types thousands of times but always with
    /// the same prefix, so the prefix's resolution is cached (valid while the declarations in scope are).
    private mutating func cachedType(_ raw: UnsafeBufferPointer<UInt8>) -> TypeCode {
        let value = trimmed(raw)
        guard let colon = value.firstIndex(of: UInt8(ascii: ":")), colon <= 16 else { return resolveType(raw) }
        let prefix = UnsafeBufferPointer(rebasing: value[..<colon])
        let kind: NamespaceKind
        if prefix.count == lastPrefixLength, declarations.count == lastPrefixDeclarations,
           withUnsafeBytes(of: &lastPrefixBytes, { cached in
               for index in 0..<prefix.count where cached[index] != prefix[index] { return false }
               return true
           }) {
            kind = lastPrefixKind
        } else {
            kind = resolvePrefix(prefix)
            withUnsafeMutableBytes(of: &lastPrefixBytes) { cached in
                for index in 0..<prefix.count { cached[index] = prefix[index] }
            }
            lastPrefixLength = prefix.count
            lastPrefixDeclarations = declarations.count
            lastPrefixKind = kind
        }
        return typeCode(kind: kind, local: UnsafeBufferPointer(rebasing: value[(colon + 1)...]))
    }

    /// Resolves an `xsi:type` QName. The prefix goes through the in-scope declarations; a prefix nobody declared
    /// is accepted when it is one of the conventional ones (`xsd`, `xs`, `soapenc`, `soap-enc`, `SOAP-ENC`,
    /// `cwmp`), because ACSs write `xsi:type="xsd:string"` from templates without always declaring `xsd`.
    func resolveType(_ raw: UnsafeBufferPointer<UInt8>) -> TypeCode {
        let value = trimmed(raw)
        guard let colon = value.firstIndex(of: UInt8(ascii: ":")) else {
            // No prefix: the default namespace, which in practice is never XSD; match the name leniently.
            return xsdType(named: value) ?? .unknown
        }
        let prefix = UnsafeBufferPointer(rebasing: value[..<colon])
        let local = UnsafeBufferPointer(rebasing: value[(colon + 1)...])
        return typeCode(kind: resolvePrefix(prefix), local: local)
    }

    /// The namespace a prefix is bound to; undeclared conventional prefixes are accepted (see resolveType).
    private func resolvePrefix(_ prefix: UnsafeBufferPointer<UInt8>) -> NamespaceKind {
        for declaration in declarations.reversed() {
            guard let declared = declaration.prefix else { continue }
            if prefixMatches(declared, prefix) { return declaration.kind }
        }
        if bytesEqual(prefix, "xsd") || bytesEqual(prefix, "xs") { return .xsd }
        if bytesEqual(prefix, "soapenc") || bytesEqual(prefix, "soap-enc") || bytesEqual(prefix, "SOAP-ENC") {
            return .soapEncoding
        }
        if bytesEqual(prefix, "cwmp") { return .cwmp12 }
        return .undeclared
    }

    private func typeCode(kind: NamespaceKind, local: UnsafeBufferPointer<UInt8>) -> TypeCode {
        switch kind {
        case .xsd, .soapEncoding:
            // SOAP-ENC defines the same simple types (soapenc:string, soapenc:base64 …) as element-typed twins.
            return xsdType(named: local) ?? .unknown
        case .cwmp10, .cwmp11, .cwmp12, .cwmpUnknown:
            if bytesEqual(local, "InstallOpStruct") { return .installOp }
            if bytesEqual(local, "UpdateOpStruct") { return .updateOp }
            if bytesEqual(local, "UninstallOpStruct") { return .uninstallOp }
            return .unknown
        case .none, .undeclared, .soapEnvelope, .xsi, .other:
            return .unknown
        }
    }

    private func prefixMatches(_ declared: UnsafePointer<UInt8>, _ prefix: UnsafeBufferPointer<UInt8>) -> Bool {
        for index in 0..<prefix.count where declared[index] != prefix[index] { return false }
        return declared[prefix.count] == 0
    }

    private func xsdType(named name: UnsafeBufferPointer<UInt8>) -> TypeCode? {
        // By length first: one comparison for each of the types CWMP uses.
        switch name.count {
        case 3: return bytesEqual(name, "int") ? .int : nil
        case 4: return bytesEqual(name, "long") ? .long : nil
        // TR-106 calls it base64; the XSD type (and what most ACSs send) is base64Binary.
        case 6: return bytesEqual(name, "string") ? .string : bytesEqual(name, "base64") ? .base64 : nil
        case 7: return bytesEqual(name, "boolean") ? .boolean : nil
        case 8: return bytesEqual(name, "dateTime") ? .dateTime : nil
        case 9: return bytesEqual(name, "hexBinary") ? .hexBinary : nil
        case 11: return bytesEqual(name, "unsignedInt") ? .unsignedInt : nil
        case 12: return bytesEqual(name, "unsignedLong") ? .unsignedLong : bytesEqual(name, "base64Binary") ? .base64 : nil
        default: return nil
        }
    }

    // MARK: - Header entries

    /// Decodes one child of `soapenv:Header` as soon as it closes.
    mutating func decodeHeaderEntry(_ index: Int32) {
        let entry = nodes[Int(index)]
        let namespace = entry.namespace
        let inCWMP: Bool
        switch namespace {
        case .cwmp10, .cwmp11, .cwmp12, .cwmpUnknown:
            inCWMP = true
        case .none, .undeclared:
            // Unqualified or `cwmp:` without a declaration: lenient, judged by the local name alone.
            inCWMP = true
        case .soapEnvelope, .soapEncoding, .xsd, .xsi, .other:
            inCWMP = false
        }
        let name = entry.name
        let known = inCWMP && (cStringEquals(name, "ID") || cStringEquals(name, "HoldRequests")
            || cStringEquals(name, "SessionTimeout") || cStringEquals(name, "SupportedCWMPVersions")
            || cStringEquals(name, "UseCWMPVersion") || cStringEquals(name, "NoMoreRequests"))
        guard known else {
            if entry.mustUnderstand == 1 {
                postpone(.mustUnderstandHeader, "header \(self.name(of: index)) has mustUnderstand=\"1\" and is not understood")
            }
            return
        }
        if namespace == .cwmpUnknown {
            postpone(.unsupportedNamespace, "header \(self.name(of: index)) is in an unsupported cwmp namespace")
        }
        if headerNamespace == nil, namespace.cwmpNamespace != nil { headerNamespace = namespace }

        // A copy of the (short) text: the header is decoded while `self` is mutated.
        let copy = Array(UnsafeBufferPointer(rebasing: text.buffer[Int(entry.textStart)..<Int(entry.textEnd)]))
        copy.withUnsafeBufferPointer { bytes in decodeKnownHeaderEntry(name, index, bytes) }
    }

    private mutating func decodeKnownHeaderEntry(_ name: UnsafePointer<UInt8>, _ index: Int32,
                                                 _ bytes: UnsafeBufferPointer<UInt8>) {
        if cStringEquals(name, "ID") {
            // Echoed verbatim in the response, so no trimming.
            if header.id == nil { header.id = String(decoding: bytes, as: UTF8.self) }
        } else if cStringEquals(name, "HoldRequests") {
            if let flag = parseBoolean(bytes) {
                header.holdRequests = flag
            } else {
                postpone(.invalidArgument, "header HoldRequests is not a boolean")
            }
        } else if cStringEquals(name, "SessionTimeout") {
            if let seconds = parseUnsigned(bytes, max: UInt64(UInt32.max)) {
                header.sessionTimeout = UInt32(seconds)
            } else {
                postpone(.invalidArgument, "header SessionTimeout is not an unsignedInt")
            }
        } else if cStringEquals(name, "SupportedCWMPVersions") {
            var versions: [CWMPVersion] = []
            for item in trimmed(bytes).split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                guard let version = parseVersion(UnsafeBufferPointer(rebasing: item)) else {
                    postpone(.invalidArgument, "header SupportedCWMPVersions is not a list of versions")
                    return
                }
                versions.append(version)
            }
            header.supportedCWMPVersions = versions
        } else if cStringEquals(name, "UseCWMPVersion") {
            if let version = parseVersion(bytes) {
                header.useCWMPVersion = version
            } else {
                postpone(.invalidArgument, "header UseCWMPVersion is not a version")
            }
        }
        // NoMoreRequests: deprecated since Amendment 1 and absent from every cwmp XSD; understood and ignored,
        // even with mustUnderstand="1" (old CPEs send exactly that).
    }
}

// MARK: - Lexical parsing of the XSD simple types CWMP uses (whitespace around them is tolerated)

/// xsd:boolean, which allows exactly `true`, `false`, `1` and `0`.
func parseBoolean(_ raw: UnsafeBufferPointer<UInt8>) -> Bool? {
    let bytes = trimmed(raw)
    if bytesEqual(bytes, "1") || bytesEqual(bytes, "true") { return true }
    if bytesEqual(bytes, "0") || bytesEqual(bytes, "false") { return false }
    return nil
}

/// A non-negative decimal (an optional `+`, leading zeros allowed, as in xsd:unsignedInt) no larger than `max`.
func parseUnsigned(_ raw: UnsafeBufferPointer<UInt8>, max: UInt64) -> UInt64? {
    var bytes = trimmed(raw)
    if bytes.first == UInt8(ascii: "+") { bytes = UnsafeBufferPointer(rebasing: bytes[1...]) }
    guard !bytes.isEmpty else { return nil }
    var value: UInt64 = 0
    for byte in bytes {
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
        let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
        guard !overflow1, !overflow2, sum <= max else { return nil }
        value = sum
    }
    return value
}

/// A signed decimal within `Int32` or `Int` range (xsd:int).
func parseSigned(_ raw: UnsafeBufferPointer<UInt8>, min: Int64, max: Int64) -> Int64? {
    let bytes = trimmed(raw)
    if bytes.first == UInt8(ascii: "-") {
        // `min` is never Int64.min here (callers pass Int32 or Int bounds above it), so -min does not trap.
        guard let magnitude = parseUnsigned(UnsafeBufferPointer(rebasing: bytes[1...]), max: UInt64(-min))
        else { return nil }
        return -Int64(magnitude)
    }
    guard let value = parseUnsigned(bytes, max: UInt64(max)) else { return nil }
    return Int64(value)
}

/// `major.minor`, as in SupportedCWMPVersions and UseCWMPVersion.
func parseVersion(_ raw: UnsafeBufferPointer<UInt8>) -> CWMPVersion? {
    let bytes = trimmed(raw)
    guard let dot = bytes.firstIndex(of: UInt8(ascii: ".")),
          let major = parseUnsigned(UnsafeBufferPointer(rebasing: bytes[..<dot]), max: 1000),
          let minor = parseUnsigned(UnsafeBufferPointer(rebasing: bytes[(dot + 1)...]), max: 1000)
    else { return nil }
    return CWMPVersion(major: Int(major), minor: Int(minor))
}
