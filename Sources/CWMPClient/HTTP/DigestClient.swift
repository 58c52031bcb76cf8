/// A username and password for HTTP authentication. `description` never shows the password, so the value can
/// travel through logs and error messages safely.
public struct HTTPCredentials: Sendable, Hashable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public var description: String { "HTTPCredentials(username: \(username), password: <redacted>)" }
}

/// A parsed, usable Digest challenge (RFC 7616 §3.3), as the client keeps it between requests.
public struct DigestChallenge: Sendable, Hashable {
    public var realm: String
    public var nonce: String
    public var opaque: String?
    public var algorithm: DigestAlgorithm
    /// Whether the server offered qop=auth. Without it the RFC 2069 form is used (no nc/cnonce).
    public var qopAuth: Bool
    /// The server says the nonce expired, not that the credentials were wrong (RFC 7616 §3.3 `stale`).
    public var stale: Bool

    public init(realm: String, nonce: String, opaque: String? = nil, algorithm: DigestAlgorithm = .md5,
                qopAuth: Bool = true, stale: Bool = false) {
        self.realm = realm
        self.nonce = nonce
        self.opaque = opaque
        self.algorithm = algorithm
        self.qopAuth = qopAuth
        self.stale = stale
    }

    /// Reads a Digest challenge; nil when it is not Digest, is malformed, or asks for something this side cannot
    /// do (an unknown algorithm, or only qop=auth-int, which needs the body).
    public init?(_ challenge: HTTPAuthenticationChallenge) {
        guard challenge.scheme == "digest", !challenge.hasDuplicateParameters,
              let realm = challenge[parameter: "realm"], let nonce = challenge[parameter: "nonce"], !nonce.isEmpty
        else { return nil }
        let algorithm: DigestAlgorithm
        if let token = challenge[parameter: "algorithm"] {
            guard let known = DigestAlgorithm(token: token) else { return nil }
            algorithm = known
        } else {
            algorithm = .md5  // RFC 7616 §3.3: absent means MD5
        }
        var qopAuth = false
        if let qop = challenge[parameter: "qop"] {
            let options = qop.split(separator: ",").map { $0.trimmingSpaces().lowercased() }
            guard options.contains("auth") else { return nil }
            qopAuth = true
        }
        self.init(realm: realm, nonce: nonce, opaque: challenge[parameter: "opaque"], algorithm: algorithm,
                  qopAuth: qopAuth, stale: challenge[parameter: "stale"]?.lowercased() == "true")
    }

    /// The `Authorization` header value for one request (RFC 7616 §3.4). Pure: the caller supplies the cnonce and
    /// the nonce-count, which is what makes the RFC test vectors checkable to the byte.
    public func authorization(credentials: HTTPCredentials, method: String, uri: String,
                              cnonce: String, nonceCount: UInt32) -> String {
        let nc = DigestComputation.formatNonceCount(nonceCount)
        let response = DigestComputation.response(
            algorithm: algorithm, username: credentials.username, realm: realm, password: credentials.password,
            method: method, uri: uri, nonce: nonce, nc: qopAuth ? nc : nil, cnonce: qopAuth ? cnonce : nil,
            qop: qopAuth ? "auth" : nil)
        var parts = [
            "username=\(HTTPAuthenticationQuoting.quoted(credentials.username))",
            "realm=\(HTTPAuthenticationQuoting.quoted(realm))",
            "uri=\(HTTPAuthenticationQuoting.quoted(uri))",
            "algorithm=\(algorithm.rawValue)",
            "nonce=\(HTTPAuthenticationQuoting.quoted(nonce))",
        ]
        if qopAuth {
            parts += ["nc=\(nc)", "cnonce=\(HTTPAuthenticationQuoting.quoted(cnonce))", "qop=auth"]
        }
        parts.append("response=\(HTTPAuthenticationQuoting.quoted(response))")
        if let opaque { parts.append("opaque=\(HTTPAuthenticationQuoting.quoted(opaque))") }
        return "Digest " + parts.joined(separator: ", ")
    }
}

/// The client side of HTTP authentication for one server (the ACS), transport-agnostic: feed it the
/// `WWW-Authenticate` values of each 401, ask it for the `Authorization` value of each request.
///
/// It implements the CWMP rules of TR-069 §3.4.4: answer a 401 by resending with credentials; a second 401 for
/// the same credentials is a failure (the session then fails and the retry policy applies), except when the
/// server says `stale=true`, which only means the nonce expired. Once challenged it keeps sending credentials on
/// every request, counting nc up per request with the same nonce (RFC 7616 §3.4), so the ACS does not have to
/// challenge each POST of the session.
public struct HTTPClientAuthenticator: Sendable {
    /// What to do with the request that got a 401.
    public enum ChallengeDisposition: Sendable, Hashable {
        /// Send it again with `authorization(method:uri:)`.
        case retry
        /// The server refused these credentials: stop and treat the session as failed.
        case rejected
        /// The server asked for no scheme this client speaks (or for Basic while Basic is not allowed).
        case unsupported
    }

    private enum Scheme: Sendable {
        case none
        case digest(DigestChallenge, nonceCount: UInt32)
        case basic
    }

    public var credentials: HTTPCredentials
    /// Basic sends the password in clear; TR-069 allows it only over TLS, which only the transport knows.
    public var allowsBasic: Bool
    private var scheme: Scheme = .none
    /// Credentials went out since the last challenge was adopted, so another 401 is a real refusal.
    private var sentSinceChallenge = false

    public init(credentials: HTTPCredentials, allowsBasic: Bool = true) {
        self.credentials = credentials
        self.allowsBasic = allowsBasic
    }

    /// The Digest challenge in use, if any (for tests and diagnostics).
    public var digestChallenge: DigestChallenge? {
        if case .digest(let challenge, _) = scheme { return challenge }
        return nil
    }

    /// Takes the `WWW-Authenticate` header values of a 401 response.
    public mutating func received401(wwwAuthenticate headerValues: some Sequence<String>) -> ChallengeDisposition {
        let challenges = HTTPAuthenticationChallenge.parse(headerValues: headerValues)
        let digest = challenges.compactMap(DigestChallenge.init)
            .enumerated()
            // Strongest algorithm wins; among equals, the server's order (its preference) decides.
            .max { lhs, rhs in
                (lhs.element.algorithm.strength, -lhs.offset) < (rhs.element.algorithm.strength, -rhs.offset)
            }?.element
        let alreadySent = sentSinceChallenge
        sentSinceChallenge = false
        if let digest {
            let previous = digestChallenge
            scheme = .digest(digest, nonceCount: 0)
            if !alreadySent { return .retry }
            // Same credentials refused again: only a stale nonce (with a new nonce to use) is worth another try.
            if digest.stale && digest.nonce != previous?.nonce { return .retry }
            return .rejected
        }
        if allowsBasic, challenges.contains(where: { $0.scheme == "basic" && !$0.hasDuplicateParameters }) {
            scheme = .basic
            return alreadySent ? .rejected : .retry
        }
        scheme = .none
        return .unsupported
    }

    /// Takes an `Authentication-Info` header (RFC 7616 §3.5): a `nextnonce` replaces the nonce for the next request.
    public mutating func receivedAuthenticationInfo(_ headerValue: String) {
        guard case .digest(var challenge, _) = scheme else { return }
        var scanner = HTTPAuthenticationChallenge.parse(headerValue: "Digest " + headerValue)
        guard let info = scanner.popLast(), let next = info[parameter: "nextnonce"], !next.isEmpty else { return }
        challenge.nonce = next
        challenge.stale = false
        scheme = .digest(challenge, nonceCount: 0)
    }

    /// The `Authorization` value for the next request, or nil before any challenge (send the request bare).
    public mutating func authorization(method: String, uri: String) -> String? {
        var generator = SystemRandomNumberGenerator()
        return authorization(method: method, uri: uri, using: &generator)
    }

    /// As `authorization(method:uri:)`, with the cnonce drawn from `generator` (tests pass a seeded one).
    public mutating func authorization(method: String, uri: String,
                                       using generator: inout some RandomNumberGenerator) -> String? {
        switch scheme {
        case .none:
            return nil
        case .basic:
            sentSinceChallenge = true
            return "Basic " + HTTPBase64.encode(Array("\(credentials.username):\(credentials.password)".utf8))
        case .digest(let challenge, let previousCount):
            let count = previousCount &+ 1
            scheme = .digest(challenge, nonceCount: count)
            sentSinceChallenge = true
            // 128 bits of cnonce: the server's nonce already prevents replay; the cnonce protects the client
            // against chosen-plaintext attacks, so it only needs to be unpredictable.
            var cnonceBytes: [UInt8] = []
            for _ in 0..<2 { withUnsafeBytes(of: generator.next().littleEndian) { cnonceBytes += $0 } }
            return challenge.authorization(credentials: credentials, method: method, uri: uri,
                                           cnonce: DigestAlgorithm.hex(cnonceBytes), nonceCount: count)
        }
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
