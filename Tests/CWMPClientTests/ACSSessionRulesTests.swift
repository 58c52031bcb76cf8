import NIOHTTP1
import Testing
@testable import CWMPClient

/// The session rules both ACS transports share, as a pure state machine: one answer in, one action out.
@Suite struct ACSSessionRulesTests {
    static let credentials = HTTPCredentials(username: "cpe", password: "pw")
    static let basicChallenge: HTTPHeaders = ["WWW-Authenticate": "Basic realm=\"acs\""]
    static let digestChallenge: HTTPHeaders = ["WWW-Authenticate": "Digest realm=\"acs\", nonce=\"n1\", qop=\"auth\""]

    func rules(_ url: String, credentials: HTTPCredentials? = Self.credentials, basicOverHTTP: Bool = false)
        throws -> ACSSessionRules
    {
        ACSSessionRules(url: try #require(ACSURL(url)), credentials: credentials,
                        allowsBasicOverPlainHTTP: basicOverHTTP, maximumRedirects: 5)
    }

    func redirect(to location: String) -> HTTPHeaders { ["Location": location] }

    @Test func aNewOriginGetsNoCredentialsUntilItAsks() throws {
        var rules = try rules("https://acs.example:7547/cwmp")
        try rules.beginPost()
        #expect(rules.nextRequest().authorization == nil)
        #expect(try rules.received(status: 401, headers: Self.basicChallenge, body: []) == .resend(newOrigin: false))
        #expect(rules.nextRequest().authorization?.hasPrefix("Basic ") == true)
        // https → http on the same host is another origin (scheme), and so is another port or host.
        #expect(try rules.received(status: 307, headers: redirect(to: "http://acs.example:7547/cwmp"), body: [])
            == .resend(newOrigin: true))
        #expect(rules.nextRequest().authorization == nil)
        // Plain http: Basic is refused even when the new origin asks for it.
        #expect(throws: CWMPError(.authenticationUnsupported, "")) {
            try rules.received(status: 401, headers: Self.basicChallenge, body: [])
        }
    }

    @Test func theSameOriginKeepsCredentialsAndCookies() throws {
        var rules = try rules("https://acs.example/cwmp")
        try rules.beginPost()
        _ = try rules.received(status: 401, headers: Self.basicChallenge, body: [])
        var headers = redirect(to: "https://ACS.example:443/other?x=1")
        headers.add(name: "Set-Cookie", value: "sid=1")
        #expect(try rules.received(status: 301, headers: headers, body: []) == .resend(newOrigin: false))
        #expect(rules.url.target == "/other?x=1")
        #expect(rules.nextRequest().authorization?.hasPrefix("Basic ") == true)
        #expect(rules.nextRequest().cookie == "sid=1")
    }

    @Test func aNewOriginDropsTheCookies() throws {
        var rules = try rules("http://10.0.0.1/acs", credentials: nil)
        try rules.beginPost()
        var headers = redirect(to: "http://10.0.0.2/acs")
        headers.add(name: "Set-Cookie", value: "sid=1")
        #expect(try rules.received(status: 302, headers: headers, body: []) == .resend(newOrigin: true))
        #expect(rules.nextRequest().cookie == nil)
    }

    @Test func redirectsAreTR069sThreeOnTheInformOnlyAndAtMostFive() throws {
        var rules = try rules("http://acs/a", credentials: nil)
        try rules.beginPost()
        for n in 1...5 {
            #expect(try rules.received(status: [301, 302, 307][n % 3], headers: redirect(to: "/r\(n)"), body: [])
                == .resend(newOrigin: false))
        }
        #expect(throws: CWMPError(.tooManyRedirects, "")) {
            try rules.received(status: 302, headers: redirect(to: "/r6"), body: [])
        }
        var fresh = try self.rules("http://acs/a", credentials: nil)
        try fresh.beginPost()
        #expect(try fresh.received(status: 308, headers: redirect(to: "/x"), body: []) == .answer(.init(status: 308)))
        #expect(try fresh.received(status: 303, headers: redirect(to: "/x"), body: []) == .answer(.init(status: 303)))
        try fresh.beginPost()
        #expect(try fresh.received(status: 302, headers: redirect(to: "/x"), body: []) == .answer(.init(status: 302)))
        #expect(throws: CWMPError(.tooManyRedirects, "")) {
            var other = try self.rules("http://acs/a", credentials: nil)
            try other.beginPost()
            _ = try other.received(status: 302, headers: redirect(to: "ftp://acs/x"), body: [])
        }
    }

    @Test func repeated401IsARefusalAndNoCredentialsMeansTheAnswer() throws {
        var rules = try rules("http://acs/a")
        try rules.beginPost()
        #expect(try rules.received(status: 401, headers: Self.digestChallenge, body: []) == .resend(newOrigin: false))
        _ = rules.nextRequest()
        #expect(throws: CWMPError(.authenticationFailed, "")) {
            try rules.received(status: 401, headers: Self.digestChallenge, body: [])
        }
        var anonymous = try self.rules("http://acs/a", credentials: nil)
        try anonymous.beginPost()
        #expect(try anonymous.received(status: 401, headers: Self.digestChallenge, body: [])
            == .answer(.init(status: 401)))
    }

    @Test func retryAfterInBothFormsAndAClosedSession() throws {
        var rules = try rules("http://acs/a", credentials: nil)
        try rules.beginPost()
        #expect(try rules.received(status: 503, headers: ["Retry-After": "60"], body: [])
            == .answer(.init(status: 503, retryAfter: .seconds(60))))
        let dated: HTTPHeaders = ["Date": "Mon, 23 Nov 2026 14:00:00 GMT", "Retry-After": "Mon, 23 Nov 2026 14:01:00 GMT"]
        #expect(try rules.received(status: 503, headers: dated, body: []) == .answer(.init(status: 503, retryAfter: .seconds(60))))
        rules.close()
        #expect(throws: CWMPError(.transportFailed, "")) { try rules.beginPost() }
    }

    @Test(arguments: [
        ("/x", "/x"), ("x", "/dir/x"), ("./x", "/dir/x"), ("../x", "/x"), ("../../../x", "/x"), ("?q=1", "/dir/acs?q=1"),
        ("x?q=1#f", "/dir/x?q=1"), ("#f", "/dir/acs?a=b"), ("/a/./b/../c/", "/a/c/"), ("..", "/"),
    ])
    func relativeLocationsResolveAgainstTheRequestURL(_ location: String, _ target: String) throws {
        let base = try #require(ACSURL("https://acs.example:8443/dir/acs?a=b"))
        let resolved = try #require(base.resolving(location))
        #expect(resolved.target == target)
        #expect(resolved.host == "acs.example" && resolved.port == 8443 && resolved.isTLS)
    }

    @Test func networkPathAndForeignSchemes() throws {
        let base = try #require(ACSURL("https://acs.example/acs"))
        #expect(base.resolving("//other.example:9/p") == ACSURL("https://other.example:9/p"))
        #expect(base.resolving("ftp://acs.example/x") == nil)
        #expect(base.resolving("mailto:x@y") == nil)
        #expect(base.resolving("  ") == nil)
    }
}
