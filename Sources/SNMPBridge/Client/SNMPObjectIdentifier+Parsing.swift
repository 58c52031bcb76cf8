// Helpers on OIDs beyond the client API's own (parsing, ordering and prefix tests live in SNMPQuerying.swift).

extension SNMPObjectIdentifier {
    /// This OID followed by `suffix` (a column followed by a row index).
    public func appending(_ suffix: [UInt32]) -> SNMPObjectIdentifier { SNMPObjectIdentifier(components + suffix) }
}
