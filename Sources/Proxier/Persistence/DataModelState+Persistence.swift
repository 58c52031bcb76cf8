// A data model's persistent state (`DataModelState`) ⇄ the agent store: how it is restored from an `AgentSnapshot`
// at start, and which `AgentChange`s record the difference between two states. The agent writes those changes in
// one `apply` per RPC (together with the ManagementServer values the RPC set), so an RPC's instance numbers,
// aliases, attributes and ParameterKey become durable together, before its response is sent.
//
// Persisted per agent (schema in AgentStoreSchema.swift):
// * ParameterKey (`agents.parameter_key`);
// * attributes that differ from the defaults (`parameter_attributes`);
// * per table, by its path with the parent's instance numbers (`Device.IP.Interface.3.IPv4Address.`):
//   - the next instance number (`instance_counters`), which never decreases, so no number is reused, not after
//     a DeleteObject, not after a restart, not when a provider renumbers its rows;
//   - provider key → instance number (`instance_keys`), for the instances known now;
//   - the Alias of each instance (`instance_aliases`), set by the ACS or proposed by the provider or the engine.
// At start the engine gets back exactly that numbering: the provider's next listing keeps the numbers of the keys
// it still lists, forgets the others (their numbers stay used) and gives new keys fresh numbers.
import CWMPClient

extension DataModelState {
    /// Lays what `snapshot` holds over this state: ParameterKey, attributes, and every table the store knows.
    /// A stored table replaces the in-memory one (its numbers are the ones the ACS has seen); its counter is
    /// never lowered.
    public mutating func restore(from snapshot: AgentSnapshot) {
        parameterKey = snapshot.parameterKey
        for (path, attribute) in snapshot.attributes {
            attributes[path] = StoredAttributes(notification: NotificationValue(rawValue: attribute.notification),
                                                accessList: attribute.accessList.isEmpty ? nil : attribute.accessList)
        }
        var aliases: [String: [UInt32: String]] = [:]
        for alias in snapshot.aliases { aliases[alias.table, default: [:]][alias.instance] = alias.alias }
        var restored: [String: TableState] = [:]
        for mapping in snapshot.instanceKeys {
            restored[mapping.table, default: TableState()].instances.append(
                InstanceState(number: mapping.instance, key: mapping.key, alias: aliases[mapping.table]?[mapping.instance]))
        }
        for (table, next) in snapshot.instanceCounters {
            restored[table, default: TableState()].nextInstanceNumber = next
        }
        for (table, var tableState) in restored {
            tableState.instances.sort { $0.number < $1.number }
            // A counter below a known number cannot come from this code (both are written in one transaction), but
            // a number must never be handed out twice, whatever the database says.
            let highest = tableState.instances.last.map { $0.number == UInt32.max ? $0.number : $0.number + 1 } ?? 1
            tableState.nextInstanceNumber = max(tableState.nextInstanceNumber, highest,
                                                tables[table]?.nextInstanceNumber ?? 1)
            tables[table] = tableState
        }
    }

    /// The store changes that turn `saved` (what the store holds) into this state, in an order the store's
    /// constraints accept within one transaction: removals before additions, so that an alias or a key that moves
    /// between instances is free before it is taken.
    public func storeChanges(since saved: DataModelState) -> [AgentChange] {
        var removals: [AgentChange] = []
        var additions: [AgentChange] = []
        if parameterKey != saved.parameterKey { additions.append(.setParameterKey(parameterKey)) }

        for (path, stored) in attributes.sorted(by: { $0.key < $1.key }) where saved.attributes[path] != stored {
            additions.append(.setAttribute(path: path, ParameterAttribute(notification: stored.notification?.rawValue ?? 0,
                                                                          accessList: stored.accessList ?? [])))
        }
        for path in saved.attributes.keys.sorted() where attributes[path] == nil {
            removals.append(.removeAttribute(path: path))
        }

        for table in Set(tables.keys).union(saved.tables.keys).sorted() {
            let old = saved.tables[table] ?? TableState()
            let new = tables[table] ?? TableState()
            guard old != new else { continue }
            let oldByNumber = Dictionary(old.instances.map { ($0.number, $0) }, uniquingKeysWith: { first, _ in first })
            let newByNumber = Dictionary(new.instances.map { ($0.number, $0) }, uniquingKeysWith: { first, _ in first })
            for instance in old.instances where newByNumber[instance.number] == nil {
                // Also drops the keys, aliases and counters of the tables below it.
                removals.append(.removeInstance(table: table, instance: instance.number))
            }
            for instance in new.instances {
                let before = oldByNumber[instance.number]
                if before?.key != instance.key {
                    additions.append(.setInstanceKey(InstanceKey(table: table, instance: instance.number, key: instance.key)))
                }
                if let alias = instance.alias {
                    if before?.alias != alias {
                        // The old alias goes first: another instance may be taking it over in this batch.
                        if before?.alias != nil { removals.append(.removeAlias(table: table, instance: instance.number)) }
                        additions.append(.setAlias(InstanceAlias(table: table, instance: instance.number, alias: alias)))
                    }
                } else if before?.alias != nil {
                    removals.append(.removeAlias(table: table, instance: instance.number))
                }
            }
            if new.nextInstanceNumber != old.nextInstanceNumber, new.nextInstanceNumber > 1 {
                additions.append(.raiseInstanceCounter(table: table, next: new.nextInstanceNumber))
            }
        }
        return removals + additions
    }
}
