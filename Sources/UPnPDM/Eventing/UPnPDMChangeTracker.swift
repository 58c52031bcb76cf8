// CMS `ConfigurationUpdate` events → the parameters that changed, with their values and TR-181 names, for the
// agent's `4 VALUE CHANGE` (upnp-dm.md §2.2, §7 Get/SetParameterAttributes row).
//
// ConfigurationUpdate is `<version>,<time>[,<cms:ParameterValueList>]`; the third field lists the changed parameters
// that have EventOnChange set and is absent when there are none (dm_device, TPV). So:
// * the version is the change detector: an event whose version is the one already seen (every NOTIFY carries all
//   evented variables, and a fresh subscription's initial event repeats the current value) reports nothing;
// * the first version seen is the baseline (subscribing is not a change); its watched values are read then, so a
//   later comparison has something to compare with (and forgotten if the version moved during the read);
// * with a third field, its entries are the changes; without one, the watched paths are read with one GetValues and
//   those whose value differs from the last one known are the changes.

import Proxier

/// One changed parameter.
public struct UPnPDMParameterChange: Hashable, Sendable {
    /// The UPnP DM path (`/BBF/Time/NTPServer1`).
    public var upnpPath: String
    public var value: String
    /// The provider path (TR-181 template and instance keys) for `DataModel.recordValueChanges(_:mountedAt:)`; nil
    /// for paths outside the mapped trees.
    public var providerPath: ProviderPath?

    public init(upnpPath: String, value: String, providerPath: ProviderPath?) {
        self.upnpPath = upnpPath
        self.value = value
        self.providerPath = providerPath
    }
}

public actor UPnPDMChangeTracker {
    public let cms: ConfigurationManagementClient
    public let mapping: DMPathMapping
    /// Table templates (`Device.IP.Interface.`) for `DMPathMapping.providerPath(ofUPnPPath:tables:rootKeys:)`.
    public let tables: Set<String>
    public let rootKeys: [String]
    /// UPnP parameter paths whose changes matter (those with EventOnChange set on the device, i.e. the ACS's
    /// Notification attributes); read with GetValues when a ConfigurationUpdate does not list the changes.
    public private(set) var watched: [String]
    private var lastVersion: UInt32?
    private var lastValues: [String: String] = [:]

    public init(cms: ConfigurationManagementClient, mapping: DMPathMapping = DMPathMapping(), tables: Set<String> = [],
                rootKeys: [String] = [], watched: [String] = []) {
        self.cms = cms
        self.mapping = mapping
        self.tables = tables
        self.rootKeys = rootKeys
        self.watched = watched
    }

    /// Replaces the watched paths; their current values are read at the next baseline or change.
    public func watch(_ paths: [String]) {
        watched = paths
        lastValues = lastValues.filter { paths.contains($0.key) }
    }

    /// The parameters a ConfigurationUpdate reports as changed (empty for a version already seen or the baseline).
    /// Throws what GetValues throws when the event lists no values and the watched ones must be read.
    public func changes(for update: DMConfigurationUpdate) async throws -> [UPnPDMParameterChange] {
        guard update.version != lastVersion else { return [] }
        let isBaseline = lastVersion == nil
        lastVersion = update.version
        if isBaseline {
            if !watched.isEmpty {
                remember(try await cms.getValues(watched))
                // A change committed between the event and that read would hide in the baseline and be missed:
                // when the version moved meanwhile, forget the baseline, so the next change reports every watched
                // path (one report too many rather than one lost).
                if try await cms.getCurrentConfigurationVersion() != update.version { lastValues = [:] }
            }
            return []
        }
        let changed: [DMParameterValue]
        if !update.changes.isEmpty {
            changed = update.changes
        } else if !watched.isEmpty {
            changed = try await cms.getValues(watched).filter { lastValues[$0.path] != $0.value }
        } else {
            changed = []
        }
        remember(changed)
        return changed.map { change in
            UPnPDMParameterChange(upnpPath: change.path, value: change.value,
                                  providerPath: mapping.providerPath(ofUPnPPath: change.path, tables: tables, rootKeys: rootKeys))
        }
    }

    /// The change lists of every ConfigurationUpdate in `updates` (a CMS subscription's), skipping empty ones. A
    /// failed GetValues drops that one report (logged by the caller's stream consumer), not the stream.
    public nonisolated func changes(from updates: AsyncStream<GENASubscriptionUpdate>) -> AsyncStream<[UPnPDMParameterChange]> {
        AsyncStream { continuation in
            let task = Task {
                for await update in updates {
                    guard case .event(let event) = update else { continue }
                    for property in event.properties {
                        guard case .configurationUpdate(let configurationUpdate) = DMServiceEvent(property) else { continue }
                        if let changes = try? await self.changes(for: configurationUpdate), !changes.isEmpty {
                            continuation.yield(changes)
                        }
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func remember(_ values: [DMParameterValue]) {
        for value in values { lastValues[value.path] = value.value }
    }
}

extension UPnPDMProvider {
    /// A change tracker reading through this provider's CMS client and mapping.
    public func changeTracker(tables: Set<String>, rootKeys: [String] = [], watched: [String] = []) -> UPnPDMChangeTracker {
        UPnPDMChangeTracker(cms: cms, mapping: mapping, tables: tables, rootKeys: rootKeys, watched: watched)
    }
}

extension DataModel {
    /// Records the changes a UPnP DM device reported (ConfigurationUpdate) for the provider mounted at `mountPath`:
    /// parameters whose Notification is on become `4 VALUE CHANGE` material; others and unmapped paths are ignored.
    public func recordValueChanges(_ changes: [UPnPDMParameterChange], mountedAt mountPath: String) {
        recordValueChanges(changes.compactMap(\.providerPath), mountedAt: mountPath)
    }
}
