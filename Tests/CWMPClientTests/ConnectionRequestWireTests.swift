import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import Testing
@testable import CWMPClient

/// The whole Connection Request pipeline on an `EmbeddedChannel`, fed raw HTTP bytes, as a socket would be.
@Suite struct ConnectionRequestWireTests {
    let clock = MockClock()
    let logs = RecordingLogHandler()
    let server: ConnectionRequestServer
    let agent = TestAgent()
    let path: String

    init() {
        let clock = self.clock
        let logs = self.logs
        server = ConnectionRequestServer(
            configuration: .init(host: "127.0.0.1", port: 0, agentBurst: 3, globalBurst: 50,
                                 maxRequestsPerConnection: 100),
            logger: Logger(label: "cr-test") { _ in logs }, now: { clock.now })
        path = server.register(agent: agent)
    }

    func makeChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try server.configure(channel: channel)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7547)).wait()
        return channel
    }

    /// Sends raw request bytes and returns the single response they produce.
    func exchange(_ channel: EmbeddedChannel, _ request: String) throws -> RawHTTPResponse {
        try channel.writeInbound(ByteBuffer(string: request))
        var text = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = part else { continue }
            text += String(buffer: buffer)
        }
        let (response, rest) = try #require(RawHTTPResponse.parse(text), "no response in \(text.debugDescription)")
        #expect(rest.isEmpty, "more than one response")
        return response
    }

    func get(_ target: String, authorization: String? = nil) -> String {
        var request = "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:7547\r\nUser-Agent: test-acs\r\n"
        if let authorization { request += "Authorization: \(authorization)\r\n" }
        return request + "\r\n"
    }

    /// The bare GET, its 401, and an authenticator primed with the challenge.
    func challenged(_ channel: EmbeddedChannel, password: String = "cr-secret") throws -> HTTPClientAuthenticator {
        let response = try exchange(channel, get(path))
        #expect(response.status == 401)
        var client = HTTPClientAuthenticator(credentials: .init(username: "acs", password: password))
        #expect(client.received401(wwwAuthenticate: response.values("WWW-Authenticate")) == .retry)
        return client
    }

    @Test func noAuthorizationGets401WithADigestChallenge() throws {
        let channel = try makeChannel()
        let response = try exchange(channel, get(path))
        #expect(response.status == 401)
        #expect(response.values("Content-Length") == ["0"])
        let challenges = HTTPAuthenticationChallenge.parse(headerValues: response.values("WWW-Authenticate"))
        #expect(challenges.count == 1)
        let digest = try #require(challenges.first.flatMap(DigestChallenge.init))
        #expect(digest.realm == "cwmp-proxy" && digest.qopAuth && digest.algorithm == .md5 && !digest.stale)
        #expect(agent.received == 0)
    }

    @Test func goodDigestGets200WithAnEmptyBodyAndReachesTheAgent() throws {
        let channel = try makeChannel()
        var client = try challenged(channel)
        let response = try exchange(channel, get(path, authorization: client.authorization(method: "GET", uri: path)))
        #expect(response.status == 200)
        #expect(response.body.isEmpty && response.values("Content-Length") == ["0"])
        #expect(agent.received == 1)
        #expect(channel.isActive)  // keep-alive: the ACS may reuse the connection
    }

    @Test func badPasswordGets401AndTheAgentHearsNothing() throws {
        let channel = try makeChannel()
        var client = try challenged(channel, password: "guess")
        let response = try exchange(channel, get(path, authorization: client.authorization(method: "GET", uri: path)))
        #expect(response.status == 401)
        #expect(!response.values("WWW-Authenticate").isEmpty)
        #expect(agent.received == 0)
    }

    @Test func passwordChangedAtRuntimeIsUsedAtOnce() throws {
        let channel = try makeChannel()
        agent.setPassword("new-one")
        var old = try challenged(channel)
        #expect(try exchange(channel, get(path, authorization: old.authorization(method: "GET", uri: path))).status
                == 401)
        var new = try challenged(channel, password: "new-one")
        #expect(try exchange(channel, get(path, authorization: new.authorization(method: "GET", uri: path))).status
                == 200)
    }

    @Test func replayedAuthorizationGets401() throws {
        let channel = try makeChannel()
        var client = try challenged(channel)
        let authorizationValue = client.authorization(method: "GET", uri: path)
        let authorization = try #require(authorizationValue)
        #expect(try exchange(channel, get(path, authorization: authorization)).status == 200)
        let replay = try exchange(try makeChannel(), get(path, authorization: authorization))
        #expect(replay.status == 401)
        #expect(agent.received == 1)
    }

    @Test func expiredNonceGetsStaleTrueAndTheClientRecovers() throws {
        let channel = try makeChannel()
        var client = try challenged(channel)
        clock.advance(by: .minutes(6))
        let stale = try exchange(channel, get(path, authorization: client.authorization(method: "GET", uri: path)))
        #expect(stale.status == 401)
        #expect(client.received401(wwwAuthenticate: stale.values("WWW-Authenticate")) == .retry)
        #expect(client.digestChallenge?.stale == true)
        let response = try exchange(channel, get(path, authorization: client.authorization(method: "GET", uri: path)))
        #expect(response.status == 200)
    }

    @Test func unknownPathGets404WhateverItLooksLike() throws {
        let channel = try makeChannel()
        for target in ["/", "/nope", path + "x", String(path.dropLast()), path + "/", "/../" + path] {
            let response = try exchange(channel, get(target))
            #expect(response.status == 404, "\(target)")
            #expect(response.values("WWW-Authenticate").isEmpty)
            #expect(response.body.isEmpty)
        }
    }

    @Test func queryStringStillFindsTheAgentButDigestCoversIt() throws {
        let channel = try makeChannel()
        let target = path + "?ts=1"
        let first = try exchange(channel, get(target))
        #expect(first.status == 401)
        var client = HTTPClientAuthenticator(credentials: agent.connectionRequestCredentials())
        _ = client.received401(wwwAuthenticate: first.values("WWW-Authenticate"))
        #expect(try exchange(channel, get(target, authorization: client.authorization(method: "GET", uri: target)))
                .status == 200)
    }

    @Test func postGets405WithAllow() throws {
        let channel = try makeChannel()
        let response = try exchange(channel, "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        #expect(response.status == 405)
        #expect(response.values("Allow") == ["GET"])
        #expect(agent.received == 0)
    }

    @Test func offlineBusyAndCannotServeGet503() throws {
        for outcome in [ConnectionRequestOutcome.offline, .busy, .cannotServe] {
            agent.setOutcome(outcome)
            let channel = try makeChannel()
            var client = try challenged(channel)
            let response = try exchange(channel, get(path, authorization: client.authorization(method: "GET", uri: path)))
            #expect(response.status == 503, "\(outcome)")
            #expect(response.values("Retry-After").isEmpty)
        }
    }

    @Test func requestsDuringASessionAreAnswered200AndQueuedAsOneSession() throws {
        let scheduling = SchedulingAgent()
        let schedulingPath = server.register(agent: scheduling)
        let channel = try makeChannel()
        let first = try exchange(channel, get(schedulingPath))
        var client = HTTPClientAuthenticator(credentials: scheduling.credentials)
        _ = client.received401(wwwAuthenticate: first.values("WWW-Authenticate"))
        func connectionRequest() throws -> Int {
            try exchange(channel, get(schedulingPath, authorization: client.authorization(method: "GET",
                                                                                         uri: schedulingPath))).status
        }
        // Two before the session starts: one session.
        #expect(try connectionRequest() == 200)
        #expect(try connectionRequest() == 200)
        #expect(scheduling.sessionsStarted == 1)
        scheduling.sessionStarted()
        // One during the session: 200, not an interruption, queued.
        clock.advance(by: .seconds(10))
        #expect(try connectionRequest() == 200)
        #expect(scheduling.sessionsStarted == 1)
        #expect(scheduling.schedulerState == .inSession(another: true))
        scheduling.sessionEnded()
        #expect(scheduling.sessionsStarted == 2)
    }

    @Test func perAgentRateLimitGets503AndRecovers() throws {
        let channel = try makeChannel()
        var client = try challenged(channel)
        var statuses: [Int] = []
        for _ in 0..<4 {
            statuses.append(try exchange(channel, get(path, authorization: client.authorization(method: "GET",
                                                                                                uri: path))).status)
        }
        #expect(statuses == [200, 200, 200, 503])
        #expect(agent.received == 3)
        clock.advance(by: .seconds(2))
        #expect(try exchange(channel, get(path, authorization: client.authorization(method: "GET", uri: path))).status
                == 200)
    }

    @Test func unauthenticatedFloodDoesNotUseUpTheAgentsBucket() throws {
        let channel = try makeChannel()
        for _ in 0..<10 { #expect(try exchange(channel, get(path)).status == 401) }
        var client = try challenged(channel)
        #expect(try exchange(channel, get(path, authorization: client.authorization(method: "GET", uri: path))).status
                == 200)
    }

    @Test func globalRateLimitGets503() throws {
        let limited = ConnectionRequestServer(configuration: .init(globalBurst: 3, maxRequestsPerConnection: 100),
                                              logger: Logger(label: "cr-test"), now: { [clock] in clock.now })
        let channel = EmbeddedChannel()
        try limited.configure(channel: channel)
        let statuses = try (0..<5).map { _ in try exchange(channel, get("/whatever")).status }
        #expect(statuses == [404, 404, 404, 503, 503])
    }

    @Test func oversizedRequestGets413AndIsClosed() throws {
        let channel = try makeChannel()
        let huge = "GET \(path) HTTP/1.1\r\nHost: x\r\nX-Filler: \(String(repeating: "a", count: 9000))\r\n\r\n"
        let response = try exchange(channel, huge)
        #expect(response.status == 413)
        #expect(response.values("Connection") == ["close"])
        #expect(!channel.isActive)
    }

    @Test func tooManyHeadersGets431AndIsClosed() throws {
        let channel = try makeChannel()
        let headers = (0..<40).map { "X-H\($0): v\r\n" }.joined()
        let response = try exchange(channel, "GET \(path) HTTP/1.1\r\nHost: x\r\n\(headers)\r\n")
        #expect(response.status == 431)
        #expect(!channel.isActive)
    }

    @Test func malformedRequestGets400() throws {
        let channel = try makeChannel()
        let response = try exchange(channel, "GARBAGE\r\n\r\n")
        #expect(response.status == 400)
        #expect(!channel.isActive)
    }

    /// IdleStateHandler measures real time, which an EmbeddedChannel cannot advance; its event is fired by hand
    /// here, and `ConnectionRequestTimeoutTests` checks the real timer on a socket.
    @Test func idleEventClosesTheConnection() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHo"))
        #expect(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(!channel.isActive)
    }

    /// All outbound bytes so far, as text.
    func outboundText(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = part else { continue }
            text += String(buffer: buffer)
        }
        return text
    }

    /// Slowloris: a byte a second keeps resetting an idle timer, but not the request read timeout (10 s from the
    /// accept by default).
    @Test func tricklingClientIsClosedAfterTheReadTimeoutThoughItKeepsSending() throws {
        let channel = try makeChannel()
        let bytes = Array(get(path).utf8)
        for second in 0..<10 {
            try channel.writeInbound(ByteBuffer(bytes: bytes[second..<second + 1]))
            #expect(channel.isActive, "closed after \(second) s")
            #expect(try outboundText(channel).isEmpty)
            if second < 9 { channel.embeddedEventLoop.advanceTime(by: .seconds(1)) }
        }
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        let (response, rest) = try #require(RawHTTPResponse.parse(try outboundText(channel)))
        #expect(response.status == 408)
        #expect(response.values("Connection") == ["close"])
        #expect(rest.isEmpty)
        #expect(!channel.isActive)
        #expect(agent.received == 0)
    }

    @Test func silentConnectionIsClosedAfterTheReadTimeoutWithoutAnAnswer() throws {
        let channel = try makeChannel()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(9_999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
        #expect(try outboundText(channel).isEmpty)
    }

    /// Requests slow but within the limit are answered, and each request after a response gets its own time,
    /// counted from its first byte (the wait between requests is the idle timeout's business).
    @Test func requestsWithinTheReadTimeoutAreAnsweredAndEachGetsItsOwnTime() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHo"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        let first = try exchange(channel, "st: x\r\n\r\n")
        #expect(first.status == 401)
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(channel.isActive)

        var client = HTTPClientAuthenticator(credentials: .init(username: "acs", password: "cr-secret"))
        #expect(client.received401(wwwAuthenticate: first.values("WWW-Authenticate")) == .retry)
        let request = get(path, authorization: client.authorization(method: "GET", uri: path))
        let middle = request.index(request.startIndex, offsetBy: request.count / 2)
        try channel.writeInbound(ByteBuffer(string: String(request[..<middle])))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(try exchange(channel, String(request[middle...])).status == 200)
        #expect(agent.received == 1)

        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        try channel.writeInbound(ByteBuffer(string: "GET \(path) HTTP/1.1\r\n"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        let timedOut = try outboundText(channel)
        #expect(RawHTTPResponse.parse(timedOut)?.0.status == 408)
        #expect(!channel.isActive)
    }

    @Test func connectionsOverTheCapGet503AndAreClosed() throws {
        let capped = ConnectionRequestServer(configuration: .init(maxConnections: 2),
                                             logger: Logger(label: "cr-test"), now: { [clock] in clock.now })
        let cappedPath = capped.register(agent: TestAgent())
        func connect() throws -> EmbeddedChannel {
            let channel = EmbeddedChannel()
            try capped.configure(channel: channel)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7547)).wait()
            return channel
        }
        let first = try connect(), second = try connect()
        #expect(capped.openConnectionCount == 2)
        let third = try connect()
        let (refusal, _) = try #require(RawHTTPResponse.parse(try outboundText(third)))
        #expect(refusal.status == 503)
        #expect(refusal.values("Connection") == ["close"])
        #expect(!third.isActive)
        third.embeddedEventLoop.run()  // the close future's callbacks
        #expect(capped.openConnectionCount == 2)
        // The admitted ones still work; once one goes, there is room again.
        #expect(try exchange(second, get(cappedPath)).status == 401)
        try first.close().wait()
        first.embeddedEventLoop.run()
        #expect(capped.openConnectionCount == 1)
        #expect(try exchange(try connect(), get(cappedPath)).status == 401)
        #expect(capped.openConnectionCount == 2)
    }

    @Test func connectionCloseIsHonoured() throws {
        let channel = try makeChannel()
        let response = try exchange(channel, "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(response.status == 401)
        #expect(response.values("Connection") == ["close"])
        #expect(!channel.isActive)
    }

    @Test func unregisteredAgentGets404() throws {
        let channel = try makeChannel()
        server.unregister(path: path)
        #expect(try exchange(channel, get(path)).status == 404)
    }

    @Test func logsNeverCarryThePasswordTheAuthorizationOrThePath() throws {
        let channel = try makeChannel()
        var client = try challenged(channel)
        let authorizationValue = client.authorization(method: "GET", uri: path)
        let authorization = try #require(authorizationValue)
        #expect(try exchange(channel, get(path, authorization: authorization)).status == 200)
        #expect(logs.count > 0)
        let text = logs.text
        for secret in ["cr-secret", authorization, String(path.dropFirst())] {
            #expect(!text.contains(secret))
        }
        let response = try #require(HTTPAuthenticationChallenge.parse(headerValue: authorization).first?[parameter: "response"])
        #expect(!text.contains(response))
    }
}

/// The connection cap on a real socket.
@Suite struct ConnectionRequestConnectionLimitTests {
    @Test func aThirdConnectionIsRefusedWhileTwoAreOpen() async throws {
        // The two held connections send nothing: with the default 10 s idle and request-read timers the server
        // dropped them itself on a loaded machine before the test looked (count never 2, "Already closed"). Those
        // timers are not what this test is about, so they are far beyond any wait here.
        let server = ConnectionRequestServer(configuration: .init(host: "127.0.0.1", port: 0, idleTimeout: .minutes(10),
                                                                  requestReadTimeout: .minutes(10), maxConnections: 2),
                                             logger: Logger(label: "cr-limit"))
        let address = try await server.start()
        let port = try #require(address.port)
        let held = [try await RawTCPClient.connect(port: port), try await RawTCPClient.connect(port: port)]
        #expect(try await eventually(attempts: 6000) { server.openConnectionCount == 2 })

        let refusal = try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask { try await RawTCPClient.readUntilClosed(port: port) }
            group.addTask {
                try await Task.sleep(for: .seconds(20))
                return nil  // the server never hung up
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        #expect(refusal?.hasPrefix("HTTP/1.1 503 ") == true, "\(refusal.debugDescription)")

        for channel in held { try await channel.close() }
        #expect(try await eventually(attempts: 6000) { server.openConnectionCount == 0 })
        let admitted = try await RawHTTPClient.send(port: port,
                                                    "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(admitted.hasPrefix("HTTP/1.1 404 "))
        try await server.stop()
    }
}

@Suite struct ConnectionRequestRegistryTests {
    @Test func pathsAreLongRandomAndURLSafe() {
        let server = ConnectionRequestServer(configuration: .init(), logger: Logger(label: "t"))
        let paths = (0..<1000).map { _ in server.register(agent: TestAgent()) }
        #expect(Set(paths).count == 1000)
        #expect(server.registeredAgentCount == 1000)
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        for path in paths {
            #expect(path.utf8.count == 33)  // "/" + 24 bytes in base64url = 192 bits
            #expect(path.utf8.dropFirst().allSatisfy(allowed.contains))
        }
    }

    @Test func aKnownPathCanBeRestoredButNotTakenTwice() throws {
        let server = ConnectionRequestServer(configuration: .init(), logger: Logger(label: "t"))
        try server.register(agent: TestAgent(), path: "/persisted-path")
        #expect(throws: CWMPError(.invalidConnectionRequestPath, "")) {
            try server.register(agent: TestAgent(), path: "/persisted-path")
        }
        for bad in ["", "/", "relative", "/a/b", "/a?b"] {
            #expect(throws: CWMPError(.invalidConnectionRequestPath, "")) {
                try server.register(agent: TestAgent(), path: bad)
            }
        }
    }

    @Test func connectionRequestURLBracketsIPv6() {
        #expect(ConnectionRequestServer.connectionRequestURL(host: "192.0.2.1", port: 7547, path: "/p")
                == "http://192.0.2.1:7547/p")
        #expect(ConnectionRequestServer.connectionRequestURL(host: "2001:db8::1", port: 7547, path: "/p")
                == "http://[2001:db8::1]:7547/p")
    }

    @Test func seededPathsAreReproducibleSoTheGeneratorIsReallyUsed() {
        var a = SeededGenerator(seed: 5), b = SeededGenerator(seed: 5), c = SeededGenerator(seed: 6)
        let first = ConnectionRequestServer.makePath(using: &a)
        #expect(first == ConnectionRequestServer.makePath(using: &b))
        #expect(first != ConnectionRequestServer.makePath(using: &c))
    }
}

@Suite struct ConnectionRequestStateMachineTests {
    @Test func schedulerRules() {
        var scheduler = ConnectionRequestSessionScheduler()
        #expect(scheduler.connectionRequestReceived() == .startSession)
        #expect(scheduler.connectionRequestReceived() == .none)
        scheduler.sessionStarted()
        #expect(scheduler.sessionEnded() == .none)
        #expect(scheduler.state == .idle)
        scheduler.sessionStarted()  // a periodic session
        #expect(scheduler.connectionRequestReceived() == .none)
        #expect(scheduler.connectionRequestReceived() == .none)
        #expect(scheduler.sessionEnded() == .startSession)
        #expect(scheduler.state == .sessionPending)
    }

    @Test func tokenBucketRefillsOnePerInterval() {
        var bucket = TokenBucket(capacity: 2, refillInterval: .seconds(5))
        let t0 = NIODeadline.uptimeNanoseconds(10_000_000_000)
        // Two at once, then one per 5 s; a long pause refills to capacity only.
        let offsets: [Int64] = [0, 0, 4, 5, 9, 10, 1000, 1000, 1000]
        let granted = offsets.map { bucket.take(now: t0 + .seconds($0)) }
        #expect(granted == [true, true, false, true, false, true, true, true, false])
    }

    @Test func connectionClosesAfterTheRequestLimit() {
        var machine = ConnectionRequestConnectionStateMachine(limits: .init(maxHeaderCount: 8, maxURILength: 64,
                                                                             maxRequestsPerConnection: 2))
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/p")
        #expect(machine.headReceived(head) == .none)
        #expect(machine.endReceived() == .dispatch(.init(method: .GET, uri: "/p", authorization: nil), close: false))
        #expect(machine.headReceived(head) == .none)
        #expect(machine.endReceived() == .dispatch(.init(method: .GET, uri: "/p", authorization: nil), close: true))
        #expect(machine.headReceived(head) == .close)
    }

    @Test func twoAuthorizationHeadersCountAsNone() {
        var machine = ConnectionRequestConnectionStateMachine(limits: .init(maxHeaderCount: 8, maxURILength: 64,
                                                                             maxRequestsPerConnection: 2))
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/p")
        head.headers.add(name: "Authorization", value: "Digest a=1")
        head.headers.add(name: "authorization", value: "Digest a=2")
        _ = machine.headReceived(head)
        #expect(machine.endReceived() == .dispatch(.init(method: .GET, uri: "/p", authorization: nil), close: false))
    }

    @Test func readTimeoutGets408OnlyIfARequestBegan() {
        let limits = ConnectionRequestConnectionStateMachine.Limits(maxHeaderCount: 8, maxURILength: 64,
                                                                    maxRequestsPerConnection: 2)
        var silent = ConnectionRequestConnectionStateMachine(limits: limits)
        #expect(silent.requestReadTimedOut(requestStarted: false) == .close)
        var partial = ConnectionRequestConnectionStateMachine(limits: limits)
        #expect(partial.requestReadTimedOut(requestStarted: true) == .respondAndClose(.init(.requestTimeout)))
        #expect(partial.requestReadTimedOut(requestStarted: true) == .none)
        var inBody = ConnectionRequestConnectionStateMachine(limits: limits)
        _ = inBody.headReceived(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/p"))
        #expect(inBody.requestReadTimedOut(requestStarted: true) == .respondAndClose(.init(.requestTimeout)))
        #expect(inBody.endReceived() == .none)
    }

    @Test func longURIGets414() {
        var machine = ConnectionRequestConnectionStateMachine(limits: .init(maxHeaderCount: 8, maxURILength: 8,
                                                                             maxRequestsPerConnection: 2))
        #expect(machine.headReceived(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/123456789"))
                == .respondAndClose(.init(.uriTooLong)))
    }
}
