// A real snmpd's data (recorded with snmpwalk in the snmpd's network namespace, which the test process cannot reach)
// served by a real snmpsim on 127.0.0.1 and read through the real net-snmp client (SNMPManager): the provider talks
// SNMP on the wire to an agent answering exactly what snmpd answered. It replaced the RecordedAgent mock (an
// in-process SNMPQuerying written before the real client existed): every case that mock scripted (values moving
// between reads, SETs, a new recording) a real snmpsim produces, so the mock is gone.
import CWMPClient
import CWMPTestSupport
import Foundation
@testable import SNMPBridge

/// Varbinds as snmpsim `.snmprec` lines, sorted by OID (snmpsim answers GETNEXT in file order). Strings are written
/// in hex (`4x`), so bytes round-trip exactly. OIDs in `writable` get snmpsim's `writecache` variation: a SET of the
/// same type is kept and read back.
func snmprec(_ varBinds: [SNMPVarBind], writable: Set<SNMPObjectIdentifier> = []) -> String {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
    var lines: [String] = []
    for varBind in varBinds.sorted(by: { $0.oid < $1.oid }) {
        let (tag, value, isHex): (String, String, Bool)
        switch varBind.value {
        case .integer(let integer): (tag, value, isHex) = ("2", String(integer), false)
        case .octetString(let bytes): (tag, value, isHex) = ("4", hex(bytes), true)
        case .objectIdentifier(let identifier): (tag, value, isHex) = ("6", identifier.description, false)
        case .ipAddress(let bytes): (tag, value, isHex) = ("64", bytes.map(String.init).joined(separator: "."), false)
        case .counter32(let counter): (tag, value, isHex) = ("65", String(counter), false)
        case .gauge32(let gauge): (tag, value, isHex) = ("66", String(gauge), false)
        case .timeTicks(let ticks): (tag, value, isHex) = ("67", String(ticks), false)
        case .opaque(let bytes): (tag, value, isHex) = ("68", hex(bytes), true)
        case .counter64(let counter): (tag, value, isHex) = ("70", String(counter), false)
        case .null, .noSuchObject, .noSuchInstance, .endOfMibView: continue
        }
        if writable.contains(varBind.oid) {
            lines.append("\(varBind.oid)|\(tag):writecache|\(isHex ? "hexvalue" : "value")=\(value)")
        } else {
            lines.append("\(varBind.oid)|\(tag)\(isHex ? "x" : "")|\(value)")
        }
    }
    return lines.joined(separator: "\n") + "\n"
}

/// One recorded agent on snmpsim, with a manager and a session to it through the real client, and a log of the
/// requests the session was asked for (a spy in front of the real client, not a stand-in for it).
final class ReplayedAgent: @unchecked Sendable {
    static let community = "recorded"
    let peer: SNMPSimPeer
    let manager: SNMPManager
    /// What the code under test uses: the real session, behind the request log.
    let client: LoggingClient
    private let writable: Set<SNMPObjectIdentifier>

    init(_ varBinds: [SNMPVarBind], writable: Set<SNMPObjectIdentifier> = []) throws {
        self.writable = writable
        peer = try SNMPSimPeer(devices: [Self.community: snmprec(varBinds, writable: writable)])
        manager = SNMPManager()
        client = LoggingClient(manager.session(for: peer.agent(Self.community)))
    }

    /// The agent's data changed (a new recording of the same snmpd): snmpsim serves the new data on the same port.
    func load(_ varBinds: [SNMPVarBind]) throws {
        try peer.replace(devices: [Self.community: snmprec(varBinds, writable: writable)])
    }

    func shutdown() {
        manager.shutdown()
        peer.stop()
    }

    /// Runs `body` with a replayed agent and shuts it down afterwards, whatever happens.
    static func with<T>(_ varBinds: [SNMPVarBind], writable: Set<SNMPObjectIdentifier> = [],
                        _ body: (ReplayedAgent) async throws -> T) async throws -> T {
        let agent = try ReplayedAgent(varBinds, writable: writable)
        defer { agent.shutdown() }
        return try await body(agent)
    }
}

/// Forwards every request to a real client and logs the GET and SET PDUs it was asked for.
actor LoggingClient: SNMPQuerying {
    private let session: any SNMPQuerying
    private(set) var getRequests: [[SNMPObjectIdentifier]] = []
    private(set) var sets: [[SNMPVarBind]] = []

    init(_ session: any SNMPQuerying) { self.session = session }

    func get(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPVarBind] {
        getRequests.append(oids)
        return try await session.get(oids)
    }

    func getNext(_ oids: [SNMPObjectIdentifier]) async throws -> [SNMPVarBind] { try await session.getNext(oids) }

    func getBulk(_ oids: [SNMPObjectIdentifier], nonRepeaters: Int, maxRepetitions: Int) async throws -> [SNMPVarBind] {
        try await session.getBulk(oids, nonRepeaters: nonRepeaters, maxRepetitions: maxRepetitions)
    }

    func walk(_ root: SNMPObjectIdentifier) async throws -> [SNMPVarBind] { try await session.walk(root) }

    func set(_ varBinds: [SNMPVarBind]) async throws -> [SNMPVarBind] {
        sets.append(varBinds)
        return try await session.set(varBinds)
    }
}
