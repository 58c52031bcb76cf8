// The ACS transport on AsyncHTTPClient (AHC). AHC pools connections per host and has neither a cookie jar nor
// Digest (swift-c-libraries.md §6), and CWMP needs the opposite of pooling: GenieACS keys the session to the TCP
// connection, so every POST of one session must travel on one keep-alive connection, and no other session may
// ever use it (cwmp.md §6 rules 1 and 5, peers.md).
//
// Design: one `HTTPClient` per session, on the process-wide EventLoopGroup, limited to ONE connection per host.
// Closing the session shuts that client down, which closes the socket: the only way AHC offers to close an idle
// pooled connection. A pool of long-lived clients leased to sessions was the alternative, and it was rejected
// because a returned client keeps the previous session's idle connection alive and hands it to the next session:
// an ACS then sees a second device's Inform on a socket whose session it may still hold open (after a client-side
// timeout or decode failure the ACS never saw the end), and the Python peer and GenieACS answer that with 400.
// What a per-session client costs (ACSTransportCostTests, debug build, shared 2-core machine): creating and shutting
// down an HTTPClient ≈ 30–50 µs; a whole plain-http session (connect, Inform, empty POST, close) ≈ 2.3 ms. The TCP
// handshake is per session in both designs, because TR-069 closes the connection at the end of every session.
// TLS: AHC caches SSL contexts per client, so per session it builds one NIOSSLContext from the configuration.
// With NIOSSL's default roots that re-reads the system bundle (≈ 17 ms measured), so the bundle (system or
// configured) is parsed once, here, and each context only adds the parsed roots (≈ 5 ms measured, still the
// dominant per-session cost over https).
// AHC 1.37.0 takes no pre-built NIOSSLContext: `HTTPClient.Configuration` holds a `TLSConfiguration`, and the
// `SSLContextCache` that turns it into a context is internal and created per client (HTTPConnectionPool.Manager).
// So https sessions opened through the `ACSTransport` protocol (the agents' path) run on `NIOACSTransport` instead,
// which builds ONE context from the same TLSConfiguration (same trust roots, full verification) and shares it across
// sessions; plain http stays on AHC. Both sessions run the same HTTP rules (`ACSSessionRules`: cookie jar, 401s,
// redirects and the credential reset on a new origin, Retry-After) and the same decompression (NIOHTTPCompression,
// capped at maximumResponseBytes after decompression), so the scheme changes only the bytes' path.
// `openHTTPSession` is still AHC for both schemes (its tests, and the cost comparison).
import AsyncHTTPClient
import Logging
import NIOCore
import NIOPosix
import NIOSSL

public struct ACSHTTPTransport: ACSTransport {
    public struct Configuration: Sendable {
        /// Where the ACS certificate chain must lead.
        public enum TrustRoots: Sendable, Hashable {
            /// The system trust store (what `TLSConfiguration.makeClientConfiguration()` uses).
            case system
            /// The PEM certificates of this file only (ManagementServer CA bundles, test CAs).
            case caBundle(path: String)
        }

        /// Timeout of each TCP (and TLS) connection attempt.
        public var connectTimeout: Duration
        /// Exchange timeout used by `post(body:)` when the caller gives none (TR-069: 30 s, cwmp.md §6 rule 6).
        public var defaultExchangeTimeout: Duration
        /// Largest response body accepted, after decompression (the decoder refuses more than 4 MiB anyway).
        public var maximumResponseBytes: Int
        /// Redirects followed in one session (TR-069 asks for at least 5).
        public var maximumRedirects: Int
        /// Basic sends the password in clear: TR-069 allows it over TLS only, so plain http refuses it unless set.
        public var allowsBasicOverPlainHTTP: Bool
        /// Sends `Accept-Encoding: gzip, deflate` and decompresses answers (ManagementServer.HTTPCompression ≠
        /// Disabled). Request bodies are never compressed: not every ACS accepts a compressed request.
        public var acceptsCompressedResponses: Bool
        public var userAgent: String
        public var trustRoots: TrustRoots

        public init(connectTimeout: Duration = .seconds(10), defaultExchangeTimeout: Duration = .seconds(30),
                    maximumResponseBytes: Int = 4 << 20, maximumRedirects: Int = 5,
                    allowsBasicOverPlainHTTP: Bool = false, acceptsCompressedResponses: Bool = true,
                    userAgent: String = "cwmp-proxy/1.0 (TR-069 CPE proxier)", trustRoots: TrustRoots = .system) {
            self.connectTimeout = connectTimeout
            self.defaultExchangeTimeout = defaultExchangeTimeout
            self.maximumResponseBytes = maximumResponseBytes
            self.maximumRedirects = maximumRedirects
            self.allowsBasicOverPlainHTTP = allowsBasicOverPlainHTTP
            self.acceptsCompressedResponses = acceptsCompressedResponses
            self.userAgent = userAgent
            self.trustRoots = trustRoots
        }
    }

    public let configuration: Configuration
    let group: any EventLoopGroup
    let logger: Logger
    let clientConfiguration: HTTPClient.Configuration
    /// The https path of `openSession`: one NIOSSLContext for every session.
    let tlsTransport: NIOACSTransport

    /// Throws `CWMPError.transportFailed` when the CA bundle cannot be read or holds no certificate.
    public init(configuration: Configuration = Configuration(),
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                logger: Logger = Logger(label: "cwmp-proxy.acs-transport")) throws {
        self.configuration = configuration
        self.group = group
        self.logger = logger

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        switch configuration.trustRoots {
        case .system:
            // NIOSSL's default roots re-read the system bundle for every context (measured ≈ 17 ms, debug build),
            // and AHC builds a context per client, so per session: parse the bundle once here instead. Where the
            // Debian/Ubuntu bundle is absent the default roots stay (correct, only slower).
            if let certificates = try? NIOSSLCertificate.fromPEMFile(Self.systemBundlePath), !certificates.isEmpty {
                tls.trustRoots = .certificates(certificates)
            }
        case .caBundle(let path):
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(path)
            } catch {
                throw CWMPError(.transportFailed, "cannot read the CA bundle \(path)", underlying: error)
            }
            guard !certificates.isEmpty else {
                throw CWMPError(.transportFailed, "the CA bundle \(path) holds no certificate")
            }
            tls.trustRoots = .certificates(certificates)
        }

        var client = HTTPClient.Configuration(
            tlsConfiguration: tls,
            // Redirects are followed by the session: AHC would turn a 301/302 POST into a GET and drop the body.
            redirectConfiguration: .disallow,
            timeout: .init(connect: .nanoseconds(configuration.connectTimeout.nanosecondsClamped)),
            // The cap is on the decompressed size, the same as NIOACSTransport's: a ratio cap would let a large
            // compressed answer grow far past maximumResponseBytes before collect(upTo:) sees it.
            decompression: configuration.acceptsCompressedResponses
                ? .enabled(limit: .size(configuration.maximumResponseBytes)) : .disabled)
        // The whole point: one connection per host per client, and the client belongs to one session.
        client.connectionPool = .init(idleTimeout: .seconds(300), concurrentHTTP1ConnectionsPerHostSoftLimit: 1)
        // A failed connect fails the post at once; the agent's retry policy (cwmp.md §6.1) owns the back-off.
        client.connectionPool.retryConnectionEstablishment = false
        client.httpVersion = .http1Only
        self.clientConfiguration = client
        // Built here, once: a context that cannot be built is a configuration error, reported now, not per session.
        let tlsContext: NIOSSLContext
        do {
            tlsContext = try NIOSSLContext(configuration: tls)
        } catch {
            throw CWMPError(.transportFailed, "the TLS configuration cannot be used", underlying: error)
        }
        self.tlsTransport = NIOACSTransport(
            configuration: .init(connectTimeout: configuration.connectTimeout,
                                 maximumResponseBytes: configuration.maximumResponseBytes,
                                 maximumRedirects: configuration.maximumRedirects,
                                 allowsBasicOverPlainHTTP: configuration.allowsBasicOverPlainHTTP,
                                 acceptsCompressedResponses: configuration.acceptsCompressedResponses,
                                 userAgent: configuration.userAgent),
            group: group, tlsContext: tlsContext, logger: logger)
    }

    /// The system CA bundle of Debian-family systems (the gateway's base).
    static let systemBundlePath = "/etc/ssl/certs/ca-certificates.crt"

    /// Opens a session; the connection is made on the first post. Throws `CWMPError.invalidACSURL`.
    public func openHTTPSession(url: String, credentials: HTTPCredentials?) throws -> ACSHTTPSession {
        guard let parsed = ACSURL(url) else { throw CWMPError(.invalidACSURL, "not an absolute http(s) URL") }
        let client = HTTPClient(eventLoopGroup: group, configuration: clientConfiguration,
                                backgroundActivityLogger: logger)
        return ACSHTTPSession(url: parsed, credentials: credentials, client: client, transport: self)
    }

    /// https: on the shared TLS context (`NIOACSTransport`); http: AHC, as `openHTTPSession`.
    public func openSession(url: String, credentials: HTTPCredentials?) async throws -> any ACSSession {
        if let parsed = ACSURL(url), parsed.isTLS {
            return try await tlsTransport.openSession(url: url, credentials: credentials)
        }
        do {
            return try openHTTPSession(url: url, credentials: credentials)
        } catch let error as CWMPError {
            throw error.acsTransportError
        }
    }
}

extension Duration {
    /// Nanoseconds for NIO's `TimeAmount`, saturating instead of trapping on absurd values.
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        guard seconds < Int64.max / 1_000_000_000 else { return .max }
        guard seconds >= 0 else { return 0 }
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

extension CWMPError {
    /// The `ACSTransport` protocol's error for this failure (the agent retries on `.timedOut` as a timeout).
    public var acsTransportError: ACSTransportError {
        let kind: ACSTransportError.Kind
        switch code {
        case .transportTimedOut: kind = .timedOut
        case .invalidACSURL: kind = .invalidURL
        case .authenticationUnsupported: kind = .authenticationUnsupported
        case .tooManyRedirects: kind = .badRedirect
        case .responseTooLarge: kind = .responseTooLarge
        default: kind = .connectionFailed
        }
        return ACSTransportError(kind, reason)
    }
}
