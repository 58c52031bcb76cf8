// Reads net-snmp's command-line output (`snmpwalk -On -Ox -Oe`, no MIBs loaded) into varbinds, so that tests can
// replay a real agent's data. `-Ox` prints every OCTET STRING as hex, which round-trips bytes exactly.
@testable import SNMPBridge

enum NetSNMPOutput {
    struct ParseError: Error, CustomStringConvertible {
        var line: String
        var description: String { "cannot parse net-snmp output line: \(line)" }
    }

    /// Parses the lines of `snmpwalk`/`snmpget -On -Ox -Oe`; Hex-STRING values may continue on following lines.
    static func parse(_ text: String) throws -> [SNMPVarBind] {
        var result: [SNMPVarBind] = []
        var pendingOID: SNMPObjectIdentifier?
        var pendingHex: [UInt8] = []
        func flush() {
            if let oid = pendingOID { result.append(SNMPVarBind(oid: oid, value: .octetString(pendingHex))) }
            pendingOID = nil
            pendingHex = []
        }
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = String(rawLine)
            guard line.hasPrefix("."), let separator = line.firstRange(of: " = ") else {
                // A continuation line of a Hex-STRING.
                guard pendingOID != nil else { throw ParseError(line: line) }
                pendingHex += try hexBytes(line)
                continue
            }
            flush()
            guard let oid = SNMPObjectIdentifier(String(line[..<separator.lowerBound])) else { throw ParseError(line: line) }
            let rest = String(line[separator.upperBound...])
            if rest.hasPrefix("Hex-STRING: ") {
                pendingOID = oid
                pendingHex = try hexBytes(String(rest.dropFirst("Hex-STRING: ".count)))
            } else if rest == "\"\"" {
                result.append(SNMPVarBind(oid: oid, value: .octetString([])))
            } else {
                result.append(SNMPVarBind(oid: oid, value: try value(rest, line: line)))
            }
        }
        flush()
        return result
    }

    private static func hexBytes(_ text: String) throws -> [UInt8] {
        try text.split(separator: " ").map { part in
            guard let byte = UInt8(part, radix: 16) else { throw ParseError(line: text) }
            return byte
        }
    }

    private static func value(_ text: String, line: String) throws -> SNMPValue {
        func number<T: FixedWidthInteger>(_ prefix: String, _: T.Type) -> T? {
            guard text.hasPrefix(prefix) else { return nil }
            return T(text.dropFirst(prefix.count).trimmingPrefix(" ").split(separator: " ").first ?? "")
        }
        if let v = number("INTEGER:", Int32.self) { return .integer(v) }
        if let v = number("Counter32:", UInt32.self) { return .counter32(v) }
        if let v = number("Gauge32:", UInt32.self) { return .gauge32(v) }
        if let v = number("Counter64:", UInt64.self) { return .counter64(v) }
        if text.hasPrefix("Timeticks: ("), let close = text.firstIndex(of: ")"),
           let v = UInt32(text[text.index(text.startIndex, offsetBy: "Timeticks: (".count)..<close]) {
            return .timeTicks(v)
        }
        if text.hasPrefix("OID: "), let oid = SNMPObjectIdentifier(String(text.dropFirst("OID: ".count))) { return .objectIdentifier(oid) }
        if text.hasPrefix("IpAddress: "), let bytes = SNMPConversion.parseIPv4(String(text.dropFirst("IpAddress: ".count))) {
            return .ipAddress(bytes)
        }
        if text.hasPrefix("No Such Object") { return .noSuchObject }
        if text.hasPrefix("No Such Instance") { return .noSuchInstance }
        if text.hasPrefix("No more variables") { return .endOfMibView }
        if text == "NULL" { return .null }
        throw ParseError(line: line)
    }
}
