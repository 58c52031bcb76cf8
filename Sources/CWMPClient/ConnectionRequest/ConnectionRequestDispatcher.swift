import NIOCore
import NIOHTTP1

/// A response of the Connection Request listener. Always body-less: TR-069 asks for a zero-length body on
/// success, and an error page would only tell a scanner more.
public struct ConnectionRequestResponse: Sendable, Equatable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders

    public init(_ status: HTTPResponseStatus, headers: HTTPHeaders = [:]) {
        self.status = status
        self.headers = headers
    }
}

/// The request as the dispatcher needs it: the head only (a Connection Request body is ignored).
public struct ConnectionRequestHTTPRequest: Sendable, Equatable {
    public var method: HTTPMethod
    /// The request-target as sent, which Digest's `uri` must equal.
    public var uri: String
    /// The `Authorization` value; never logged.
    public var authorization: String?

    public init(method: HTTPMethod, uri: String, authorization: String?) {
        self.method = method
        self.uri = uri
        self.authorization = authorization
    }

    /// The path the agents are registered under: the target without a query.
    var path: Substring { uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }
}

/// The shared, pure core of the Connection Request listener: which path belongs to which agent, the Digest
/// server, and the rate limits. The I/O shell runs it in three steps (`route`, `authenticate`, `response(for:)`)
/// so that the agent's own code (credentials, outcome) runs between them, outside any lock.
///
/// Order of checks, and why:
/// 1. The global bucket, before anything costs CPU (HMAC, hashing), so a flood cannot starve the gateway.
/// 2. GET only (405), which needs no lookup and so reveals nothing.
/// 3. The path (404); unknown paths get the same bare 404 whatever they look like.
/// 4. Digest (401). 5. The agent's bucket (503), only *after* authentication: otherwise anyone who learned an
///    agent's URL could use up its bucket and lock the ACS out.
struct ConnectionRequestDispatcher: Sendable {
    struct Entry: Sendable {
        var agent: any ConnectionRequestAgent
        var bucket: TokenBucket
    }

    enum Routing: Sendable {
        case respond(ConnectionRequestResponse)
        case authenticate(path: String, agent: any ConnectionRequestAgent)
    }

    enum Authentication: Sendable, Equatable {
        case respond(ConnectionRequestResponse)
        /// Authenticated and within the rate: ask the agent.
        case deliver
    }

    private(set) var entries: [String: Entry] = [:]
    private var digest: HTTPDigestServer
    private var globalBucket: TokenBucket
    let agentBucket: TokenBucket

    init(digest: HTTPDigestServer, agentBucket: TokenBucket, globalBucket: TokenBucket) {
        self.digest = digest
        self.agentBucket = agentBucket
        self.globalBucket = globalBucket
    }

    var digestServer: HTTPDigestServer { digest }

    /// Returns false when the path is taken.
    mutating func register(_ agent: any ConnectionRequestAgent, path: String) -> Bool {
        guard entries[path] == nil else { return false }
        entries[path] = Entry(agent: agent, bucket: agentBucket)
        return true
    }

    mutating func unregister(path: String) {
        entries[path] = nil
    }

    mutating func route(_ request: ConnectionRequestHTTPRequest, now: NIODeadline) -> Routing {
        guard globalBucket.take(now: now) else { return .respond(.init(.serviceUnavailable)) }
        guard request.method == .GET else { return .respond(.init(.methodNotAllowed, headers: ["Allow": "GET"])) }
        let path = String(request.path)
        guard let entry = entries[path] else { return .respond(.init(.notFound)) }
        return .authenticate(path: path, agent: entry.agent)
    }

    mutating func authenticate(_ request: ConnectionRequestHTTPRequest, path: String, credentials: HTTPCredentials,
                               now: NIODeadline) -> Authentication {
        // The agent may have been unregistered while its credentials were fetched.
        guard entries[path] != nil else { return .respond(.init(.notFound)) }
        let verification = digest.verify(authorization: request.authorization, method: request.method.rawValue,
                                         uri: request.uri, scope: path, credentials: credentials, now: now)
        switch verification {
        case .authenticated:
            guard entries[path]!.bucket.take(now: now) else { return .respond(.init(.serviceUnavailable)) }
            return .deliver
        case .stale:
            return .respond(challenge(path: path, stale: true, now: now))
        case .missing, .rejected, .replayed:
            return .respond(challenge(path: path, stale: false, now: now))
        }
    }

    static func response(for outcome: ConnectionRequestOutcome) -> ConnectionRequestResponse {
        switch outcome {
        case .accepted: .init(.ok)
        case .busy, .offline, .cannotServe: .init(.serviceUnavailable)
        }
    }

    private func challenge(path: String, stale: Bool, now: NIODeadline) -> ConnectionRequestResponse {
        var headers = HTTPHeaders()
        for value in digest.challenges(scope: path, stale: stale, now: now) {
            headers.add(name: "WWW-Authenticate", value: value)
        }
        return .init(.unauthorized, headers: headers)
    }
}
