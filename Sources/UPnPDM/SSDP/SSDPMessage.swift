// SSDP messages (UDA 1.1 §1): HTTPU, an HTTP/1.1-like text format carried in one UDP datagram. There is no body,
// no chunking and no Content-Length, so NIOHTTP1's stream decoder does not fit; the format is small enough to read
// by hand, and real devices are sloppy in ways a strict HTTP parser rejects:
//
// * header names in any case, no space after the colon (`NTS:ssdp:alive`, async-upnp-client);
// * bare LF line ends, and no final empty line (devolo's gwsim);
// * vendor headers (`OPT`, `01-NLS`, `X-User-Agent`) and duplicated headers.
//
// What is refused, with `UPnPDMError.malformedSSDPMessage`: anything that is not UTF-8 text with an SSDP start line,
// a header line without a colon or with an empty name, more than `maximumSize` bytes, more than `maximumHeaderCount`
// headers. Duplicates are kept in order; `SSDPAdvertisement` refuses the ones that would be ambiguous (two USNs).

/// The header fields of an SSDP message, in the order received; names compare case-insensitively.
public struct SSDPHeaders: Hashable, Sendable, Sequence {
    public struct Field: Hashable, Sendable {
        public var name: String
        public var value: String
    }

    public private(set) var fields: [Field] = []

    public init(_ fields: [(String, String)] = []) {
        for (name, value) in fields { add(name: name, value: value) }
    }

    public mutating func add(name: String, value: String) { fields.append(Field(name: name, value: value)) }

    /// The first value of the header with this name (any case).
    public subscript(name: String) -> String? { fields.first { Self.sameName($0.name, name) }?.value }

    /// Every value of the header with this name, in order.
    public func values(of name: String) -> [String] { fields.filter { Self.sameName($0.name, name) }.map(\.value) }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    /// ASCII case-insensitive comparison: header names are tokens (RFC 9110 §5.1), so no Unicode folding is needed.
    static func sameName(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.count == rhs.utf8.count && zip(lhs.utf8, rhs.utf8).allSatisfy { asciiLower($0) == asciiLower($1) }
    }

    static func asciiLower(_ byte: UInt8) -> UInt8 { (0x41...0x5A).contains(byte) ? byte | 0x20 : byte }
}

/// One SSDP datagram.
public struct SSDPMessage: Hashable, Sendable {
    public enum StartLine: Hashable, Sendable {
        /// `M-SEARCH * HTTP/1.1`
        case search
        /// `NOTIFY * HTTP/1.1`
        case notify
        /// `HTTP/1.1 200 OK`: a unicast search response.
        case response(statusCode: Int)
    }

    /// Larger datagrams are refused. UDA keeps messages below one Ethernet MTU; 8 KiB leaves room for vendor headers.
    public static let maximumSize = 8192
    /// More header lines than this are refused (a real advertisement has about a dozen).
    public static let maximumHeaderCount = 64

    public var startLine: StartLine
    public var headers: SSDPHeaders

    public init(_ startLine: StartLine, headers: SSDPHeaders) {
        self.startLine = startLine
        self.headers = headers
    }

    /// Reads one datagram.
    public init<Bytes: Collection>(parsing bytes: Bytes) throws(UPnPDMError) where Bytes.Element == UInt8 {
        guard bytes.count <= Self.maximumSize else {
            throw UPnPDMError(.malformedSSDPMessage, "SSDP datagram of \(bytes.count) bytes exceeds \(Self.maximumSize)")
        }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw UPnPDMError(.malformedSSDPMessage, "SSDP datagram is not UTF-8 text")
        }
        // Split the bytes on LF and drop a CR before it: accepts CRLF (UDA) and bare LF (sloppy devices). Bytes, not
        // Characters: Swift treats CRLF as one Character, which no "\n" split would find.
        var lines = Array(bytes).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            Substring(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line, as: UTF8.self)
        }[...]
        guard let first = lines.popFirst() else { throw UPnPDMError(.malformedSSDPMessage, "empty SSDP datagram") }
        startLine = try Self.parseStartLine(first)

        headers = SSDPHeaders()
        var count = 0
        for line in lines {
            // The empty line ends the header; SSDP has no body, so whatever follows is ignored.
            if line.isEmpty { break }
            if line.first == " " || line.first == "\t" {
                // obs-fold (RFC 9110 §5.5): a continuation of the previous value.
                guard var last = headers.fields.last else {
                    throw UPnPDMError(.malformedSSDPMessage, "SSDP header continuation before any header")
                }
                last.value += " " + Self.trimmed(line)
                headers = SSDPHeaders(headers.fields.dropLast().map { ($0.name, $0.value) } + [(last.name, last.value)])
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw UPnPDMError(.malformedSSDPMessage, "SSDP header line without a colon")
            }
            let name = Self.trimmed(line[..<colon])
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else {
                throw UPnPDMError(.malformedSSDPMessage, "SSDP header with an empty or invalid name")
            }
            count += 1
            guard count <= Self.maximumHeaderCount else {
                throw UPnPDMError(.malformedSSDPMessage, "SSDP message has more than \(Self.maximumHeaderCount) headers")
            }
            headers.add(name: name, value: Self.trimmed(line[line.index(after: colon)...]))
        }
    }

    /// The datagram's bytes: CRLF line ends, `NAME: value` headers and the final empty line.
    public func serialized() -> [UInt8] {
        var text: String
        switch startLine {
        case .search: text = "M-SEARCH * HTTP/1.1\r\n"
        case .notify: text = "NOTIFY * HTTP/1.1\r\n"
        case .response(let statusCode): text = "HTTP/1.1 \(statusCode) \(statusCode == 200 ? "OK" : "Error")\r\n"
        }
        for field in headers { text += "\(field.name): \(field.value)\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// A multicast M-SEARCH (UDA 1.1 §1.3.2). `host` is `239.255.255.250:1900` or `[FF02::C]:1900`.
    public static func search(target: String, mx: Int, host: String = SSDPMessage.ipv4Host,
                              userAgent: String = SSDPMessage.userAgent) -> SSDPMessage {
        SSDPMessage(.search, headers: SSDPHeaders([
            ("HOST", host), ("MAN", "\"ssdp:discover\""), ("MX", String(mx)), ("ST", target), ("USER-AGENT", userAgent),
        ]))
    }

    public static let ipv4Host = "239.255.255.250:1900"
    public static let ipv6Host = "[FF02::C]:1900"
    /// `OS/version UPnP/1.1 product/version`, as UDA 1.1 asks of a control point.
    public static let userAgent = "Linux UPnP/1.1 cwmp-proxy/1.0"

    static func parseStartLine(_ line: Substring) throws(UPnPDMError) -> StartLine {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 2 else { throw UPnPDMError(.malformedSSDPMessage, "SSDP start line is not HTTPU") }
        if parts[0].uppercased().hasPrefix("HTTP/1.") {
            guard let code = Int(parts[1]), (100...999).contains(code), parts[1].count == 3 else {
                throw UPnPDMError(.malformedSSDPMessage, "SSDP response has no valid status code")
            }
            return .response(statusCode: code)
        }
        guard parts.count == 3, parts[2].uppercased().hasPrefix("HTTP/1.") else {
            throw UPnPDMError(.malformedSSDPMessage, "SSDP request line is not HTTPU")
        }
        switch parts[0].uppercased() {
        case "M-SEARCH": return .search
        case "NOTIFY": return .notify
        default: throw UPnPDMError(.malformedSSDPMessage, "SSDP request method is neither M-SEARCH nor NOTIFY")
        }
    }

    static func trimmed(_ text: Substring) -> String {
        String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    /// RFC 9110 tchar.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
