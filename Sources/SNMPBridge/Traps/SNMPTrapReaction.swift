// What a notification changes in the TR-181 view: linkUp/linkDown (RFC 2863) name an ifIndex; the parameters of that
// interface's rows are re-read through the provider and those whose value moved are reported, for
// `DataModel.recordValueChanges(_:mountedAt:)`.
import Proxier

public actor SNMPTrapReaction {
    /// IF-MIB ifEntry and ifXEntry: tables indexed by ifIndex.
    static let ifEntry = SNMPObjectIdentifier([1, 3, 6, 1, 2, 1, 2, 2, 1])
    static let ifXEntry = SNMPObjectIdentifier([1, 3, 6, 1, 2, 1, 31, 1, 1, 1])

    private let provider: SNMPProfileProvider
    /// The last value read of each parameter a notification made us read.
    private var lastValues: [ProviderPath: String] = [:]

    public init(provider: SNMPProfileProvider) { self.provider = provider }

    /// The ifIndex a linkUp/linkDown is about: the instance of its ifIndex/ifAdminStatus/ifOperStatus varbinds
    /// (RFC 2863 OBJECTS), nil for other notifications.
    public static func affectedInterface(_ notification: SNMPNotification) -> UInt32? {
        guard notification.trapOID == SNMPNotification.linkDown || notification.trapOID == SNMPNotification.linkUp else {
            return nil
        }
        for varBind in notification.varBinds
        where ifEntry.isPrefix(of: varBind.oid) && varBind.oid.components.count == ifEntry.components.count + 2 {
            return varBind.oid.components.last
        }
        return nil
    }

    /// Re-reads what `notification` affects and returns the parameters whose value differs from the last read
    /// (all of them the first time: the notification itself says they changed). Throws the provider's errors.
    public func changedParameters(after notification: SNMPNotification) async throws -> [ProviderPath] {
        guard let ifIndex = Self.affectedInterface(notification) else { return [] }
        // The re-read (a walk per key column, then GETs) runs near the agent: on the SNMP I/O thread for a real
        // session, so neither the requests nor the hops between this actor and the provider wake another thread.
        // Only that short glue runs there; the comparison below runs after leaving it.
        let (paths, values) = try await withTaskExecutorPreference(provider.preferredExecutor) {
            let paths = try await provider.parameters(ofRow: [ifIndex], indexedUnder: [Self.ifEntry, Self.ifXEntry])
            return (paths, paths.isEmpty ? [] : try await provider.values(of: paths))
        }
        guard !paths.isEmpty else { return [] }
        var changed: [ProviderPath] = []
        for (path, value) in zip(paths, values) where lastValues.updateValue(value, forKey: path) != value {
            changed.append(path)
        }
        return changed
    }

    /// The value last read for `path` (tests, diagnostics).
    public func lastValue(of path: ProviderPath) -> String? { lastValues[path] }
}
