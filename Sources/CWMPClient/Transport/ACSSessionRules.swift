// The HTTP rules TR-069 puts below a CWMP session (cwmp.md §6 rules 7–9): cookies echoed, 401 answered (Digest,
// or Basic over TLS), redirects followed on the Inform only, Retry-After read. A pure state machine, no I/O, so
// that both transports (ACSHTTPSession on AsyncHTTPClient for http, NIOACSSession for https on the shared TLS
// context) run the SAME rules: they differ only in how bytes travel. It was written twice before, and the copies
// drifted: the NIO one kept the credentials across a redirect to another origin.
import NIOHTTP1

struct ACSSessionRules: Sendable {
    /// What the transport puts on the next request.
    struct Request: Sendable {
        var url: ACSURL
        var cookie: String?
        var authorization: String?
    }

    /// What to do with one HTTP answer.
    enum Action: Sendable, Hashable {
        /// Send the same body again to `url`: after a 401 challenge, or to a redirect's target. When `newOrigin`, the
        /// connection to the old origin is of no further use.
        case resend(newOrigin: Bool)
        /// The session's answer to this POST.
        case answer(ACSHTTPResponse)
    }

    /// The redirects TR-069 asks a CPE to follow (cwmp.md §6 rule 9). 303 would turn the POST into a GET, which
    /// CWMP cannot use; 308 is not in TR-069's list.
    static let redirectStatuses: Set<Int> = [301, 302, 307]
    /// 401 rounds per POST: a first challenge and a stale nonce need two; the authenticator itself refuses a second
    /// 401 for the same nonce, so the bound only guards against an ACS that keeps sending fresh stale ones.
    static let maximumAuthenticationRounds = 3
    /// The `Accept-Encoding` both transports send when they decode the answer (NIOHTTPCompression: gzip, deflate).
    static let acceptEncoding = "gzip, deflate"

    /// Where the session posts now: the configured URL, or where a redirect sent it. ManagementServer.URL itself
    /// never changes (rule 9).
    private(set) var url: ACSURL
    private(set) var cookies = ACSCookieJar()
    private var authenticator: HTTPClientAuthenticator?
    private let allowsBasicOverPlainHTTP: Bool
    private let maximumRedirects: Int
    private var posts = 0
    private var redirects = 0
    private(set) var closed = false
    private var postIsFirst = false
    private var authenticationRounds = 0

    init(url: ACSURL, credentials: HTTPCredentials?, allowsBasicOverPlainHTTP: Bool, maximumRedirects: Int) {
        self.url = url
        self.allowsBasicOverPlainHTTP = allowsBasicOverPlainHTTP
        self.maximumRedirects = maximumRedirects
        self.authenticator = credentials.map {
            HTTPClientAuthenticator(credentials: $0, allowsBasic: url.isTLS || allowsBasicOverPlainHTTP)
        }
    }

    /// A new POST of the session begins. Throws `.transportFailed` once the session is closed.
    mutating func beginPost() throws {
        if closed { throw CWMPError(.transportFailed, "the session is closed") }
        posts += 1
        postIsFirst = posts == 1
        authenticationRounds = 0
    }

    /// The target, cookies and credentials of the next request (each Digest request uses the next nonce count).
    mutating func nextRequest() -> Request {
        Request(url: url, cookie: cookies.headerValue,
                authorization: authenticator?.authorization(method: "POST", uri: url.target))
    }

    /// Takes one HTTP answer. Throws `CWMPError`: `.authenticationFailed` (credentials refused),
    /// `.authenticationUnsupported`, `.tooManyRedirects`. A 401 when the session has no credentials is the answer.
    mutating func received(status: Int, headers: HTTPHeaders, body: [UInt8]) throws -> Action {
        cookies.store(headers["Set-Cookie"])
        if status == 401 {
            let challenges = headers["WWW-Authenticate"]
            guard authenticator != nil else { return .answer(Self.response(status: status, headers: headers, body: body)) }
            switch authenticator!.received401(wwwAuthenticate: challenges) {
            case .retry where authenticationRounds < Self.maximumAuthenticationRounds:
                authenticationRounds += 1
                return .resend(newOrigin: false)
            case .retry, .rejected:
                throw CWMPError(.authenticationFailed, "the ACS refused the credentials (repeated 401)")
            case .unsupported:
                let offersBasic = HTTPAuthenticationChallenge.parse(headerValues: challenges)
                    .contains { $0.scheme == "basic" }
                if offersBasic && !url.isTLS {
                    throw CWMPError(.authenticationUnsupported,
                                    "the ACS asks for Basic over plain http; TR-069 allows Basic only over TLS "
                                        + "(set allowsBasicOverPlainHTTP to override)")
                }
                throw CWMPError(.authenticationUnsupported, "the ACS asks for no authentication scheme this CPE speaks")
            }
        }
        if let info = headers.first(name: "Authentication-Info") { authenticator?.receivedAuthenticationInfo(info) }
        // Redirects come on the Inform (the first POST): the session restarts there with the same Inform. A redirect
        // later in a session is returned as is, so the session fails rather than post an RPC response to an ACS that
        // never saw the Inform.
        if postIsFirst, Self.redirectStatuses.contains(status) {
            return .resend(newOrigin: try followRedirect(status: status, location: headers.first(name: "Location")))
        }
        return .answer(Self.response(status: status, headers: headers, body: body))
    }

    /// Whether the target is another origin (scheme, host or port).
    private mutating func followRedirect(status: Int, location: String?) throws -> Bool {
        guard let location, let target = url.resolving(location) else {
            throw CWMPError(.tooManyRedirects, "HTTP \(status) without a usable Location")
        }
        guard redirects < maximumRedirects else {
            throw CWMPError(.tooManyRedirects, "more than \(maximumRedirects) redirects in one session")
        }
        redirects += 1
        // Host names compare case-insensitively (RFC 3986 §6.2.2.1): ACS.example is the same server as acs.example.
        let newOrigin = target.isTLS != url.isTLS || target.host.lowercased() != url.host.lowercased()
            || target.port != url.port
        if newOrigin {
            // Another origin is another server: its cookies and nonces are not this one's, and no credentials go
            // there before it asks for them (a fresh authenticator sends nothing until challenged). Basic is
            // re-decided for the target's scheme, so an https→http redirect never carries the password in clear.
            cookies = ACSCookieJar()
            if let credentials = authenticator?.credentials {
                authenticator = HTTPClientAuthenticator(credentials: credentials,
                                                        allowsBasic: target.isTLS || allowsBasicOverPlainHTTP)
            }
        }
        url = target
        return newOrigin
    }

    mutating func close() { closed = true }

    static func response(status: Int, headers: HTTPHeaders, body: [UInt8]) -> ACSHTTPResponse {
        let retryAfter = headers.first(name: "Retry-After").flatMap {
            RetryAfter.parse($0, responseDate: headers.first(name: "Date"))
        }
        return ACSHTTPResponse(status: status, body: body, retryAfter: retryAfter)
    }
}
