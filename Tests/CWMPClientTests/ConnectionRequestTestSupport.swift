import Logging
import NIOCore
import NIOPosix
import Synchronization
@testable import CWMPClient

/// A clock the tests move by hand.
final class MockClock: Sendable {
    private let current = Mutex(NIODeadline.uptimeNanoseconds(1_000_000_000_000))
    var now: NIODeadline { current.withLock { $0 } }
    func advance(by amount: TimeAmount) { current.withLock { $0 = $0 + amount } }
}

/// An agent whose credentials and answer the test sets, counting the Connection Requests it was given.
final class TestAgent: ConnectionRequestAgent, Sendable {
    private let state: Mutex<(credentials: HTTPCredentials, outcome: ConnectionRequestOutcome, received: Int)>

    init(username: String = "acs", password: String = "cr-secret", outcome: ConnectionRequestOutcome = .accepted) {
        state = Mutex((HTTPCredentials(username: username, password: password), outcome, 0))
    }

    var received: Int { state.withLock { $0.received } }
    func setPassword(_ password: String) { state.withLock { $0.credentials.password = password } }
    func setOutcome(_ outcome: ConnectionRequestOutcome) { state.withLock { $0.outcome = outcome } }

    func connectionRequestCredentials() -> HTTPCredentials { state.withLock { $0.credentials } }
    func connectionRequestReceived() -> ConnectionRequestOutcome {
        state.withLock {
            $0.received += 1
            return $0.outcome
        }
    }
}

/// An agent that applies the queueing rule with `ConnectionRequestSessionScheduler` and records the sessions
/// it would start.
final class SchedulingAgent: ConnectionRequestAgent, Sendable {
    private let state = Mutex((scheduler: ConnectionRequestSessionScheduler(), sessionsStarted: 0))
    let credentials = HTTPCredentials(username: "acs", password: "cr-secret")

    var sessionsStarted: Int { state.withLock { $0.sessionsStarted } }
    var schedulerState: ConnectionRequestSessionScheduler.State { state.withLock { $0.scheduler.state } }

    func sessionStarted() { state.withLock { $0.scheduler.sessionStarted() } }
    func sessionEnded() {
        state.withLock { if $0.scheduler.sessionEnded() == .startSession { $0.sessionsStarted += 1 } }
    }

    func connectionRequestCredentials() -> HTTPCredentials { credentials }
    func connectionRequestReceived() -> ConnectionRequestOutcome {
        state.withLock { if $0.scheduler.connectionRequestReceived() == .startSession { $0.sessionsStarted += 1 } }
        return .accepted
    }
}

/// Collects log records in memory, so tests can check that no secret reaches a log.
final class RecordingLogHandler: LogHandler, Sendable {
    private let records = Mutex<[String]>([])
    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    var text: String { records.withLock { $0.joined(separator: "\n") } }
    var count: Int { records.withLock { $0.count } }

    func log(event: LogEvent) {
        records.withLock { $0.append("\(event.level) \(event.message) \(event.metadata ?? [:])") }
    }
}

/// A parsed HTTP/1.1 response, read from raw bytes.
struct RawHTTPResponse: Sendable {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: String

    func values(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// Parses the first response in `text` and returns the rest.
    static func parse(_ text: String) -> (RawHTTPResponse, rest: String)? {
        guard let split = text.firstRange(of: "\r\n\r\n") else { return nil }
        let lines = text[..<split.lowerBound].split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let statusLine = lines.first else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]),
                            String(line[line.index(after: colon)...].drop { $0 == " " })))
        }
        var rest = String(text[split.upperBound...])
        var body = ""
        if let length = headers.first(where: { $0.0.lowercased() == "content-length" }).flatMap({ Int($0.1) }),
           length > 0 {
            body = String(rest.prefix(length))
            rest = String(rest.dropFirst(length))
        }
        return (RawHTTPResponse(status: status, headers: headers, body: body), rest)
    }
}

/// Raw TCP clients of a listener on 127.0.0.1.
enum RawTCPClient {
    /// Connects and keeps the connection open, sending nothing.
    static func connect(port: Int) async throws -> any Channel {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
    }

    /// Connects, sends nothing, and returns what the server sends before it closes the connection.
    static func readUntilClosed(port: Int) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, _ in
            var text = ""
            for try await buffer in inbound { text += String(buffer: buffer) }
            return text
        }
    }
}

/// Polls `condition` every 10 ms, for at most `attempts` times; for state another thread settles.
func eventually(attempts: Int = 500, _ condition: () -> Bool) async throws -> Bool {
    for _ in 0..<attempts {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
