import Crypto
import NIOCore

/// The server side of HTTP Digest (RFC 7616, qop=auth), as the CPE answers Connection Requests: it issues
/// challenges and checks `Authorization` headers. A pure value: the caller passes the time and the credentials.
///
/// Nonces are stateless: `issued time ‖ 8 random bytes ‖ HMAC-SHA-256(key, issued ‖ random ‖ scope)[0..<16]`,
/// in hex. The key is random per process, so a nonce cannot be forged, outlives nothing but this process, and
/// costs no memory until it is used. The `scope` (the Connection Request path) is signed in, so a nonce
/// obtained on one agent's URL is no good on another's. Memory is spent only on nonces that authenticated
/// successfully, to refuse replays (`DigestReplayCache`).
public struct HTTPDigestServer: Sendable {
    public struct Configuration: Sendable {
        /// The protection space, sent in every challenge. One per listener: agents are told apart by path.
        public var realm: String
        /// The algorithms offered, in order of preference, one challenge each. MD5 alone by default: it is what
        /// TR-069 ACSs implement for Connection Requests; RFC 7616 clients pick the strongest they know.
        public var algorithms: [DigestAlgorithm]
        /// How long a nonce is good for; an older one gets `stale=true`, which a client answers without
        /// counting an authentication failure.
        public var nonceLifetime: TimeAmount
        /// At most this many used nonces are remembered for replay checks (about 100 bytes each).
        public var replayCacheCapacity: Int

        public init(realm: String, algorithms: [DigestAlgorithm] = [.md5], nonceLifetime: TimeAmount = .minutes(5),
                    replayCacheCapacity: Int = 16_384) {
            precondition(!algorithms.isEmpty, "a Digest server must offer at least one algorithm")
            self.realm = realm
            self.algorithms = algorithms
            self.nonceLifetime = nonceLifetime
            self.replayCacheCapacity = replayCacheCapacity
        }
    }

    /// The result of checking an `Authorization` header.
    public enum Verification: Sendable, Hashable {
        /// The response is right, the nonce is fresh and its nc was not seen before.
        case authenticated
        /// No Digest credentials at all: answer 401 with a challenge.
        case missing
        /// The response is right but the nonce is expired or unknown to this process: 401 with `stale=true`.
        case stale
        /// This (nonce, nc) was already accepted, or nc went backwards: 401.
        case replayed
        /// Wrong user, password, realm or uri, an algorithm not offered, or a malformed header: 401.
        case rejected
    }

    public let configuration: Configuration
    private let key: SymmetricKey
    private var replayCache: DigestReplayCache

    /// - Parameter key: the nonce-signing key; random by default, fixed only in tests.
    public init(configuration: Configuration, key: SymmetricKey = SymmetricKey(size: .bits256)) {
        self.configuration = configuration
        self.key = key
        self.replayCache = DigestReplayCache(capacity: configuration.replayCacheCapacity,
                                             lifetime: configuration.nonceLifetime)
    }

    /// The number of used nonces currently remembered (bounded by `replayCacheCapacity`).
    public var rememberedNonceCount: Int { replayCache.count }

    /// The `WWW-Authenticate` header values of a 401, one per offered algorithm, all with the same fresh nonce.
    public func challenges(scope: String, stale: Bool = false, now: NIODeadline) -> [String] {
        var generator = SystemRandomNumberGenerator()
        return challenges(scope: scope, stale: stale, now: now, using: &generator)
    }

    public func challenges(scope: String, stale: Bool = false, now: NIODeadline,
                           using generator: inout some RandomNumberGenerator) -> [String] {
        let nonce = makeNonce(scope: scope, issued: now.uptimeNanoseconds, random: generator.next())
        return configuration.algorithms.map { algorithm in
            var value = "Digest realm=\(HTTPAuthenticationQuoting.quoted(configuration.realm)), qop=\"auth\", "
                + "algorithm=\(algorithm.rawValue), nonce=\"\(nonce)\""
            if stale { value += ", stale=true" }
            return value
        }
    }

    /// Checks the `Authorization` header of a request for `uri` against the agent's current credentials. On
    /// `.authenticated` the (nonce, nc) pair is recorded, so the same header is refused next time.
    public mutating func verify(authorization headerValue: String?, method: String, uri: String, scope: String,
                                credentials: HTTPCredentials, now: NIODeadline) -> Verification {
        guard let headerValue,
              let fields = HTTPAuthenticationChallenge.parse(headerValue: headerValue).first,
              fields.scheme == "digest"
        else { return .missing }
        guard !fields.hasDuplicateParameters,
              let username = fields[parameter: "username"], let realm = fields[parameter: "realm"],
              let nonce = fields[parameter: "nonce"], let digestURI = fields[parameter: "uri"],
              let response = fields[parameter: "response"],
              fields[parameter: "qop"]?.lowercased() == "auth",  // no RFC 2069 form: it has no replay protection
              let ncText = fields[parameter: "nc"], ncText.utf8.count == 8, let nc = UInt32(ncText, radix: 16),
              let cnonce = fields[parameter: "cnonce"], !cnonce.isEmpty
        else { return .rejected }
        let algorithm: DigestAlgorithm
        if let token = fields[parameter: "algorithm"] {
            guard let known = DigestAlgorithm(token: token) else { return .rejected }
            algorithm = known
        } else {
            algorithm = .md5
        }
        guard configuration.algorithms.contains(algorithm), realm == configuration.realm, digestURI == uri else {
            return .rejected
        }
        let expected = DigestComputation.response(
            algorithm: algorithm, username: credentials.username, realm: configuration.realm,
            password: credentials.password, method: method, uri: uri, nonce: nonce, nc: ncText, cnonce: cnonce,
            qop: "auth")
        // Both comparisons always run, so timing does not tell a wrong user from a wrong password.
        let userMatches = DigestComputation.constantTimeEquals(username, credentials.username)
        let responseMatches = DigestComputation.constantTimeEquals(response.lowercased(), expected)
        guard userMatches && responseMatches else { return .rejected }

        // The client knows the password; now is the nonce ours, fresh, and unused at this nc?
        guard let issued = issuedTime(ofNonce: nonce, scope: scope) else { return .stale }
        let lifetime = UInt64(max(0, configuration.nonceLifetime.nanoseconds))
        let nowNanoseconds = now.uptimeNanoseconds
        guard issued <= nowNanoseconds, nowNanoseconds - issued <= lifetime else { return .stale }
        switch replayCache.record(key: scope + " " + nonce, issued: issued, nonceCount: nc, now: nowNanoseconds) {
        case .accepted: return .authenticated
        case .replayed: return .replayed
        case .forgotten: return .stale
        }
    }

    private func makeNonce(scope: String, issued: UInt64, random: UInt64) -> String {
        var body: [UInt8] = []
        withUnsafeBytes(of: issued.bigEndian) { body += $0 }
        withUnsafeBytes(of: random.bigEndian) { body += $0 }
        return DigestAlgorithm.hex(body + mac(body: body, scope: scope))
    }

    private func mac(body: [UInt8], scope: String) -> [UInt8] {
        var authenticator = HMAC<SHA256>(key: key)
        authenticator.update(data: body)
        authenticator.update(data: Array(scope.utf8))
        return Array(Array(authenticator.finalize()).prefix(16))
    }

    /// The issue time of a nonce this process made for `scope`, or nil for anything else.
    private func issuedTime(ofNonce nonce: String, scope: String) -> UInt64? {
        guard nonce.utf8.count == 64, let bytes = Self.unhex(nonce) else { return nil }
        let body = Array(bytes[0..<16])
        let expected = mac(body: body, scope: scope)
        var difference: UInt8 = 0
        for (lhs, rhs) in zip(expected, bytes[16..<32]) { difference |= lhs ^ rhs }
        guard difference == 0 else { return nil }
        return body[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    private static func unhex(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        var high: UInt8?
        for character in text.utf8 {
            let value: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = character - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let first = high {
                bytes.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return high == nil ? bytes : nil
    }
}

/// Which (nonce, nc) pairs were accepted, so none is accepted twice (RFC 7616 §5.5 "replay attacks").
///
/// One entry per used nonce, holding the highest nc seen: a new request must carry a higher nc. Memory is
/// bounded for thousands of agents: expired nonces are dropped (they would be refused as stale anyway), and
/// when the cache is full of live ones the oldest quarter goes and the `watermark` remembers up to which issue
/// time nonces were forgotten. A forgotten nonce is then refused as stale rather than accepted as new, so
/// evicting never re-opens a replay; the honest client merely takes a fresh nonce.
struct DigestReplayCache: Sendable {
    enum Outcome: Sendable, Hashable { case accepted, replayed, forgotten }

    private struct Entry: Sendable {
        var issued: UInt64
        var highestNonceCount: UInt32
    }

    let capacity: Int
    let lifetime: UInt64
    private var entries: [String: Entry] = [:]
    private var watermark: UInt64?

    init(capacity: Int, lifetime: TimeAmount) {
        self.capacity = max(1, capacity)
        self.lifetime = UInt64(max(0, lifetime.nanoseconds))
    }

    var count: Int { entries.count }

    mutating func record(key: String, issued: UInt64, nonceCount: UInt32, now: UInt64) -> Outcome {
        if var entry = entries[key] {
            guard nonceCount > entry.highestNonceCount else { return .replayed }
            entry.highestNonceCount = nonceCount
            entries[key] = entry
            return .accepted
        }
        if let watermark, issued <= watermark { return .forgotten }
        if entries.count >= capacity { makeRoom(now: now) }
        entries[key] = Entry(issued: issued, highestNonceCount: nonceCount)
        return .accepted
    }

    private mutating func makeRoom(now: UInt64) {
        entries = entries.filter { now < $0.value.issued || now - $0.value.issued <= lifetime }
        guard entries.count >= capacity else { return }
        let byAge = entries.sorted { $0.value.issued < $1.value.issued }
        let evicted = byAge.prefix(max(1, capacity / 4))
        for (key, _) in evicted { entries[key] = nil }
        if let newest = evicted.last?.value.issued { watermark = max(watermark ?? 0, newest) }
    }
}
