// The SNMP manager's public client API: what the mapping profiles and the RPC translation code against.
// (An identical copy lives on branch `snmp-profiles`; keep the two in step.)

/// An SNMP OBJECT IDENTIFIER, as its sub-identifiers. Ordered lexicographically, as agents order a MIB view.
public struct SNMPObjectIdentifier: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var components: [UInt32]

    public init(_ components: [UInt32]) { self.components = components }

    /// `"1.3.6.1.2.1.1.5.0"` or `".1.3.6..."`; nil for anything else (empty, a symbol, a sub-identifier > 2^32-1).
    public init?(_ dotted: String) {
        var text = Substring(dotted)
        if text.hasPrefix(".") { text = text.dropFirst() }
        var components: [UInt32] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt32(part) else { return nil }
            components.append(value)
        }
        guard !components.isEmpty else { return nil }
        self.components = components
    }

    /// True when `other` lies in the subtree rooted here (an OID is a prefix of itself).
    public func isPrefix(of other: SNMPObjectIdentifier) -> Bool {
        other.components.count >= components.count && other.components.starts(with: components)
    }

    public static func < (lhs: SNMPObjectIdentifier, rhs: SNMPObjectIdentifier) -> Bool {
        lhs.components.lexicographicallyPrecedes(rhs.components)
    }

    public var description: String { components.map(String.init).joined(separator: ".") }
}

/// An SNMP value (SMIv2 types plus the SNMPv2 exceptions a varbind can carry instead of a value).
public enum SNMPValue: Hashable, Sendable {
    case integer(Int32), octetString([UInt8]), objectIdentifier(SNMPObjectIdentifier), ipAddress([UInt8]),
         counter32(UInt32), gauge32(UInt32), timeTicks(UInt32), opaque([UInt8]), counter64(UInt64), null,
         noSuchObject, noSuchInstance, endOfMibView
}

/// One variable binding: an OID and its value.
public struct SNMPVarBind: Hashable, Sendable {
    public var oid: SNMPObjectIdentifier
    public var value: SNMPValue
    public init(oid: SNMPObjectIdentifier, value: SNMPValue) {
        self.oid = oid
        self.value = value
    }
}

/// What a client of one SNMP agent can ask. Every call finishes within the agent's configured timeout and retries
/// (plus, for SNMPv3, one engine-ID discovery exchange bounded the same way), or throws `SNMPBridgeError`.
public protocol SNMPQuerying: Sendable {
    func get(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPVarBind]
    func getNext(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPVarBind]
    func getBulk(_ oids: [SNMPObjectIdentifier], nonRepeaters: Int, maxRepetitions: Int) async throws -> [SNMPVarBind]
    /// Every varbind under `root`, in order: GETBULK for v2c/v3, GETNEXT for v1; stops at the subtree's end,
    /// endOfMibView, or a non-increasing OID (a broken agent), which is an error.
    func walk(_ root: SNMPObjectIdentifier) async throws -> [SNMPVarBind]
    /// One SET PDU with all varbinds (atomic as far as the agent's SNMP implementation is).
    func set(_ varBinds: [SNMPVarBind]) async throws -> [SNMPVarBind]
    /// Where a caller should run a short sequence of requests and their glue: for `SNMPAgentSession` the SNMP I/O
    /// thread (`SNMPManager.ioExecutor`), so each request is handed over and resumed without a thread wake-up.
    /// nil (the default, e.g. test doubles) means no preference. Use it with `withTaskExecutorPreference`, and only
    /// for short glue: whatever runs there holds up every agent's I/O.
    var preferredExecutor: (any TaskExecutor)? { get }
}

extension SNMPQuerying {
    public var preferredExecutor: (any TaskExecutor)? { nil }
}
