import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The one HTTP listener that receives the Connection Requests (TR-069 §3.2.2) of every CWMP endpoint the
/// proxier hosts: the gateway itself and each virtual CWMP device of Annex J.2. Each agent is registered under its
/// own unguessable path, which is what its `ManagementServer.ConnectionRequestURL` points at, and authenticates
/// with its own `ConnectionRequestUsername/Password` (HTTP Digest).
///
/// The decisions are made by pure parts (`ConnectionRequestDispatcher`, `ConnectionRequestConnectionStateMachine`,
/// `HTTPDigestServer`, `TokenBucket`); this class owns the shared state, the socket and the pipeline.
public final class ConnectionRequestServer: Sendable {
    public struct Configuration: Sendable {
        /// Where to listen. TR-069 customarily uses port 7547.
        public var host: String
        public var port: Int
        /// The Digest realm of every challenge.
        public var realm: String
        /// Offered Digest algorithms, in order of preference (see `HTTPDigestServer.Configuration.algorithms`).
        public var digestAlgorithms: [DigestAlgorithm]
        /// After this a nonce is answered with `stale=true`.
        public var nonceLifetime: TimeAmount
        /// How many used nonces are remembered to refuse replays (shared by all agents).
        public var replayCacheCapacity: Int
        /// Authenticated Connection Requests per agent: this many at once, then one per `agentRefillInterval`
        /// (5 per 10 s by default, as icwmp). Beyond that: 503.
        public var agentBurst: Int
        public var agentRefillInterval: TimeAmount
        /// All requests together, authenticated or not, before any work is done. Beyond that: 503.
        public var globalBurst: Int
        public var globalRefillInterval: TimeAmount
        /// Bytes a client may send before it gets a response; a Connection Request needs well under 1 KiB.
        public var maxRequestBytes: Int
        public var maxHeaderCount: Int
        public var maxURILength: Int
        public var maxRequestsPerConnection: Int
        /// A connection with no read for this long is closed, so silent clients cannot hold the listener.
        public var idleTimeout: TimeAmount
        /// A request must be received whole (head and body) within this long, counted from the accept for the
        /// first request of a connection and from its first byte for the next ones. Unlike `idleTimeout` it is
        /// not reset by reads, so a client trickling a byte at a time (slowloris) is closed too: with 408 if part
        /// of a request came in, without an answer if nothing did.
        public var requestReadTimeout: TimeAmount
        /// Connections open at once. Beyond that a new connection gets a fixed 503 and is closed at once, before
        /// any HTTP parsing.
        public var maxConnections: Int

        public init(host: String = "0.0.0.0", port: Int = 7547, realm: String = "cwmp-proxy",
                    digestAlgorithms: [DigestAlgorithm] = [.md5], nonceLifetime: TimeAmount = .minutes(5),
                    replayCacheCapacity: Int = 16_384,
                    agentBurst: Int = 5, agentRefillInterval: TimeAmount = .seconds(2),
                    globalBurst: Int = 200, globalRefillInterval: TimeAmount = .milliseconds(10),
                    maxRequestBytes: Int = 8192, maxHeaderCount: Int = 32, maxURILength: Int = 1024,
                    maxRequestsPerConnection: Int = 4, idleTimeout: TimeAmount = .seconds(10),
                    requestReadTimeout: TimeAmount = .seconds(10), maxConnections: Int = 256) {
            self.host = host
            self.port = port
            self.realm = realm
            self.digestAlgorithms = digestAlgorithms
            self.nonceLifetime = nonceLifetime
            self.replayCacheCapacity = replayCacheCapacity
            self.agentBurst = agentBurst
            self.agentRefillInterval = agentRefillInterval
            self.globalBurst = globalBurst
            self.globalRefillInterval = globalRefillInterval
            self.maxRequestBytes = maxRequestBytes
            self.maxHeaderCount = maxHeaderCount
            self.maxURILength = maxURILength
            self.maxRequestsPerConnection = maxRequestsPerConnection
            self.idleTimeout = idleTimeout
            self.requestReadTimeout = requestReadTimeout
            self.maxConnections = maxConnections
        }
    }

    public let configuration: Configuration
    private let dispatcher: Mutex<ConnectionRequestDispatcher>
    private let listener = Mutex<(any Channel)?>(nil)
    /// Connections given to `configure(channel:)` and not closed yet, admitted or not.
    private let openConnections = Atomic<Int>(0)
    private let now: @Sendable () -> NIODeadline
    private let logger: Logger

    /// - Parameter now: the clock of the pure parts; tests pass a mock one.
    public init(configuration: Configuration, logger: Logger,
                now: @escaping @Sendable () -> NIODeadline = { .now() }) {
        self.configuration = configuration
        self.logger = logger
        self.now = now
        let digest = HTTPDigestServer(configuration: .init(
            realm: configuration.realm, algorithms: configuration.digestAlgorithms,
            nonceLifetime: configuration.nonceLifetime, replayCacheCapacity: configuration.replayCacheCapacity))
        self.dispatcher = Mutex(ConnectionRequestDispatcher(
            digest: digest,
            agentBucket: TokenBucket(capacity: configuration.agentBurst,
                                     refillInterval: configuration.agentRefillInterval),
            globalBucket: TokenBucket(capacity: configuration.globalBurst,
                                      refillInterval: configuration.globalRefillInterval)))
    }

    // MARK: Agents

    /// Registers an agent under a new random path and returns it: "/" and 32 URL-safe characters, 192 bits from
    /// the system CSPRNG, so a path cannot be guessed or enumerated.
    public func register(agent: some ConnectionRequestAgent) -> String {
        while true {
            var generator = SystemRandomNumberGenerator()
            let path = Self.makePath(using: &generator)
            if (try? register(agent: agent, path: path)) != nil { return path }
        }
    }

    /// Registers an agent under a known path, for example the one persisted from before a restart so that the
    /// ConnectionRequestURL the ACS knows keeps working. Throws if the path is taken or not a single-segment
    /// absolute path.
    public func register(agent: some ConnectionRequestAgent, path: String) throws {
        guard path.first == "/", path.count > 1, !path.dropFirst().contains("/"),
              !path.contains("?"), !path.contains("#"), path.utf8.count <= configuration.maxURILength
        else { throw CWMPError(.invalidConnectionRequestPath, "not a single-segment absolute path") }
        let added = dispatcher.withLock { $0.register(agent, path: path) }
        guard added else { throw CWMPError(.invalidConnectionRequestPath, "the path is already registered") }
    }

    public func unregister(path: String) {
        dispatcher.withLock { $0.unregister(path: path) }
    }

    public var registeredAgentCount: Int { dispatcher.withLock { $0.entries.count } }

    /// Connections open now, including refused ones not closed yet.
    public var openConnectionCount: Int { openConnections.load(ordering: .relaxed) }

    /// `ManagementServer.ConnectionRequestURL` for `path`, with an IPv6 literal in brackets as the data model asks.
    public static func connectionRequestURL(host: String, port: Int, path: String) -> String {
        let authority = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "http://\(authority):\(port)\(path)"
    }

    static func makePath(using generator: inout some RandomNumberGenerator) -> String {
        var bytes: [UInt8] = []
        for _ in 0..<3 { withUnsafeBytes(of: generator.next().littleEndian) { bytes += $0 } }
        return "/" + HTTPBase64.encodeURLSafe(bytes)
    }

    // MARK: Listener

    /// Binds the listener and returns its address (useful with port 0).
    public func start(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws
        -> SocketAddress
    {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try self.configure(channel: channel) }
            }
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 4)
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        listener.withLock { $0 = channel }
        logger.info("cwmp.cr.listening", metadata: ["net.address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        guard let address = channel.localAddress else {
            throw CWMPError(.invalidConnectionRequestPath, "the listener has no local address")
        }
        return address
    }

    /// Closes the listener; connections in progress finish on their own (they are short and time out).
    public func stop() async throws {
        let channel = listener.withLock { value -> (any Channel)? in
            defer { value = nil }
            return value
        }
        try await channel?.close()
    }

    /// Installs the Connection Request pipeline on a connection. Public so a test can drive an `EmbeddedChannel`
    /// with raw bytes through exactly what a socket gets. Call on the channel's event loop. The channel counts
    /// against `maxConnections` until it closes; past that it only gets `ConnectionRequestRefusingHandler`.
    public func configure(channel: any Channel) throws {
        let operations = channel.pipeline.syncOperations
        let open = openConnections.wrappingAdd(1, ordering: .relaxed).newValue
        channel.closeFuture.whenComplete { [self] _ in
            _ = self.openConnections.wrappingSubtract(1, ordering: .relaxed)
        }
        guard open <= configuration.maxConnections else {
            logger.debug("cwmp.cr.connection-limit",
                         metadata: ["cr.connections.max": "\(configuration.maxConnections)"])
            try operations.addHandler(ConnectionRequestRefusingHandler())
            return
        }
        try operations.addHandler(ConnectionRequestInboundLimitHandler(limit: configuration.maxRequestBytes,
                                                                       readTimeout: configuration.requestReadTimeout))
        try operations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
        try operations.addHandler(IdleStateHandler(readTimeout: configuration.idleTimeout))
        let limits = ConnectionRequestConnectionStateMachine.Limits(
            maxHeaderCount: configuration.maxHeaderCount, maxURILength: configuration.maxURILength,
            maxRequestsPerConnection: configuration.maxRequestsPerConnection)
        try operations.addHandler(ConnectionRequestChannelHandler(limits: limits, logger: logger) { [self] request in
            self.respond(to: request)
        })
    }

    /// Runs the three steps of `ConnectionRequestDispatcher`, calling the agent between them without the lock held.
    func respond(to request: ConnectionRequestHTTPRequest) -> ConnectionRequestResponse {
        let routing = dispatcher.withLock { $0.route(request, now: now()) }
        switch routing {
        case .respond(let response):
            return response
        case .authenticate(let path, let agent):
            let credentials = agent.connectionRequestCredentials()
            let authentication = dispatcher.withLock {
                $0.authenticate(request, path: path, credentials: credentials, now: now())
            }
            switch authentication {
            case .respond(let response):
                return response
            case .deliver:
                return ConnectionRequestDispatcher.response(for: agent.connectionRequestReceived())
            }
        }
    }
}
