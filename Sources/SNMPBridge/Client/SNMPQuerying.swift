// The SNMP client API the bridge codes against; the net-snmp implementation lives beside it (branch snmp-core).
// Kept identical across branches so that the integrator merges identical copies.

public struct SNMPObjectIdentifier: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var components: [UInt32]
    public init(_ components: [UInt32]) { self.components = components }
}

public enum SNMPValue: Hashable, Sendable {
    case integer(Int32), octetString([UInt8]), objectIdentifier(SNMPObjectIdentifier), ipAddress([UInt8]),
         counter32(UInt32), gauge32(UInt32), timeTicks(UInt32), opaque([UInt8]), counter64(UInt64), null,
         noSuchObject, noSuchInstance, endOfMibView
}

public struct SNMPVarBind: Hashable, Sendable {
    public var oid: SNMPObjectIdentifier
    public var value: SNMPValue
    public init(oid: SNMPObjectIdentifier, value: SNMPValue) {
        self.oid = oid
        self.value = value
    }
}

public protocol SNMPQuerying: Sendable {
    func get(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPVarBind]
    func getNext(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPVarBind]
    func getBulk(_ oids: [SNMPObjectIdentifier], nonRepeaters: Int, maxRepetitions: Int) async throws -> [SNMPVarBind]
    func walk(_ root: SNMPObjectIdentifier) async throws -> [SNMPVarBind]
    func set(_ varBinds: [SNMPVarBind]) async throws -> [SNMPVarBind]
}
