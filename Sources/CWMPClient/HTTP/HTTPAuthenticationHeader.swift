/// One challenge of a `WWW-Authenticate` header, or the credentials of an `Authorization` header (RFC 7235 §2.1):
/// an auth-scheme followed by either a token68 or a list of auth-params.
///
/// Scheme and parameter names are case-insensitive, so they are stored lowercased; values are kept as sent, with
/// quoted-string escapes removed. A challenge that names a parameter twice is kept with `hasDuplicateParameters`
/// set, because RFC 7616 §3.3 forbids it and both sides must then refuse the challenge rather than guess.
public struct HTTPAuthenticationChallenge: Sendable, Hashable {
    /// The auth-scheme, lowercased (`"digest"`, `"basic"`).
    public var scheme: String
    /// The auth-params by lowercased name.
    public var parameters: [String: String]
    /// The token68 form (`Basic dXNlcjpwYXNz`), when the scheme is followed by one instead of parameters.
    public var token68: String?
    /// A parameter name occurred more than once.
    public var hasDuplicateParameters: Bool

    public init(scheme: String, parameters: [String: String] = [:], token68: String? = nil,
                hasDuplicateParameters: Bool = false) {
        self.scheme = scheme.lowercased()
        self.parameters = parameters
        self.token68 = token68
        self.hasDuplicateParameters = hasDuplicateParameters
    }

    public subscript(parameter name: String) -> String? { parameters[name.lowercased()] }

    /// Every challenge in the given header values. A server may send several `WWW-Authenticate` headers, or
    /// several challenges in one header separated by commas, or both (RFC 7235 §4.1); the order is kept because it
    /// is the server's order of preference (RFC 7616 §3.7). Unparseable tails are dropped, not guessed at.
    public static func parse(headerValues: some Sequence<String>) -> [HTTPAuthenticationChallenge] {
        headerValues.flatMap { parse(headerValue: $0) }
    }

    /// Every challenge in one header value.
    public static func parse(headerValue: String) -> [HTTPAuthenticationChallenge] {
        var scanner = AuthenticationHeaderScanner(Array(headerValue.utf8))
        return scanner.challenges()
    }
}

/// The RFC 7235 grammar is ambiguous at the token level: after `Digest realm="a", ` the next token may be another
/// parameter of the same challenge (`qop=auth`) or the scheme of the next one (`Basic realm=...`). The rule used
/// here is the usual one: a token followed by `=` (but not by `==`-style token68 padding at the end of an
/// element) is a parameter, any other token starts a new challenge.
private struct AuthenticationHeaderScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func challenges() -> [HTTPAuthenticationChallenge] {
        var result: [HTTPAuthenticationChallenge] = []
        var current: HTTPAuthenticationChallenge?
        while true {
            skipSpaceAndCommas()
            guard index < bytes.count else { break }
            guard let token = readToken() else { break }  // garbage: stop rather than misparse the rest
            let afterToken = index
            skipSpace()
            if peek() == UInt8(ascii: "="), current != nil, !isToken68Padding(from: index) {
                index += 1
                skipSpace()
                let value: String
                if peek() == UInt8(ascii: "\"") {
                    guard let quoted = readQuotedString() else { break }
                    value = quoted
                } else {
                    value = readToken() ?? ""
                }
                let name = token.lowercased()
                if current!.parameters[name] != nil { current!.hasDuplicateParameters = true }
                current!.parameters[name] = value
                continue
            }
            // `token` is a new scheme. Flush the previous challenge first.
            index = afterToken
            if let finished = current { result.append(finished) }
            current = HTTPAuthenticationChallenge(scheme: token)
            skipSpace()
            // A token68 directly after the scheme: token68 chars then optional '=' padding, ending the element.
            let save = index
            if let candidate = readToken68(), atElementEnd() {
                // `realm` alone would also match token68; only treat it as one when no '=' assignment follows.
                current!.token68 = candidate
            } else {
                index = save
            }
        }
        if let finished = current { result.append(finished) }
        return result
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpace() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { index += 1 }
    }

    private mutating func skipSpaceAndCommas() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: ",") {
            index += 1
        }
    }

    private func atElementEnd() -> Bool {
        var probe = index
        while probe < bytes.count, bytes[probe] == UInt8(ascii: " ") || bytes[probe] == UInt8(ascii: "\t") {
            probe += 1
        }
        return probe == bytes.count || bytes[probe] == UInt8(ascii: ",")
    }

    /// `=` here is token68 padding (as in `Basic YQ==`) when only `=`s and then the end of the element follow.
    private func isToken68Padding(from position: Int) -> Bool {
        var probe = position
        while probe < bytes.count, bytes[probe] == UInt8(ascii: "=") { probe += 1 }
        while probe < bytes.count, bytes[probe] == UInt8(ascii: " ") || bytes[probe] == UInt8(ascii: "\t") {
            probe += 1
        }
        return probe == bytes.count || bytes[probe] == UInt8(ascii: ",")
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            // tchar of RFC 9110 §5.6.2.
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private mutating func readToken() -> String? {
        let start = index
        while let byte = peek(), Self.isTokenByte(byte) { index += 1 }
        guard index > start else { return nil }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func readToken68() -> String? {
        let start = index
        while let byte = peek(),
              Self.isTokenByte(byte) && byte != UInt8(ascii: "!") && byte != UInt8(ascii: "#")
                || byte == UInt8(ascii: "/") {
            index += 1
        }
        guard index > start else { return nil }
        while peek() == UInt8(ascii: "=") { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// A quoted-string (RFC 9110 §5.6.4): a backslash escapes the next byte, whatever it is.
    private mutating func readQuotedString() -> String? {
        guard peek() == UInt8(ascii: "\"") else { return nil }
        index += 1
        var value: [UInt8] = []
        while let byte = peek() {
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: value, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escaped = peek() else { return nil }
                value.append(escaped)
                index += 1
            default:
                value.append(byte)
            }
        }
        return nil  // unterminated
    }
}

/// Writes auth-param values: as a token when RFC 7616 says so, otherwise as a quoted-string with `"` and `\` escaped.
enum HTTPAuthenticationQuoting {
    static func quoted(_ value: String) -> String {
        var result = "\""
        for character in value {
            if character == "\"" || character == "\\" { result.append("\\") }
            result.append(character)
        }
        result.append("\"")
        return result
    }
}
