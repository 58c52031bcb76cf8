import Testing
@testable import UPnPDM

/// `UPnPHTTPTargetCache`: the per-client cache of parsed URLs that spares each action the RFC 3986 parser.
@Suite struct HTTPTargetCacheTests {
    @Test func cachedTargetsEqualFreshlyParsedOnes() throws {
        let cache = UPnPHTTPTargetCache()
        for url in ["http://127.0.0.1:4004/upnp/control/cms", "http://[::1]:80/a?b=c", "http://device.lan/x"] {
            let first = try cache.target(for: url)
            let second = try cache.target(for: url)
            #expect(first == (try UPnPHTTPTarget(url: url)))
            #expect(second == first)
        }
        #expect(cache.count == 3)
    }

    @Test func invalidURLsAreRefusedEveryTimeAndNotCached() {
        let cache = UPnPHTTPTargetCache()
        for _ in 0..<2 {
            #expect(throws: UPnPDMError(.invalidURL, "")) { try cache.target(for: "ftp://127.0.0.1/x") }
        }
        #expect(cache.count == 0)
    }

    @Test func aFloodOfDistinctURLsStaysBounded() throws {
        let cache = UPnPHTTPTargetCache(capacity: 8)
        for port in 1...100 { _ = try cache.target(for: "http://127.0.0.1:\(port)/c") }
        #expect(cache.count <= 8)
        #expect(try cache.target(for: "http://127.0.0.1:100/c").port == 100)
    }
}
