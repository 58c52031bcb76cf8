import CWMPClient
import Logging
import Synchronization

/// The daemon's ACS transport, replaceable at run time so that a reload can change the CA bundle: every session
/// opened after `replace` verifies the ACS against the new trust roots; a session already running keeps its own
/// connection (and so the roots it was verified with) until it ends.
final class ReloadableACSTransport: ACSTransport {
    private let current: Mutex<ACSHTTPTransport>

    init(_ transport: ACSHTTPTransport) { current = Mutex(transport) }

    /// The transport for a configured CA bundle (nil: the system trust store). A bundle that cannot be used is a
    /// configuration error naming `acs.caBundle`.
    static func make(caBundlePath: String?, logger: Logger) throws(ConfigurationError) -> ACSHTTPTransport {
        do {
            return try ACSHTTPTransport(
                configuration: .init(trustRoots: caBundlePath.map { .caBundle(path: $0) } ?? .system), logger: logger)
        } catch let error as CWMPError {
            throw ConfigurationError(key: "acs.caBundle", problem: "cannot be used: \(error.reason)")
        } catch {
            throw ConfigurationError(key: "acs.caBundle", problem: "cannot be used")
        }
    }

    func replace(with transport: ACSHTTPTransport) { current.withLock { $0 = transport } }

    func openSession(url: String, credentials: HTTPCredentials?) async throws -> any ACSSession {
        let transport = current.withLock { $0 }
        return try await transport.openSession(url: url, credentials: credentials)
    }
}
