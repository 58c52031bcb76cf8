// The HTTP side of one CWMP session, as the agent sees it: a sequence of POSTs on one logical connection to the
// ACS. Everything HTTP-specific that TR-069 puts below the session (cwmp.md §6 rules 7–9: cookies, 401 challenges,
// redirects, keep-alive and reconnecting) belongs to the implementation, so the agent stays testable with a fake
// and can run on NIO directly (`NIOACSTransport`) or on AsyncHTTPClient.

/// One HTTP answer of the ACS, after the transport has dealt with authentication and redirects.
public struct ACSHTTPResponse: Sendable, Hashable {
    public var status: Int
    /// Empty for 204 and for an empty 200.
    public var body: [UInt8]
    /// The Retry-After header of a 503 or any other status, delta-seconds or HTTP-date (`RetryAfter.parse`); nil
    /// when absent or unreadable.
    public var retryAfter: Duration?

    public init(status: Int, body: [UInt8] = [], retryAfter: Duration? = nil) {
        self.status = status
        self.body = body
        self.retryAfter = retryAfter
    }
}

/// Why a POST produced no response.
public struct ACSTransportError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// No response within the timeout of the post.
        case timedOut
        /// Connect, TLS, reset, or the server closed before answering.
        case connectionFailed
        /// The ACS URL cannot be used (scheme, host).
        case invalidURL
        /// The server asked for authentication the transport cannot give (unsupported scheme, refused credentials
        /// are reported as the 401 response instead).
        case authenticationUnsupported
        /// More redirects than allowed, or a redirect without a usable Location.
        case badRedirect
        /// The response exceeded the size the transport accepts.
        case responseTooLarge
    }

    public var kind: Kind
    /// Never contains credentials.
    public var reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { "ACSTransportError(\(kind): \(reason))" }
}

/// One CWMP session's HTTP exchange. Calls are sequential: the agent posts, waits for the answer, posts again.
public protocol ACSSession: Sendable {
    /// POSTs `body` (nil or empty: an empty POST, Content-Length 0) and returns the ACS's answer.
    /// Throws `ACSTransportError` (`.timedOut` when no answer came within `timeout`).
    func post(body: [UInt8]?, timeout: Duration) async throws -> ACSHTTPResponse
    /// Ends the session and releases the connection. Safe to call more than once.
    func close() async
}

/// Opens sessions to an ACS. Shared by every agent of the process; it must not keep per-agent state beyond the
/// sessions it returns.
public protocol ACSTransport: Sendable {
    /// A session to `url`, authenticating with `credentials` when challenged (none: a 401 is returned as is).
    /// May connect lazily, on the first post.
    func openSession(url: String, credentials: HTTPCredentials?) async throws -> any ACSSession
}

/// The parts of an http(s) URL a transport needs. No Foundation: the gateway cannot carry it.
public struct ACSURL: Sendable, Hashable {
    public var isTLS: Bool
    public var host: String
    public var port: Int
    /// The request target: path and query, "/" when the URL has none.
    public var target: String

    public init?(_ text: String) {
        let lowered = text.lowercased()
        let rest: Substring
        if lowered.hasPrefix("https://") {
            isTLS = true
            rest = text.dropFirst(8)
        } else if lowered.hasPrefix("http://") {
            isTLS = false
            rest = text.dropFirst(7)
        } else {
            return nil
        }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        var path = String(rest.dropFirst(authority.count).prefix { $0 != "#" })
        if path.isEmpty || path.first == "?" { path = "/" + path }
        // userinfo in the URL is ignored: credentials come from ManagementServer.Username/Password.
        let hostPort = authority.split(separator: "@", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        var host: String
        var port = isTLS ? 443 : 80
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { return nil }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") {
                guard let parsed = Int(after.dropFirst()), (1...65_535).contains(parsed) else { return nil }
                port = parsed
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            guard let parsed = Int(hostPort[hostPort.index(after: colon)...]), (1...65_535).contains(parsed) else {
                return nil
            }
            port = parsed
        } else {
            host = hostPort
        }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
        self.target = path
    }

    /// The Host header value.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (isTLS ? 443 : 80) ? name : "\(name):\(port)"
    }
}

extension ACSURL {
    /// A redirect's Location (RFC 9110 §10.2.2: a URI reference, resolved against the request's URL by RFC 3986
    /// §5.2): an absolute http(s) URL, a network-path (`//host/p`), an absolute path (`/p`), a query (`?q`) or a
    /// relative path (`p`, `../p`). nil for another scheme or an unusable authority.
    public func resolving(_ location: String) -> ACSURL? {
        let trimmed = location.trimmingSpacesAndTabs
        guard !trimmed.isEmpty else { return nil }
        if let absolute = ACSURL(trimmed) { return absolute }
        if trimmed.hasPrefix("//") { return ACSURL((isTLS ? "https:" : "http:") + trimmed) }
        // A scheme before any '/', '?' or '#' (RFC 3986 §3.1) that ACSURL refused: ftp:, mailto:, …
        let beforePath = trimmed.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let colon = beforePath.firstIndex(of: ":"), beforePath[..<colon].allSatisfy({ $0.isLetter || $0.isNumber
            || $0 == "+" || $0 == "-" || $0 == "." }), beforePath.first?.isLetter == true {
            return nil
        }
        let reference = String(trimmed.prefix { $0 != "#" })
        let basePath = String(target.prefix { $0 != "?" })
        var resolved = self
        if reference.isEmpty {
            return resolved  // only a fragment: the same resource
        } else if reference.hasPrefix("?") {
            resolved.target = basePath + reference
        } else {
            let path = reference.prefix { $0 != "?" }
            let query = reference.dropFirst(path.count)
            let merged = path.hasPrefix("/") ? String(path)
                : String(basePath[...(basePath.lastIndex(of: "/") ?? basePath.startIndex)]) + path
            resolved.target = Self.removingDotSegments(merged) + query
        }
        return resolved
    }

    /// RFC 3986 §5.2.4 on an absolute path: "." and ".." segments go, ".." never climbs above the root.
    static func removingDotSegments(_ path: String) -> String {
        var output: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (index, segment) in segments.enumerated() {
            let isLast = index == segments.count - 1
            switch segment {
            case ".":
                if isLast { output.append("") }
            case "..":
                if !output.isEmpty { output.removeLast() }
                if isLast { output.append("") }
            default:
                output.append(segment)
            }
        }
        return "/" + output.joined(separator: "/")
    }
}
