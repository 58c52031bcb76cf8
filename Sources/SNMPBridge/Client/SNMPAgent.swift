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
    /// An IPv4/IPv6 address or host name (resolved by net-snmp when the session opens). An IPv6 literal is kept
    /// without brackets (`::1`); the initialiser removes them when given (`[::1]`).
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
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        self.credentials = credentials
        self.timeout = timeout
        self.retries = retries
        self.maxRepetitions = maxRepetitions
    }

    /// `udp:HOST:PORT` as net-snmp names a peer (IPv6 literals in brackets, on net-snmp's udp6 transport).
    var peerName: String { host.contains(":") ? "udp6:[\(host)]:\(port)" : "udp:\(host):\(port)" }

    /// `HOST:PORT`, an IPv6 literal in brackets (`[::1]:161`), as people write an agent's address.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses an agent address as people write it: `HOST`, `HOST:PORT`, `[IPv6]`, `[IPv6]:PORT`, or a bare IPv6
    /// literal (`fe80::1`, whose colons leave no room for a port). Throws `invalidArgument` for anything else.
    public static func parseAddress(_ text: String, defaultPort: Int = 161) throws(SNMPBridgeError) -> (host: String, port: Int) {
        func port(_ digits: Substring) throws(SNMPBridgeError) -> Int {
            guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits), (1...65_535).contains(value) else {
                throw SNMPBridgeError(.invalidArgument, "bad port in agent address '\(text)'")
            }
            return value
        }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw SNMPBridgeError(.invalidArgument, "agent address '\(text)' opens '[' without closing it")
            }
            let host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard !host.isEmpty, host.contains(":") else {
                throw SNMPBridgeError(.invalidArgument, "agent address '\(text)' has no IPv6 literal in brackets")
            }
            if rest.isEmpty { return (String(host), defaultPort) }
            guard rest.first == ":" else { throw SNMPBridgeError(.invalidArgument, "agent address '\(text)' is not [IPv6]:PORT") }
            return (String(host), try port(rest.dropFirst()))
        }
        let colons = text.count { $0 == ":" }
        guard !text.isEmpty, !text.contains("]"), !text.contains(where: \.isWhitespace) else {
            throw SNMPBridgeError(.invalidArgument, "'\(text)' is not an agent address (HOST[:PORT] or [IPv6]:PORT)")
        }
        switch colons {
        case 0: return (text, defaultPort)
        case 1:
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard !parts[0].isEmpty else { throw SNMPBridgeError(.invalidArgument, "agent address '\(text)' has no host") }
            return (String(parts[0]), try port(parts[1]))
        default: return (text, defaultPort)  // a bare IPv6 literal
        }
    }

    /// The worst case a caller waits for one request, engine discovery included (used to document bounds).
    public var requestBound: Duration { timeout * (retries + 1) * (isV3 ? 2 : 1) }

    var isV3: Bool { if case .v3 = credentials { true } else { false } }

    /// Never shows a community or password.
    public var description: String {
        switch credentials {
        case .v1: "v1 \(address)"
        case .v2c: "v2c \(address)"
        case .v3(let user): "v3 \(user.name)@\(address) \(user.securityLevel.rawValue)"
        }
    }
}
