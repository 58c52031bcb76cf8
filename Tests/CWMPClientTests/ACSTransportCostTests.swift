import AsyncHTTPClient
import NIOCore
import NIOPosix
import NIOSSL
import Testing
@testable import CWMPClient

/// What one session costs with a client per session. The numbers are printed for the design note, never asserted
/// (the machine is shared); what is asserted is that every session got its own connection and succeeded.
@Suite(.serialized) struct ACSTransportCostTests {
    @Test func costOfAClientPerSession() async throws {
        let server = try await TestHTTPServer { request in request.body.isEmpty ? TestHTTPServer.Reply(.noContent) : .ok("<r/>") }
        let transport = try ACSHTTPTransport()
        let inform = try TransportSamples.inform()
        let clock = ContinuousClock()
        let sessions = 200
        var statuses: [Int] = []
        let sessionTime = try await clock.measure {
            for _ in 0..<sessions {
                let session = try transport.openHTTPSession(url: server.url, credentials: nil)
                statuses.append(try await session.exchange(body: inform).status)
                statuses.append(try await session.exchange(body: nil).status)
                await session.close()
            }
        }
        #expect(statuses.count == 2 * sessions)
        #expect(statuses.allSatisfy { $0 == 200 || $0 == 204 })
        #expect(server.connections == sessions)

        let clients = 500
        let clientTime = try await clock.measure {
            for _ in 0..<clients {
                let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
                                        configuration: transport.clientConfiguration)
                try await client.shutdown()
            }
        }
        let contexts = 50
        let contextTime = try clock.measure {
            for _ in 0..<contexts { _ = try NIOSSLContext(configuration: .makeClientConfiguration()) }
        }
        let preloaded = try NIOSSLCertificate.fromPEMFile(ACSHTTPTransport.systemBundlePath)
        var preloadedConfiguration = TLSConfiguration.makeClientConfiguration()
        preloadedConfiguration.trustRoots = .certificates(preloaded)
        let preloadedTime = try clock.measure {
            for _ in 0..<contexts { _ = try NIOSSLContext(configuration: preloadedConfiguration) }
        }
        print("ACS transport cost: \(preloadedTime / contexts) per NIOSSLContext with \(preloaded.count) parsed roots")
        print("ACS transport cost: \(sessionTime / sessions) per session (Inform + empty POST, connect, shutdown); "
              + "\(clientTime / clients) per HTTPClient create+shutdown; "
              + "\(contextTime / contexts) per NIOSSLContext with the system trust store")
        await server.stop()
    }
}

/// https sessions: a client (and so a NIOSSLContext) per session on AHC (`openHTTPSession`), against the shared
/// context of the protocol path (`openSession`), in one run against one TLS server. Printed as a ratio, not asserted.
@Suite(.serialized) struct ACSTransportTLSCostTests {
    @Test func sharedTLSContextAgainstAContextPerSession() async throws {
        let pki = try ACSTransportTLSTests.PKI()
        defer { pki.remove() }
        let server = try await TestHTTPServer(tls: try pki.serverContext()) { request in
            request.body.isEmpty ? TestHTTPServer.Reply(.noContent) : .ok("<r/>")
        }
        let url = "https://127.0.0.1:\(server.port)/acs"
        let transport = try ACSHTTPTransport(configuration: .init(trustRoots: .caBundle(path: pki.caBundle)))
        let inform = try TransportSamples.inform()
        let clock = ContinuousClock()
        let sessions = 100
        var statuses: [Int] = []

        func perSessionContext() async throws -> Duration {
            try await clock.measure {
                for _ in 0..<sessions {
                    let session = try transport.openHTTPSession(url: url, credentials: nil)
                    statuses.append(try await session.exchange(body: inform).status)
                    statuses.append(try await session.exchange(body: nil).status)
                    await session.close()
                }
            }
        }
        func sharedContext() async throws -> Duration {
            try await clock.measure {
                for _ in 0..<sessions {
                    let session = try await transport.openSession(url: url, credentials: nil)
                    statuses.append(try await session.post(body: inform, timeout: .seconds(10)).status)
                    statuses.append(try await session.post(body: nil, timeout: .seconds(10)).status)
                    await session.close()
                }
            }
        }
        // Interleaved halves, so that a load change on the shared machine hits both alike.
        var before = Duration.zero
        var after = Duration.zero
        for _ in 0..<2 {
            before += try await perSessionContext()
            after += try await sharedContext()
        }
        #expect(statuses.count == 8 * sessions)
        #expect(statuses.allSatisfy { $0 == 200 || $0 == 204 })
        #expect(server.connections == 4 * sessions)
        let ratio = Double(before.components.attoseconds / 1_000_000_000 + before.components.seconds * 1_000_000_000)
            / Double(after.components.attoseconds / 1_000_000_000 + after.components.seconds * 1_000_000_000)
        print("ACS https cost: \(before / (2 * sessions)) per session with a context per session (AHC), "
              + "\(after / (2 * sessions)) on the shared context; ratio \(ratio)")
        await server.stop()
    }
}

/// What the shared session rules and the gzip decoder add to a plain-http NIO session (the agents' and the capacity
/// benchmark's path): the same sessions with `acceptsCompressedResponses` on (decompressor in the pipeline,
/// uncompressed answers) and off, interleaved in one run. Printed as a ratio, not asserted.
@Suite(.serialized) struct ACSTransportDecompressionCostTests {
    @Test func decompressorInThePipelineAgainstNone() async throws {
        let server = try await TestHTTPServer { request in
            request.body.isEmpty ? TestHTTPServer.Reply(.noContent) : .ok("<r/>")
        }
        let inform = try TransportSamples.inform()
        let clock = ContinuousClock()
        let sessions = 300
        var statuses: [Int] = []
        func run(_ transport: NIOACSTransport) async throws -> Duration {
            try await clock.measure {
                for _ in 0..<sessions {
                    let session = try await transport.openSession(url: server.url, credentials: nil)
                    statuses.append(try await session.post(body: inform, timeout: .seconds(10)).status)
                    statuses.append(try await session.post(body: nil, timeout: .seconds(10)).status)
                    await session.close()
                }
            }
        }
        let with = NIOACSTransport(configuration: .init(acceptsCompressedResponses: true), tlsConfiguration: nil)
        let without = NIOACSTransport(configuration: .init(acceptsCompressedResponses: false), tlsConfiguration: nil)
        var on = Duration.zero
        var off = Duration.zero
        for _ in 0..<3 {
            off += try await run(without)
            on += try await run(with)
        }
        #expect(statuses.count == 12 * sessions)
        #expect(statuses.allSatisfy { $0 == 200 || $0 == 204 })
        #expect(server.connections == 6 * sessions)
        let withDecompressor = Double(on.components.seconds) * 1e18 + Double(on.components.attoseconds)
        let base = Double(off.components.seconds) * 1e18 + Double(off.components.attoseconds)
        print("ACS NIO http cost: \(off / (3 * sessions)) per session without a decompressor, "
              + "\(on / (3 * sessions)) with one; ratio \(withDecompressor / base)")
        await server.stop()
    }
}

@Suite struct ACSTransportValueTests {
    @Test func cookieJarKeepsNameValueReplacesAndRemoves() {
        var jar = ACSCookieJar()
        #expect(jar.headerValue == nil)
        jar.store(["a=1; Path=/", "b = 2 ; HttpOnly", "junk", "=nameless", "c=\"3\""])
        #expect(jar.headerValue == "a=1; b=2; c=3")
        jar.store(["a=9", "b=; Max-Age=0"])
        #expect(jar.headerValue == "c=3; a=9")
        var full = ACSCookieJar()
        full.store((0..<100).map { "k\($0)=v" })
        #expect(full.cookies.count == ACSCookieJar.maximumCookies)
        var big = ACSCookieJar()
        big.store(["x=" + String(repeating: "y", count: ACSCookieJar.maximumBytes)])
        #expect(big.headerValue == nil)  // one cookie over the byte bound is dropped, not truncated
    }

    @Test func retryAfterSecondsAndDates() {
        #expect(RetryAfter.parse("60") == .seconds(60))
        #expect(RetryAfter.parse(" 0 ") == .seconds(0))
        #expect(RetryAfter.parse("-5") == nil)
        #expect(RetryAfter.parse("soon") == nil)
        #expect(RetryAfter.epochSeconds(httpDate: "Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(RetryAfter.epochSeconds(httpDate: "Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(RetryAfter.epochSeconds(httpDate: "Tue, 29 Feb 2028 23:59:59 GMT") == 1_835_481_599)
        #expect(RetryAfter.epochSeconds(httpDate: "Sunday, 06-Nov-94 08:49:37 GMT") == nil)
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:50:37 GMT", responseDate: "Sun, 06 Nov 1994 08:49:37 GMT") == .seconds(60))
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:50:37 GMT", now: 784_111_777 + 30) == .seconds(30))
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:50:37 GMT", now: 784_111_777 + 600) == .seconds(0))
    }
}
