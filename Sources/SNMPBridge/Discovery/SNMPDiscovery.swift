// Finding SNMP agents: configured hosts and CIDR sweeps, each address probed with one GET of the system group's
// identity objects per credential, in the configured order, with bounded concurrency and a short timeout.
import CWMPClient
#if canImport(Glibc)
import Glibc
#endif

/// An agent that answered, with the credentials that worked and what it said about itself.
public struct SNMPDiscoveredAgent: Sendable, Hashable {
    /// The address, port and the first credentials of the list that the agent answered.
    public var agent: SNMPAgent
    public var sysObjectID: SNMPObjectIdentifier?
    public var sysDescr: String
    public var sysName: String
    /// The names of the built-in/configured profiles the agent matches, highest priority first.
    public var profiles: [String]
}

public struct SNMPDiscovery: Sendable {
    static let sysDescr = SNMPObjectIdentifier([1, 3, 6, 1, 2, 1, 1, 1, 0])
    static let sysObjectID = SNMPObjectIdentifier([1, 3, 6, 1, 2, 1, 1, 2, 0])
    static let sysName = SNMPObjectIdentifier([1, 3, 6, 1, 2, 1, 1, 5, 0])

    /// Tried in order on every address; the first one answered wins (v1/v2c agents do not answer a wrong
    /// community, so each wrong one costs a timeout).
    public var credentials: [SNMPCredentials]
    public var profiles: [CompiledSNMPProfile]
    /// Per probe; a sweep wants it short, and no retries.
    public var timeout: Duration
    public var retries: Int
    /// How many addresses are probed at once.
    public var concurrency: Int

    public init(credentials: [SNMPCredentials], profiles: [CompiledSNMPProfile], timeout: Duration = .milliseconds(500),
                retries: Int = 0, concurrency: Int = 128) {
        self.credentials = credentials
        self.profiles = profiles
        self.timeout = timeout
        self.retries = retries
        self.concurrency = concurrency
    }

    /// The host addresses of an IPv4 CIDR block (network and broadcast addresses excluded below /31), at most a /16.
    public static func addresses(inCIDR cidr: String) throws(SNMPBridgeError) -> [String] {
        let parts = cidr.split(separator: "/")
        var address = in_addr()
        guard parts.count == 2, let prefix = Int(parts[1]), (16...32).contains(prefix),
              inet_pton(AF_INET, String(parts[0]), &address) == 1 else {
            throw SNMPBridgeError(.invalidArgument, "'\(cidr)' is not an IPv4 CIDR block of /16 to /32")
        }
        let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
        let network = UInt32(bigEndian: address.s_addr) & mask
        let size = UInt64(1) << (32 - prefix)
        let hosts: [UInt32] = size <= 2 ? (0..<UInt32(size)).map { network + $0 } : (1..<UInt32(size - 1)).map { network + $0 }
        return hosts.map { "\($0 >> 24).\($0 >> 16 & 0xFF).\($0 >> 8 & 0xFF).\($0 & 0xFF)" }
    }

    /// Probes every (host, port) and returns the agents that answered, in the order of `targets`.
    public func discover(_ targets: [(host: String, port: Int)], using manager: SNMPManager) async -> [SNMPDiscoveredAgent] {
        let limit = max(1, concurrency)
        return await withTaskGroup(of: (Int, SNMPDiscoveredAgent?).self) { group in
            var found: [Int: SNMPDiscoveredAgent] = [:]
            var next = 0
            func addNext() {
                guard next < targets.count else { return }
                let index = next
                let target = targets[index]
                next += 1
                group.addTask { (index, await probe(host: target.host, port: target.port, using: manager)) }
            }
            for _ in 0..<min(limit, targets.count) { addNext() }
            while let (index, agent) = await group.next() {
                if let agent { found[index] = agent }
                addNext()
            }
            return found.keys.sorted().compactMap { found[$0] }
        }
    }

    /// One address: each credential in turn until the agent answers (or the list is exhausted).
    public func probe(host: String, port: Int, using manager: SNMPManager) async -> SNMPDiscoveredAgent? {
        // The credential sequence (one GET each, waiting on the I/O thread's timeout) runs on the SNMP I/O thread
        // itself, so each GET is handed over and resumed without a thread wake-up; only that short glue runs there
        // (nothing blocks: a timeout is the I/O loop's timer). Matching the profiles runs after leaving it.
        let answer = await withTaskExecutorPreference(manager.ioExecutor) { () async -> (SNMPAgent, [SNMPVarBind])? in
            for credentials in self.credentials {
                let agent = SNMPAgent(host: host, port: port, credentials: credentials, timeout: timeout, retries: retries)
                let session = manager.session(for: agent)
                defer { manager.close(agent) }
                if let varBinds = try? await session.get([Self.sysDescr, Self.sysObjectID, Self.sysName]) { return (agent, varBinds) }
            }
            return nil
        }
        guard let (agent, varBinds) = answer else { return nil }
        func text(_ index: Int) -> String {
            if case .octetString(let bytes) = varBinds[index].value { String(decoding: bytes, as: UTF8.self) } else { "" }
        }
        let objectID: SNMPObjectIdentifier? = if case .objectIdentifier(let oid) = varBinds[1].value { oid } else { nil }
        let matched = SNMPProfileSelection.select(profiles, sysObjectID: objectID, sysDescr: text(0)).map(\.name)
        return SNMPDiscoveredAgent(agent: agent, sysObjectID: objectID, sysDescr: text(0), sysName: text(2), profiles: matched)
    }
}
