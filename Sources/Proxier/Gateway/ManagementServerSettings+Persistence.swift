// What a CPE keeps of `Device.ManagementServer.` across a restart: the values the ACS set. They are stored in the
// agent state store as `StoredParameterValue`s of the gateway agent, keyed by their TR-181 names
// (`Device.ManagementServer.PeriodicInformInterval`, `Device.ManagementServer.InformParameter.3.Enable`), and laid
// over the configuration's settings (the factory defaults) at start.
//
// Who writes: the agent that owns the provider (`CWMPAgent`). The provider keeps every committed change until the
// agent reports it written (`ManagementServerProvider.unpersistedChanges`); the agent writes an ACS change in the
// same transaction as the rest of its RPC (ParameterKey, instance numbers), before the RPC's response is sent, and
// a local change when it is told about it. `ManagementServerSettingsPersister` below does the same for a provider
// that no agent owns; the daemon does not use it (two writers could store a local and an ACS change of one
// parameter in the wrong order).
//
// Only ACS changes are stored. A local change (configuration reload, DHCP) forgets the stored values of the
// parameters it changed, so the value that was in effect before a restart is the one in effect after it.
// Passwords are stored as they are (the device must know them); `StoredParameterValue.description` redacts them and
// nothing here logs a value.
import Logging

extension ManagementServerSettings {
    /// Where the settings' stored values live: below this prefix.
    public static let storedValuePrefix = "Device.ManagementServer."
    /// The keys of the InformParameter rows, comma-separated in order: present once the ACS changed the table, so
    /// that an emptied table is restored empty.
    public static let storedInformParameterKeysPath = "Device.ManagementServer.X_CWMPPROXY_InformParameterKeys"

    /// Whether `path` names a stored value of the settings (and not another stored value of the agent).
    static func isSettingsPath(_ path: String) -> Bool {
        guard path.hasPrefix(storedValuePrefix) else { return false }
        let name = path.dropFirst(storedValuePrefix.count)
        return fields[String(name)] != nil || name.hasPrefix("InformParameter.") || path == storedInformParameterKeysPath
    }

    static func storedPath(informParameterKey key: String, field: String) -> String {
        "\(storedValuePrefix)InformParameter.\(key).\(field)"
    }

    /// Every ACS-writable value of the settings as stored values, by TR-181 parameter name; the InformParameter
    /// table as its rows' values plus the list of row keys.
    public var storedParameterValues: [String: StoredParameterValue] {
        var values: [String: StoredParameterValue] = [:]
        for (name, field) in Self.fields {
            values[Self.storedValuePrefix + name] = StoredParameterValue(value: field.get(self), type: field.type)
        }
        values.merge(storedInformParameterValues) { _, new in new }
        return values
    }

    private var storedInformParameterValues: [String: StoredParameterValue] {
        var values: [String: StoredParameterValue] = [
            Self.storedInformParameterKeysPath: StoredParameterValue(value: informParameters.map(\.key).joined(separator: ",")),
        ]
        for row in informParameters {
            values[Self.storedPath(informParameterKey: row.key, field: "Enable")] =
                StoredParameterValue(value: String(row.enable), type: "boolean")
            values[Self.storedPath(informParameterKey: row.key, field: "ParameterName")] =
                StoredParameterValue(value: row.parameterName)
            values[Self.storedPath(informParameterKey: row.key, field: "EventList")] =
                StoredParameterValue(value: row.eventList.joined(separator: ","))
        }
        return values
    }

    /// These settings with the stored values laid over them. A stored value the settings refuse (written by an
    /// older version, or a rule that became stricter) is skipped and named in `ignored`; if the result as a whole
    /// is invalid, the stored InformParameter table is dropped, and if it still is, nothing is restored.
    public func restoring(_ stored: [String: StoredParameterValue]) -> (settings: ManagementServerSettings, ignored: [String]) {
        var result = self
        var ignored: [String] = []
        for (name, field) in Self.fields.sorted(by: { $0.key < $1.key }) {
            guard let value = stored[Self.storedValuePrefix + name] else { continue }
            if field.set(&result, value.value) != nil { ignored.append(Self.storedValuePrefix + name) }
        }
        let withoutRows = result
        if let keys = stored[Self.storedInformParameterKeysPath] {
            var rows: [InformParameter] = []
            let rowKeys = keys.value.isEmpty ? [] : keys.value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            for key in rowKeys {
                var row = InformParameter(key: key)
                for name in Self.informParameterFields {
                    let path = Self.storedPath(informParameterKey: key, field: name)
                    guard let value = stored[path] else { continue }
                    if Self.setInformParameter(name, of: &row, to: value.value) != nil { ignored.append(path) }
                }
                rows.append(row)
            }
            result.informParameters = rows
        }
        if (try? result.validate()) != nil { return (result, ignored) }
        if (try? withoutRows.validate()) != nil { return (withoutRows, ignored + [Self.storedInformParameterKeysPath]) }
        return (self, stored.keys.filter(Self.isSettingsPath).sorted())
    }

    /// The store changes that record `change`: for an ACS change, the new values of what changed (the whole
    /// InformParameter table when a row changed); for a local change, the removal of the stored values of what
    /// changed, so that they are not restored over it.
    public static func storeChanges(for change: ManagementServerSettingsChange) -> [AgentChange] {
        let previous = change.previous.storedParameterValues
        let current = change.current.storedParameterValues
        var changes: [AgentChange] = []
        switch change.origin {
        case .acs:
            for (path, value) in current.sorted(by: { $0.key < $1.key }) where previous[path] != value {
                changes.append(.setValue(path: path, value))
            }
            for path in previous.keys.sorted() where current[path] == nil {
                changes.append(.removeValue(path: path))
            }
        case .local, .factoryReset:
            let paths = Set(previous.keys).union(current.keys)
            for path in paths.sorted() where previous[path] != current[path] {
                changes.append(.removeValue(path: path))
            }
            // A table the gateway changed is not the ACS's any more: forget all of it.
            if change.informParametersChanged {
                let rows = Set(previous.keys).union(current.keys).filter {
                    $0.hasPrefix(storedValuePrefix + "InformParameter.") || $0 == storedInformParameterKeysPath
                }
                for path in rows.sorted() where !changes.contains(.removeValue(path: path)) {
                    changes.append(.removeValue(path: path))
                }
            }
        }
        return changes
    }
}

/// Writes every change of a ManagementServer provider that no agent owns to the store (one `apply` per change), so
/// the values the ACS set are restored at the next start (`ManagementServerSettings.restoring`). An agent's own
/// provider is written by the agent, with each RPC; do not use both on one provider.
///
/// The subscription is taken when the persister is made: make it before the ACS can reach the gateway, then
/// `run()` it (or feed `persist(_:)` from `changes`).
public struct ManagementServerSettingsPersister: Sendable {
    public let changes: AsyncStream<ManagementServerSettingsChange>
    let provider: ManagementServerProvider
    let store: AgentStore
    let agentID: String
    let logger: Logger

    public init(provider: ManagementServerProvider, store: AgentStore, agentID: String,
                logger: Logger = Logger(label: "cwmp-proxy.settings")) {
        self.changes = provider.changes()
        self.provider = provider
        self.store = store
        self.agentID = agentID
        self.logger = logger
    }

    /// Persists every change until the stream ends or the task is cancelled.
    public func run() async {
        for await change in changes {
            await persist(change)
        }
    }

    /// Records one change; a failure is logged (names only, never values) and the settings stay in effect.
    public func persist(_ change: ManagementServerSettingsChange) async {
        let storeChanges = ManagementServerSettings.storeChanges(for: change)
        guard !storeChanges.isEmpty else {
            await provider.acknowledgePersisted(1)
            return
        }
        // In a task of its own: a cancelled persister (shutdown) still delivers what was published, and the store
        // refuses work in a cancelled task.
        let store = store, agentID = agentID
        let written = await Task { () async -> Result<AppliedChanges, ProxierError> in
            do throws(ProxierError) {
                return .success(try await store.apply(storeChanges, to: agentID))
            } catch {
                return .failure(error)
            }
        }.value
        switch written {
        case .success:
            // No agent drains this provider's journal (`unpersistedChanges`): one entry per change written keeps
            // it from growing.
            await provider.acknowledgePersisted(1)
        case .failure(let error):
            logger.warning("cwmp.settings.not-persisted", metadata: [
                "error": "\(error)", "cwmp.settings.changed": .string(change.changedParameters.joined(separator: ",")),
            ])
        }
    }
}
