// Dotted-string parsing, prefix tests and ordering of OIDs (kept apart from SNMPQuerying.swift to ease merging
// with the snmp-core branch).

extension SNMPObjectIdentifier {
    /// Parses `1.3.6.1.2.1.1.5.0` or `.1.3.6.1.2.1.1.5.0`; nil for anything else (empty arcs, signs, overflow).
    public init?(_ dotted: String) {
        var text = Substring(dotted)
        if text.hasPrefix(".") { text = text.dropFirst() }
        guard !text.isEmpty else { return nil }
        var components: [UInt32] = []
        for arc in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !arc.isEmpty, arc.allSatisfy({ $0.isASCII && $0.isNumber }), let value = UInt32(arc) else { return nil }
            components.append(value)
        }
        self.init(components)
    }

    /// Whether `self` is `other` or an ancestor of it.
    public func isPrefix(of other: SNMPObjectIdentifier) -> Bool {
        other.components.count >= components.count && other.components.starts(with: components)
    }

    /// Lexicographic order by arcs, as SNMP orders a MIB view (a prefix sorts first).
    public static func < (lhs: SNMPObjectIdentifier, rhs: SNMPObjectIdentifier) -> Bool {
        lhs.components.lexicographicallyPrecedes(rhs.components)
    }

    /// Dotted form without a leading dot: `1.3.6.1.2.1.1.5.0`.
    public var description: String { components.map(String.init).joined(separator: ".") }

    /// This OID followed by `suffix` (a column followed by a row index).
    public func appending(_ suffix: [UInt32]) -> SNMPObjectIdentifier { SNMPObjectIdentifier(components + suffix) }
}
