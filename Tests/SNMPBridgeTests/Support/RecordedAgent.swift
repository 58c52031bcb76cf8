// An `SNMPQuerying` that answers from varbinds recorded from a real snmpd (`snmpwalk -On -Ox`), standing in for
// the net-snmp client of the snmp-core branch until it lands. It answers GET/GETNEXT/walk like an agent would
// (noSuchObject/noSuchInstance, lexicographic order), counts requests so tests can check batching, and lets a test
// script SET outcomes (a PDU error, a timeout), which snmpd cannot be made to produce on demand.
@testable import SNMPBridge

actor RecordedAgent: SNMPQuerying {
    private var varBinds: [SNMPObjectIdentifier: SNMPValue]
    private(set) var getRequests: [[SNMPObjectIdentifier]] = []
    private(set) var walks: [SNMPObjectIdentifier] = []
    private(set) var sets: [[SNMPVarBind]] = []
    /// Thrown by the next SET (then cleared).
    private var setFailure: (any Error)?
    /// Thrown by every request while set.
    private var failure: (any Error)?

    init(_ varBinds: [SNMPVarBind]) {
        var map: [SNMPObjectIdentifier: SNMPValue] = [:]
        for varBind in varBinds where !varBind.value.isException { map[varBind.oid] = varBind.value }
        self.varBinds = map
    }

    /// Replaces the whole recording (a new walk of the same agent).
    func load(_ varBinds: [SNMPVarBind]) {
        self.varBinds = [:]
        for varBind in varBinds where !varBind.value.isException { self.varBinds[varBind.oid] = varBind.value }
    }

    func failSet(with error: any Error) { setFailure = error }
    func failAll(with error: (any Error)?) { failure = error }
    func replace(_ varBinds: [SNMPVarBind]) { for varBind in varBinds { self.varBinds[varBind.oid] = varBind.value } }
    func value(at oid: SNMPObjectIdentifier) -> SNMPValue? { varBinds[oid] }

    private var sorted: [SNMPObjectIdentifier] { varBinds.keys.sorted() }

    func get(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPVarBind] {
        if let failure { throw failure }
        getRequests.append(oids)
        return oids.map { oid in
            if let value = varBinds[oid] { return SNMPVarBind(oid: oid, value: value) }
            // noSuchInstance when the object (the OID minus its last arc) has instances, as snmpd answers.
            let object = SNMPObjectIdentifier(Array(oid.components.dropLast()))
            let known = varBinds.keys.contains { object.isPrefix(of: $0) }
            return SNMPVarBind(oid: oid, value: known ? .noSuchInstance : .noSuchObject)
        }
    }

    func getNext(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPVarBind] {
        if let failure { throw failure }
        let keys = sorted
        return oids.map { oid in
            guard let next = keys.first(where: { oid < $0 }) else { return SNMPVarBind(oid: oid, value: .endOfMibView) }
            return SNMPVarBind(oid: next, value: varBinds[next]!)
        }
    }

    func getBulk(_ oids: [SNMPObjectIdentifier], nonRepeaters: Int, maxRepetitions: Int) async throws -> [SNMPVarBind] {
        try await getNext(oids)
    }

    func walk(_ root: SNMPObjectIdentifier) async throws -> [SNMPVarBind] {
        if let failure { throw failure }
        walks.append(root)
        return sorted.filter { root.isPrefix(of: $0) && $0 != root }.map { SNMPVarBind(oid: $0, value: varBinds[$0]!) }
    }

    func set(_ request: [SNMPVarBind]) async throws -> [SNMPVarBind] {
        if let failure { throw failure }
        sets.append(request)
        if let error = setFailure {
            setFailure = nil
            throw error
        }
        for varBind in request { varBinds[varBind.oid] = varBind.value }
        return request
    }
}
