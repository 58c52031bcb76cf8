// The recorded devices of Tests/SNMPBridgeTests/Fixtures (see its README.md), read from the source tree, and a
// parser of snmpsim's `.snmprec` lines that tests use to compute expected values independently of the bridge.
import CWMPClient
import CWMPTestSupport
import Foundation
import Testing
@testable import SNMPBridge

let snmpsimAvailable = SNMPSimPeer.unavailableReason == nil
let snmpsimSkipMessage = Comment(rawValue: SNMPSimPeer.unavailableReason ?? "")

enum SNMPFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// The text of `Fixtures/NAME.snmprec`.
    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name + ".snmprec"), encoding: .utf8)
    }

    /// The records of a fixture as SNMP values, in file order (snmpsim's tags: 2 INTEGER, 4 OCTET STRING (4x hex),
    /// 6 OID, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 70 Counter64).
    static func varBinds(_ text: String) -> [SNMPVarBind] {
        text.split(separator: "\n").compactMap { line -> SNMPVarBind? in
            let parts = line.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, let oid = SNMPObjectIdentifier(parts[0]) else { return nil }
            let value: SNMPValue? = switch parts[1] {
            case "2": Int32(parts[2]).map { .integer($0) }
            case "4": .octetString(Array(parts[2].utf8))
            case "4x": .octetString(hexBytes(parts[2]))
            case "6": SNMPObjectIdentifier(parts[2]).map { .objectIdentifier($0) }
            case "64": .ipAddress(parts[2].split(separator: ".").compactMap { UInt8($0) })
            case "65": UInt32(parts[2]).map { .counter32($0) }
            case "66": UInt32(parts[2]).map { .gauge32($0) }
            case "67": UInt32(parts[2]).map { .timeTicks($0) }
            case "70": UInt64(parts[2]).map { .counter64($0) }
            default: nil
            }
            return value.map { SNMPVarBind(oid: oid, value: $0) }
        }
    }

    static func hexBytes(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex, let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex) {
            if let byte = UInt8(text[index..<next], radix: 16) { bytes.append(byte) }
            index = next
        }
        return bytes
    }
}

/// A fixture's values by OID, for expectations.
struct Recording {
    let values: [SNMPObjectIdentifier: SNMPValue]
    let varBinds: [SNMPVarBind]

    init(_ text: String) {
        varBinds = SNMPFixture.varBinds(text)
        values = Dictionary(varBinds.map { ($0.oid, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    subscript(_ dotted: String) -> SNMPValue? { values[SNMPObjectIdentifier(dotted)!] }

    func string(_ dotted: String) -> String? { self[dotted]?.text }

    func number(_ dotted: String) -> UInt64? {
        switch self[dotted] {
        case .integer(let value)?: UInt64(exactly: value)
        case .counter32(let value)?, .gauge32(let value)?, .timeTicks(let value)?: UInt64(value)
        case .counter64(let value)?: value
        default: nil
        }
    }

    /// The varbinds under `root`, in order.
    func subtree(_ dotted: String) -> [SNMPVarBind] {
        let root = SNMPObjectIdentifier(dotted)!
        return varBinds.filter { root.isPrefix(of: $0.oid) && $0.oid != root }
    }

    /// The row index whose `column` value is the string `text` (ifName → ifIndex).
    func index(of text: String, in column: String) -> UInt32? {
        let root = SNMPObjectIdentifier(column)!
        return subtree(column).first { $0.value.text == text }.map { $0.oid.components[root.components.count] }
    }
}

extension SNMPSimPeer {
    /// The bridge's agent for one of the peer's communities on one endpoint.
    func agent(_ community: String, endpoint: Int = 0, timeout: Duration = .seconds(2), retries: Int = 1,
               maxRepetitions: Int = 25) -> SNMPAgent {
        SNMPAgent(host: "127.0.0.1", port: ports[endpoint], credentials: .v2c(community: Secret(community)),
                  timeout: timeout, retries: retries, maxRepetitions: maxRepetitions)
    }
}
