// Who an SNMP session talks to and how: the agent's address, SNMP version and credentials, and the request bounds.
import CWMPClient

/// SNMPv3 USM authentication protocols (RFC 3414, RFC 7860). Raw values are net-snmp's names for them.
public enum SNMPAuthenticationProtocol: String, Hashable, Sendable, CaseIterable {
    case md5 = "MD5", sha1 = "SHA", sha224 = "SHA-224", sha256 = "SHA-256", sha384 = "SHA-384", sha512 = "SHA-512"
}

/// SNMPv3 USM privacy protocols. AES-192/256 are the Blumenthal draft's key extension (Debian's net-snmp has it;
/// agents differ, so they interoperate only with agents using the same extension).
public enum SNMPPrivacyProtocol: String, Hashable, Sendable, CaseIterable {
    case des = "DES", aes128 = "AES", aes192 = "AES-192", aes256 = "AES-256"
}

/// An SNMPv3 USM user: security name, optional authentication, optional privacy (which needs authentication).
public struct SNMPUSMUser: Hashable, Sendable {
    public struct Authentication: Hashable, Sendable {
        public var `protocol`: SNMPAuthenticationProtocol
        public var password: Secret
        public init(_ protocol: SNMPAuthenticationProtocol, password: Secret) {
            self.protocol = `protocol`
            self.password = password
        }
    }

    public struct Privacy: Hashable, Sendable {
        public var `protocol`: SNMPPrivacyProtocol
        public var password: Secret
        public init(_ protocol: SNMPPrivacyProtocol, password: Secret) {
            self.protocol = `protocol`
            self.password = password
        }
    }

    public var name: String
    public var authentication: Authentication?
    public var privacy: Privacy?
    /// The SNMPv3 context name ("" for the agent's default context).
    public var contextName: String

    public init(name: String, authentication: Authentication? = nil, privacy: Privacy? = nil, contextName: String = "") {
        self.name = name
        self.authentication = authentication
        self.privacy = privacy
        self.contextName = contextName
    }

    /// noAuthNoPriv, authNoPriv or authPriv, from what is configured.
    public var securityLevel: SecurityLevel {
        authentication == nil ? .noAuthNoPriv : (privacy == nil ? .authNoPriv : .authPriv)
    }

    public enum SecurityLevel: String, Hashable, Sendable { case noAuthNoPriv, authNoPriv, authPriv }
}

/// The SNMP version and its credentials.
public enum SNMPCredentials: Hashable, Sendable {
    case v1(community: Secret)
    case v2c(community: Secret)
    case v3(SNMPUSMUser)
}

/// One SNMP agent as the manager sees it. Two equal values share one net-snmp session.
public struct SNMPAgent: Hashable, Sendable, CustomStringConvertible {
    /// An IPv4/IPv6 address or host name (resolved by net-snmp when the session opens).
    public var host: String
    public var port: Int
    public var credentials: SNMPCredentials
    /// How long net-snmp waits for each (re)transmission.
    public var timeout: Duration
    /// How many times a request is retransmitted after the first timeout. A request therefore ends within
    /// `timeout × (retries + 1)`; an SNMPv3 session's first request may take twice that (engine-ID discovery first).
    public var retries: Int
    /// The max-repetitions of the GETBULK requests a walk sends.
    public var maxRepetitions: Int

    public init(host: String, port: Int = 161, credentials: SNMPCredentials, timeout: Duration = .seconds(1),
                retries: Int = 2, maxRepetitions: Int = 25) {
        self.host = host
        self.port = port
        self.credentials = credentials
        self.timeout = timeout
        self.retries = retries
        self.maxRepetitions = maxRepetitions
    }

    /// `udp:HOST:PORT` as net-snmp names a peer (IPv6 literals in brackets, on net-snmp's udp6 transport).
    var peerName: String { host.contains(":") ? "udp6:[\(host)]:\(port)" : "udp:\(host):\(port)" }

    /// The worst case a caller waits for one request, engine discovery included (used to document bounds).
    public var requestBound: Duration { timeout * (retries + 1) * (isV3 ? 2 : 1) }

    var isV3: Bool { if case .v3 = credentials { true } else { false } }

    /// Never shows a community or password.
    public var description: String {
        switch credentials {
        case .v1: "v1 \(host):\(port)"
        case .v2c: "v2c \(host):\(port)"
        case .v3(let user): "v3 \(user.name)@\(host):\(port) \(user.securityLevel.rawValue)"
        }
    }
}
