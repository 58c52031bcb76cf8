import Crypto
import NIOCore
import Testing
@testable import CWMPClient

/// A deterministic generator (SplitMix64) so cnonces, nonces and retry waits are reproducible in tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct DigestVectorTests {
    static let rfc7616Challenges = [
        """
        Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, \
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
        """,
        """
        Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, \
        nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
        """,
    ]
    static let mufasa = HTTPCredentials(username: "Mufasa", password: "Circle of Life")
    static let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"

    /// RFC 7616 §3.9.1, MD5: the exact Authorization value of the RFC, in its parameter order.
    @Test func rfc7616MD5() throws {
        let challenges = HTTPAuthenticationChallenge.parse(headerValues: Self.rfc7616Challenges)
        let md5 = try #require(DigestChallenge(challenges[1]))
        #expect(md5.algorithm == .md5)
        let header = md5.authorization(credentials: Self.mufasa, method: "GET", uri: "/dir/index.html",
                                       cnonce: Self.cnonce, nonceCount: 1)
        #expect(header == """
            Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=MD5, \
            nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, \
            cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, \
            response="8ca523f5e9506fed4657c9700eebdbec", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
            """)
    }

    /// RFC 7616 §3.9.1, SHA-256.
    @Test func rfc7616SHA256() throws {
        let challenges = HTTPAuthenticationChallenge.parse(headerValues: Self.rfc7616Challenges)
        let sha = try #require(DigestChallenge(challenges[0]))
        #expect(sha.algorithm == .sha256)
        let header = sha.authorization(credentials: Self.mufasa, method: "GET", uri: "/dir/index.html",
                                       cnonce: Self.cnonce, nonceCount: 1)
        #expect(header == """
            Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, \
            nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, \
            cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, \
            response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", \
            opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
            """)
    }

    /// The authenticator, given the RFC's two challenges, picks SHA-256 (the stronger), whatever the order.
    @Test func authenticatorPicksTheStrongestAlgorithm() {
        for order in [Self.rfc7616Challenges, Self.rfc7616Challenges.reversed()] {
            var client = HTTPClientAuthenticator(credentials: Self.mufasa)
            #expect(client.received401(wwwAuthenticate: order) == .retry)
            #expect(client.digestChallenge?.algorithm == .sha256)
        }
    }

    /// RFC 2617 §3.5 (MD5, qop=auth), the form most ACSs still send.
    @Test func rfc2617Example() throws {
        let challenge = try #require(DigestChallenge(HTTPAuthenticationChallenge.parse(headerValue: """
            Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", \
            opaque="5ccc069c403ebaf9f0171e9517f40e41"
            """)[0]))
        // RFC 2617 spells the password "Circle Of Life", with a capital O.
        let header = challenge.authorization(credentials: .init(username: "Mufasa", password: "Circle Of Life"),
                                             method: "GET", uri: "/dir/index.html", cnonce: "0a4f113b", nonceCount: 1)
        #expect(header.contains(#"response="6629fae49393a05397450978507c4ef1""#))
    }

    /// Without qop the RFC 2069 form is used: no nc, no cnonce.
    @Test func challengeWithoutQopUsesTheRFC2069Form() throws {
        let challenge = try #require(DigestChallenge(
            HTTPAuthenticationChallenge.parse(headerValue: #"Digest realm="r", nonce="n""#)[0]))
        #expect(!challenge.qopAuth)
        let header = challenge.authorization(credentials: .init(username: "u", password: "p"), method: "POST",
                                             uri: "/acs", cnonce: "c", nonceCount: 1)
        #expect(!header.contains("nc=") && !header.contains("cnonce=") && !header.contains("qop="))
        let ha1 = DigestAlgorithm.md5.hexHash("u:r:p"), ha2 = DigestAlgorithm.md5.hexHash("POST:/acs")
        #expect(header.contains("response=\"\(DigestAlgorithm.md5.hexHash("\(ha1):n:\(ha2)"))\""))
    }

    /// -sess: A1 is H(H(user:realm:password):nonce:cnonce) (RFC 7616 §3.4.2), checked against a by-hand computation.
    @Test func sessionVariantHashesTheNonceIntoA1() throws {
        let challenge = try #require(DigestChallenge(HTTPAuthenticationChallenge.parse(
            headerValue: #"Digest realm="r", nonce="n", qop=auth, algorithm=SHA-256-sess"#)[0]))
        let header = challenge.authorization(credentials: .init(username: "u", password: "p"), method: "GET",
                                             uri: "/x", cnonce: "c", nonceCount: 2)
        let h = DigestAlgorithm.sha256.hexHash
        let expected = h("\(h("\(h("u:r:p")):n:c")):n:00000002:c:auth:\(h("GET:/x"))")
        #expect(header.contains("response=\"\(expected)\""))
        #expect(header.contains("algorithm=SHA-256-sess"))
    }
}

@Suite struct DigestChallengeParsingTests {
    @Test func severalChallengesInOneHeaderWithBasicFirst() {
        let parsed = HTTPAuthenticationChallenge.parse(headerValue: """
            Basic realm="simple", Digest realm="x@y", qop="auth,auth-int", nonce="abc", algorithm=MD5 , \
            Newauth realm="apps", type=1, title="Login to \\"apps\\""
            """)
        #expect(parsed.map(\.scheme) == ["basic", "digest", "newauth"])
        #expect(parsed[0][parameter: "realm"] == "simple")
        #expect(parsed[1][parameter: "qop"] == "auth,auth-int")
        #expect(parsed[1][parameter: "algorithm"] == "MD5")
        #expect(parsed[2][parameter: "title"] == #"Login to "apps""#)
        #expect(parsed[2][parameter: "type"] == "1")
    }

    @Test func namesAreCaseInsensitiveAndValuesKeepTheirCase() throws {
        let parsed = HTTPAuthenticationChallenge.parse(headerValue: #"DIGEST REALM="R", Nonce=AbC, ALGORITHM=sha-256"#)
        let digest = try #require(DigestChallenge(parsed[0]))
        #expect(digest.realm == "R" && digest.nonce == "AbC" && digest.algorithm == .sha256)
    }

    @Test func escapesCommasAndEqualsInsideQuotedStrings() {
        let parsed = HTTPAuthenticationChallenge.parse(
            headerValue: #"Digest realm="a, b=c \\ d", nonce="x\"y", qop="auth""#)
        #expect(parsed.count == 1)
        #expect(parsed[0][parameter: "realm"] == #"a, b=c \ d"#)
        #expect(parsed[0][parameter: "nonce"] == #"x"y"#)
    }

    @Test func token68IsNotMistakenForAParameter() {
        let parsed = HTTPAuthenticationChallenge.parse(headerValue: "Basic YWxhZGRpbjpvcGVuc2VzYW1l==, Digest nonce=n, realm=r")
        #expect(parsed.count == 2)
        #expect(parsed[0].token68 == "YWxhZGRpbjpvcGVuc2VzYW1l==")
        #expect(parsed[1][parameter: "realm"] == "r")
    }

    @Test func unsupportedOrBrokenDigestChallengesAreSkipped() {
        let rejected = [
            #"Digest realm="r", nonce="n", algorithm=SHA-512-256"#,  // unknown algorithm
            #"Digest realm="r", nonce="n", qop="auth-int""#,           // needs the body
            #"Digest realm="r""#,                                       // no nonce
            #"Digest realm="r", nonce="n", nonce="m""#,                 // duplicate parameter
            #"Digest realm="r", nonce="unterminated"#,                  // unterminated quoted-string
        ]
        for value in rejected {
            #expect(HTTPAuthenticationChallenge.parse(headerValue: value).compactMap(DigestChallenge.init).isEmpty,
                    "\(value)")
        }
    }

    @Test func emptyAndGarbageHeadersYieldNothingUsable() {
        #expect(HTTPAuthenticationChallenge.parse(headerValue: "").isEmpty)
        #expect(HTTPAuthenticationChallenge.parse(headerValue: " , ,").isEmpty)
        var client = HTTPClientAuthenticator(credentials: .init(username: "u", password: "p"))
        #expect(client.received401(wwwAuthenticate: ["\"garbage\""]) == .unsupported)
        #expect(client.authorization(method: "GET", uri: "/") == nil)
    }
}

@Suite struct DigestClientTests {
    static let credentials = HTTPCredentials(username: "cpe", password: "s3cret")

    @Test func noAuthorizationBeforeAChallenge() {
        var client = HTTPClientAuthenticator(credentials: Self.credentials)
        #expect(client.authorization(method: "POST", uri: "/acs") == nil)
    }

    @Test func nonceCountIncrementsPerRequestAndResetsWithANewNonce() throws {
        var client = HTTPClientAuthenticator(credentials: Self.credentials)
        #expect(client.received401(wwwAuthenticate: [#"Digest realm="acs", nonce="n1", qop="auth""#]) == .retry)
        var generator = SeededGenerator(seed: 1)
        let firstValue = client.authorization(method: "POST", uri: "/acs", using: &generator)
        let first = try #require(firstValue)
        let secondValue = client.authorization(method: "POST", uri: "/acs", using: &generator)
        let second = try #require(secondValue)
        #expect(first.contains("nc=00000001") && second.contains("nc=00000002"))
        let firstCnonce = HTTPAuthenticationChallenge.parse(headerValue: first)[0][parameter: "cnonce"]
        let secondCnonce = HTTPAuthenticationChallenge.parse(headerValue: second)[0][parameter: "cnonce"]
        #expect(firstCnonce != secondCnonce)
        #expect(firstCnonce?.utf8.count == 32)

        // stale=true with a new nonce: retry, not a failure, and nc restarts at 1.
        #expect(client.received401(wwwAuthenticate: [#"Digest realm="acs", nonce="n2", qop="auth", stale=TRUE"#])
                == .retry)
        let thirdValue = client.authorization(method: "POST", uri: "/acs", using: &generator)
        let third = try #require(thirdValue)
        #expect(third.contains(#"nonce="n2""#) && third.contains("nc=00000001"))
    }

    @Test func theSameSeedGivesTheSameCnonce() {
        func header(seed: UInt64) -> String? {
            var client = HTTPClientAuthenticator(credentials: Self.credentials)
            _ = client.received401(wwwAuthenticate: [#"Digest realm="acs", nonce="n", qop="auth""#])
            var generator = SeededGenerator(seed: seed)
            return client.authorization(method: "POST", uri: "/acs", using: &generator)
        }
        #expect(header(seed: 7) == header(seed: 7))
        #expect(header(seed: 7) != header(seed: 8))
    }

    @Test func aSecond401WithoutStaleIsARejection() {
        var client = HTTPClientAuthenticator(credentials: Self.credentials)
        let challenge = [#"Digest realm="acs", nonce="n1", qop="auth""#]
        #expect(client.received401(wwwAuthenticate: challenge) == .retry)
        _ = client.authorization(method: "POST", uri: "/acs")
        #expect(client.received401(wwwAuthenticate: [#"Digest realm="acs", nonce="n9", qop="auth""#]) == .rejected)
        // A stale=true that repeats the nonce already refused is a rejection too (no endless loop).
        var looping = HTTPClientAuthenticator(credentials: Self.credentials)
        _ = looping.received401(wwwAuthenticate: [#"Digest realm="acs", nonce="n1", qop="auth""#])
        _ = looping.authorization(method: "POST", uri: "/acs")
        #expect(looping.received401(wwwAuthenticate: [#"Digest realm="acs", nonce="n1", qop="auth", stale=true"#])
                == .rejected)
    }

    @Test func basicOnlyWhenAskedForAndAllowed() {
        var client = HTTPClientAuthenticator(credentials: .init(username: "Aladdin", password: "open sesame"))
        #expect(client.received401(wwwAuthenticate: [#"Basic realm="acs""#]) == .retry)
        #expect(client.authorization(method: "POST", uri: "/acs") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        #expect(client.received401(wwwAuthenticate: [#"Basic realm="acs""#]) == .rejected)

        var noBasic = HTTPClientAuthenticator(credentials: Self.credentials, allowsBasic: false)
        #expect(noBasic.received401(wwwAuthenticate: [#"Basic realm="acs""#]) == .unsupported)
        #expect(noBasic.authorization(method: "POST", uri: "/acs") == nil)

        // Digest is preferred over Basic when both are offered.
        var both = HTTPClientAuthenticator(credentials: Self.credentials)
        #expect(both.received401(wwwAuthenticate: [#"Basic realm="acs", Digest realm="acs", nonce="n""#]) == .retry)
        #expect(both.authorization(method: "POST", uri: "/acs")?.hasPrefix("Digest ") == true)
    }

    @Test func nextnonceFromAuthenticationInfoIsUsed() throws {
        var client = HTTPClientAuthenticator(credentials: Self.credentials)
        _ = client.received401(wwwAuthenticate: [#"Digest realm="acs", nonce="n1", qop="auth""#])
        _ = client.authorization(method: "POST", uri: "/acs")
        client.receivedAuthenticationInfo(#"nextnonce="n2", qop=auth, rspauth="x", cnonce="c", nc=00000001"#)
        let nextValue = client.authorization(method: "POST", uri: "/acs")
        let next = try #require(nextValue)
        #expect(next.contains(#"nonce="n2""#) && next.contains("nc=00000001"))
    }

    @Test func credentialsDescriptionHidesThePassword() {
        #expect(!"\(Self.credentials)".contains("s3cret"))
        #expect(!String(reflecting: Self.credentials).contains("s3cret"))
    }
}

@Suite struct DigestServerTests {
    static let credentials = HTTPCredentials(username: "acs", password: "cr-pass")
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    static func server(algorithms: [DigestAlgorithm] = [.md5], capacity: Int = 100) -> HTTPDigestServer {
        HTTPDigestServer(configuration: .init(realm: "cwmp-proxy", algorithms: algorithms,
                                              nonceLifetime: .minutes(5), replayCacheCapacity: capacity))
    }

    /// A client answer to the server's challenge, made with this module's client.
    static func answer(_ challenges: [String], uri: String = "/cr", credentials: HTTPCredentials = credentials,
                       requests: Int = 1) -> [String] {
        var client = HTTPClientAuthenticator(credentials: credentials)
        _ = client.received401(wwwAuthenticate: challenges)
        return (0..<requests).map { _ in client.authorization(method: "GET", uri: uri)! }
    }

    @Test func challengeShape() {
        var generator = SeededGenerator(seed: 3)
        let values = Self.server(algorithms: [.sha256, .md5]).challenges(scope: "/cr", now: Self.t0, using: &generator)
        #expect(values.count == 2)
        let parsed = HTTPAuthenticationChallenge.parse(headerValues: values)
        #expect(parsed.map { $0[parameter: "algorithm"] } == ["SHA-256", "MD5"])
        #expect(parsed.allSatisfy { $0[parameter: "realm"] == "cwmp-proxy" && $0[parameter: "qop"] == "auth" })
        #expect(parsed[0][parameter: "nonce"] == parsed[1][parameter: "nonce"])
        #expect(parsed[0][parameter: "nonce"]?.utf8.count == 64)
        #expect(parsed[0][parameter: "stale"] == nil)
    }

    @Test func freshNoncesDiffer() {
        let server = Self.server()
        #expect(server.challenges(scope: "/cr", now: Self.t0) != server.challenges(scope: "/cr", now: Self.t0))
    }

    @Test func acceptsAGoodAnswerOnceAndRefusesItsReplay() {
        var server = Self.server()
        let header = Self.answer(server.challenges(scope: "/cr", now: Self.t0))[0]
        #expect(server.verify(authorization: header, method: "GET", uri: "/cr", scope: "/cr",
                              credentials: Self.credentials, now: Self.t0 + .seconds(1)) == .authenticated)
        #expect(server.verify(authorization: header, method: "GET", uri: "/cr", scope: "/cr",
                              credentials: Self.credentials, now: Self.t0 + .seconds(2)) == .replayed)
    }

    @Test func nonceCountMustIncrease() {
        var server = Self.server()
        let headers = Self.answer(server.challenges(scope: "/cr", now: Self.t0), requests: 3)
        func verify(_ header: String) -> HTTPDigestServer.Verification {
            server.verify(authorization: header, method: "GET", uri: "/cr", scope: "/cr",
                          credentials: Self.credentials, now: Self.t0)
        }
        #expect(verify(headers[0]) == .authenticated)  // nc=1
        #expect(verify(headers[2]) == .authenticated)  // nc=3: gaps are fine
        #expect(verify(headers[1]) == .replayed)       // nc=2 after 3: went backwards
    }

    @Test func wrongPasswordUserURIOrRealmIsRejected() {
        var server = Self.server()
        let challenges = server.challenges(scope: "/cr", now: Self.t0)
        let wrongPassword = Self.answer(challenges, credentials: .init(username: "acs", password: "nope"))[0]
        let wrongUser = Self.answer(challenges, credentials: .init(username: "eve", password: "cr-pass"))[0]
        let otherURI = Self.answer(challenges, uri: "/other")[0]
        for header in [wrongPassword, wrongUser, otherURI, "Digest username=\"acs\"", "Basic YWNzOmNyLXBhc3M="] {
            #expect(server.verify(authorization: header, method: "GET", uri: "/cr", scope: "/cr",
                                  credentials: Self.credentials, now: Self.t0) != .authenticated, "\(header)")
        }
        #expect(server.verify(authorization: nil, method: "GET", uri: "/cr", scope: "/cr",
                              credentials: Self.credentials, now: Self.t0) == .missing)
        let otherRealm = Self.answer(challenges.map { $0.replacingRealm() })[0]
        #expect(server.verify(authorization: otherRealm, method: "GET", uri: "/cr", scope: "/cr",
                              credentials: Self.credentials, now: Self.t0) == .rejected)
        #expect(server.rememberedNonceCount == 0)
    }

    @Test func algorithmNotOfferedIsRejected() {
        var server = Self.server(algorithms: [.sha256])
        let md5Challenge = Self.server(algorithms: [.md5]).challenges(scope: "/cr", now: Self.t0)
        let header = Self.answer(md5Challenge)[0]
        #expect(server.verify(authorization: header, method: "GET", uri: "/cr", scope: "/cr",
                              credentials: Self.credentials, now: Self.t0) == .rejected)
    }

    @Test func sha256RoundTrip() {
        var server = Self.server(algorithms: [.sha256, .md5])
        let header = Self.answer(server.challenges(scope: "/cr", now: Self.t0))[0]
        #expect(header.contains("algorithm=SHA-256"))
        #expect(server.verify(authorization: header, method: "GET", uri: "/cr", scope: "/cr",
                              credentials: Self.credentials, now: Self.t0) == .authenticated)
    }

    @Test func expiredForeignOrOtherScopeNonceIsStale() {
        var server = Self.server()
        let header = Self.answer(server.challenges(scope: "/cr", now: Self.t0))[0]
        #expect(server.verify(authorization: header, method: "GET", uri: "/cr", scope: "/cr",
                              credentials: Self.credentials, now: Self.t0 + .minutes(5) + .seconds(1)) == .stale)
        // A nonce from another process (another key), e.g. before a restart: stale, so the ACS just retries.
        let foreign = Self.answer(Self.server().challenges(scope: "/cr", now: Self.t0))[0]
        #expect(server.verify(authorization: foreign, method: "GET", uri: "/cr", scope: "/cr",
                              credentials: Self.credentials, now: Self.t0) == .stale)
        // A nonce issued on another agent's path does not open this one.
        let otherScope = Self.answer(server.challenges(scope: "/other", now: Self.t0))[0]
        #expect(server.verify(authorization: otherScope, method: "GET", uri: "/cr", scope: "/cr",
                              credentials: Self.credentials, now: Self.t0) == .stale)
        // Still within the lifetime: fine.
        #expect(server.verify(authorization: header, method: "GET", uri: "/cr", scope: "/cr",
                              credentials: Self.credentials, now: Self.t0 + .minutes(4)) == .authenticated)
    }

    @Test func replayBookkeepingStaysBoundedAndNeverReopensAReplay() {
        var server = Self.server(capacity: 8)
        var accepted: [String] = []
        for step in 0..<40 {
            let now = Self.t0 + .seconds(Int64(step))
            let header = Self.answer(server.challenges(scope: "/cr", now: now))[0]
            #expect(server.verify(authorization: header, method: "GET", uri: "/cr", scope: "/cr",
                                  credentials: Self.credentials, now: now) == .authenticated)
            accepted.append(header)
            #expect(server.rememberedNonceCount <= 8)
        }
        // Every header already used is refused, evicted or not: replayed if remembered, stale if forgotten.
        for header in accepted {
            let result = server.verify(authorization: header, method: "GET", uri: "/cr", scope: "/cr",
                                       credentials: Self.credentials, now: Self.t0 + .seconds(41))
            #expect(result == .replayed || result == .stale)
        }
        // Once nonces expire they make room without a watermark bump.
        let later = Self.t0 + .minutes(30)
        let fresh = Self.answer(server.challenges(scope: "/cr", now: later))[0]
        #expect(server.verify(authorization: fresh, method: "GET", uri: "/cr", scope: "/cr",
                              credentials: Self.credentials, now: later) == .authenticated)
    }

    @Test func constantTimeEqualsIsEquality() {
        #expect(DigestComputation.constantTimeEquals("abc", "abc"))
        #expect(!DigestComputation.constantTimeEquals("abc", "abd"))
        #expect(!DigestComputation.constantTimeEquals("abc", "abcd"))
        #expect(!DigestComputation.constantTimeEquals("", "a"))
    }
}

extension String {
    func replacingRealm() -> String {
        var result = ""
        var rest = Substring(self)
        if let range = rest.firstRange(of: #"realm="cwmp-proxy""#) {
            result += rest[..<range.lowerBound] + #"realm="elsewhere""#
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
