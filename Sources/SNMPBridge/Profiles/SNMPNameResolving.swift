// MIB symbols in profiles (`IF-MIB::ifDescr`, `SNMPv2-MIB::sysName.0`) are resolved through this protocol; the
// net-snmp MIB-parser implementation is `SNMPMIBResolver` (Sources/SNMPBridge/MIB). Built-in profiles use numeric
// OIDs only, so they work without MIB files (Debian's snmpd ships none).

/// Turns a MIB symbol, optionally followed by numeric arcs (`IF-MIB::ifDescr`, `SNMPv2-MIB::sysName.0`), into an OID.
public protocol SNMPNameResolving: Sendable {
    func resolve(_ name: String) throws -> SNMPObjectIdentifier
}

/// A fixed symbol table (`IF-MIB::ifDescr` → `1.3.6.1.2.1.2.2.1.2`); trailing numeric arcs are appended.
public struct SNMPSymbolTable: SNMPNameResolving {
    public var symbols: [String: SNMPObjectIdentifier]

    public init(_ symbols: [String: SNMPObjectIdentifier]) { self.symbols = symbols }

    public func resolve(_ name: String) throws -> SNMPObjectIdentifier {
        // `MODULE::name.1.2`: the symbol is everything before the first dot after `::`.
        let start = name.firstRange(of: "::")?.upperBound ?? name.startIndex
        let dot = name[start...].firstIndex(of: ".") ?? name.endIndex
        guard let base = symbols[String(name[..<dot])] else {
            throw SNMPBridgeError(.invalidProfile, "unknown MIB symbol \(name)")
        }
        guard dot < name.endIndex else { return base }
        guard let suffix = SNMPObjectIdentifier(String(name[name.index(after: dot)...])) else {
            throw SNMPBridgeError(.invalidProfile, "bad instance arcs in \(name)")
        }
        return base.appending(suffix.components)
    }
}
