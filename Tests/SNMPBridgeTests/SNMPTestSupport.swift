// Helpers shared by the SNMP manager tests: agents for the snmpd peer, and comparing our values with net-snmp's
// own command-line output for the same agent.
import CWMPClient
import CWMPTestSupport
import Foundation
@testable import SNMPBridge
import Testing

let snmpdAvailable = SNMPDaemonPeer.unavailableReason == nil
let snmpdSkipMessage: Comment = "snmpd or the net-snmp tools are not installed (scripts/install-deps --tests)"

func oid(_ dotted: String) -> SNMPObjectIdentifier { SNMPObjectIdentifier(dotted)! }

enum MIB2 {
    static let system = oid("1.3.6.1.2.1.1")
    static let sysDescr = oid("1.3.6.1.2.1.1.1.0")
    static let sysObjectID = oid("1.3.6.1.2.1.1.2.0")
    static let sysUpTime = oid("1.3.6.1.2.1.1.3.0")
    static let sysContact = oid("1.3.6.1.2.1.1.4.0")
    static let sysName = oid("1.3.6.1.2.1.1.5.0")
    static let sysLocation = oid("1.3.6.1.2.1.1.6.0")
    static let ifTable = oid("1.3.6.1.2.1.2.2")
    static let snmpTargetAddrTable = oid("1.3.6.1.6.3.12.1.2")
}

extension SNMPDaemonPeer {
    func agent(_ credentials: SNMPCredentials, timeout: Duration = .seconds(2), retries: Int = 1,
               maxRepetitions: Int = 25) -> SNMPAgent {
        SNMPAgent(host: "127.0.0.1", port: port, credentials: credentials, timeout: timeout, retries: retries,
                  maxRepetitions: maxRepetitions)
    }

    var v2cPublic: SNMPAgent { agent(.v2c(community: "public")) }
    var v2cPrivate: SNMPAgent { agent(.v2c(community: "private")) }
    var v1Public: SNMPAgent { agent(.v1(community: "public")) }
    var v1Private: SNMPAgent { agent(.v1(community: "private")) }

    /// The bridge's v3 credentials for one of the peer's users, optionally with other passwords.
    func v3(_ user: User, authPassword: String? = nil, privPassword: String? = nil,
            timeout: Duration = .seconds(2)) -> SNMPAgent {
        var usm = SNMPUSMUser(name: user.name)
        if let name = user.authProtocol, let password = authPassword ?? user.authPassword {
            usm.authentication = .init(SNMPAuthenticationProtocol(rawValue: name)!, password: Secret(password))
        }
        if let name = user.privProtocol, let password = privPassword ?? user.privPassword {
            usm.privacy = .init(SNMPPrivacyProtocol(rawValue: name)!, password: Secret(password))
        }
        return agent(.v3(usm), timeout: timeout)
    }
}

/// Whether our value agrees with one `snmpwalk -On` value text. Values that move while the test runs (TimeTicks,
/// counters: SNMP traffic on `lo` itself increments lo's counters) only have to agree in type.
func agrees(_ value: SNMPValue, with text: String) -> Bool {
    func payload(_ prefix: String) -> String? {
        text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : nil
    }
    switch value {
    case .integer(let integer):
        // net-snmp prints enumerations it knows no MIB for as plain integers (MIB loading is off).
        return payload("INTEGER: ").map { $0 == String(integer) } ?? false
    case .octetString(let bytes):
        if text == "\"\"" { return bytes.isEmpty }
        if let string = payload("STRING: ") {
            return string == "\"" + String(decoding: bytes, as: UTF8.self) + "\""
        }
        if let hex = payload("Hex-STRING: ") {
            let parsed = hex.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt8($0, radix: 16) }
            return parsed == bytes
        }
        return false
    case .objectIdentifier(let identifier): return payload("OID: ") == "." + identifier.description
    case .ipAddress(let bytes): return payload("IpAddress: ") == bytes.map(String.init).joined(separator: ".")
    case .counter32: return text.hasPrefix("Counter32: ")
    case .gauge32(let gauge): return payload("Gauge32: ") == String(gauge)
    case .timeTicks: return text.hasPrefix("Timeticks: (")
    case .counter64: return text.hasPrefix("Counter64: ")
    case .opaque: return text.hasPrefix("OPAQUE: ") || text.hasPrefix("Opaque: ")
    case .null: return text.hasPrefix("NULL")
    case .noSuchObject, .noSuchInstance, .endOfMibView: return false
    }
}

/// Expects `varBinds` to be exactly `snmpwalk -On`'s lines for the same subtree, value by value.
func expectSameWalk(_ varBinds: [SNMPVarBind], _ lines: [(oid: String, value: String)],
                    sourceLocation: SourceLocation = #_sourceLocation) {
    if let disagreement = walkDisagreement(varBinds, lines) {
        Issue.record(Comment(rawValue: disagreement), sourceLocation: sourceLocation)
    }
}

/// Why `varBinds` and `snmpwalk -On`'s lines differ, or nil when they agree.
func walkDisagreement(_ varBinds: [SNMPVarBind], _ lines: [(oid: String, value: String)]) -> String? {
    if varBinds.map(\.oid.description) != lines.map(\.oid) {
        return "OIDs differ: \(varBinds.count) varbinds against snmpwalk's \(lines.count) lines"
    }
    for (varBind, line) in zip(varBinds, lines) where !agrees(varBind.value, with: line.value) {
        return "\(varBind.oid): \(varBind.value) disagrees with snmpwalk's \(line.value)"
    }
    return nil
}

/// Walks `root` through the bridge and with `snmpwalk -On` until the two agree (at most 5 times): the host's own
/// interfaces and addresses change while other tests create and delete veths and namespaces, so one pair of
/// walks can straddle a change. Records the last disagreement when no pair agreed; returns the bridge's walk.
@discardableResult
func expectWalkMatchesSnmpwalk(_ session: SNMPAgentSession, _ root: SNMPObjectIdentifier, peer: SNMPDaemonPeer,
                               arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws
    -> [SNMPVarBind] {
    var last: String?
    var varBinds: [SNMPVarBind] = []
    for _ in 0..<5 {
        varBinds = try await session.walk(root)
        last = walkDisagreement(varBinds, try peer.walkLines(root.description, arguments: arguments))
        if last == nil { return varBinds }
    }
    Issue.record(Comment(rawValue: "walk of \(root): \(last ?? "")"), sourceLocation: sourceLocation)
    return varBinds
}

/// The SNMPBridgeError a call throws, or nil (recording an issue) when it throws something else or nothing.
func snmpError(_ body: () async throws -> some Any, sourceLocation: SourceLocation = #_sourceLocation) async
    -> SNMPBridgeError? {
    do {
        _ = try await body()
        Issue.record("Expected an SNMPBridgeError, got a result", sourceLocation: sourceLocation)
    } catch let error as SNMPBridgeError {
        return error
    } catch {
        Issue.record("Expected an SNMPBridgeError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

extension SNMPValue {
    var text: String? { if case .octetString(let bytes) = self { String(decoding: bytes, as: UTF8.self) } else { nil } }
}
