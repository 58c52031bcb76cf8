// The parameter RPCs of TR-069 §A.3.2 with their exact semantics. Every method throws `ProxierError` (or passes on
// a provider's error inside `.providerFailure`); the RPC layer turns it into a fault with `CWMPFault(converting:)`.
import CWMPClient

extension DataModel {
    // MARK: GetParameterNames

    /// GetParameterNames (§A.3.2.3). NextLevel false: the item itself and its whole subtree; true: its immediate
    /// children only (for the empty path, the root object). Writable of a table means AddObject is allowed,
    /// of an instance that DeleteObject is.
    public func getParameterNames(path: String, nextLevel: Bool) async throws(ProxierError) -> [ParameterInfoStruct] {
        var context = RequestContext()
        guard let target = try await resolveAll([path], allowWildcards: false, context: &context).first?.first else {
            throw ProxierError(.unknownPath, "\(path) names nothing")
        }
        switch target {
        case .parameter(let parameter):
            guard !nextLevel else {
                throw ProxierError(.invalidArguments, "NextLevel true with the parameter \(parameter.name)")
            }
            return [info(parameter)]
        case .object(let object):
            var result: [ParameterInfoStruct] = []
            if nextLevel {
                if object.node.kind == .table { try await listTables([object], context: &context) }
                for parameter in servedParameters(of: object) { result.append(info(parameter)) }
                for child in childObjects(of: object) { result.append(info(child)) }
            } else {
                try await listSubtreeTables([object], context: &context)
                walk(object, visitObject: { visited in
                    if visited.node.kind != .root { result.append(info(visited)) }
                }, visitParameter: { result.append(info($0)) })
            }
            return result
        }
    }

    func info(_ parameter: ParameterLocation) -> ParameterInfoStruct {
        ParameterInfoStruct(name: parameter.name, writable: parameter.schema.access != .readOnly)
    }

    func info(_ object: ObjectLocation) -> ParameterInfoStruct {
        ParameterInfoStruct(name: object.name, writable: object.node.isWritableTable)
    }

    // MARK: GetParameterValues

    /// GetParameterValues (§A.3.2.2): full and partial names, duplicates allowed, any unknown name fails the whole
    /// RPC (9005). Secured parameters read as the empty string.
    public func getParameterValues(_ names: [String]) async throws(ProxierError) -> [ParameterValueStruct] {
        var context = RequestContext()
        let targets = try await resolveAll(names, allowWildcards: configuration.instanceWildcards, context: &context)
        let parameters = try await self.parameters(of: targets.flatMap { $0 }, context: &context)
        let values = try await readValues(parameters, context: &context)
        return zip(parameters, values).map { parameter, value in
            ParameterValueStruct(name: parameter.name, value: value, type: parameter.schema.valueType)
        }
    }

    // MARK: SetParameterValues

    /// SetParameterValues (§A.3.2.1), all-or-nothing. Every parameter is checked first (name 9005, writable 9008,
    /// type 9006, value 9007) and all failures are reported together in one 9003 fault; the same parameter twice
    /// is 9003 too. Then each provider checks its values (`validateValues`, only when several providers are
    /// involved; one provider's `setValues` is all-or-nothing on its own) before any applies.
    ///
    /// If a provider fails while applying after every check passed, the values other providers already applied
    /// stay applied (remote devices offer no rollback); the engine's own state (aliases, ParameterKey) is left
    /// unchanged and the fault is returned.
    ///
    /// The ParameterKey is set only on success and only for the ACS; changes by others are recorded as value changes.
    public func setParameterValues(_ parameterList: [ParameterValueStruct], parameterKey: String,
                                   origin: ChangeOrigin = .acs) async throws(ProxierError) -> ApplyStatus {
        try Self.checkParameterKey(parameterKey)
        var seen: Set<String> = []
        for value in parameterList where !seen.insert(value.name).inserted {
            throw ProxierError(.invalidArguments, "\(value.name) appears more than once")
        }
        var faults: [SetParameterValuesFault] = []
        func fault(_ name: String, _ code: CWMPFault.Code, _ reason: String) {
            faults.append(SetParameterValuesFault(parameterName: name, faultCode: code, faultString: reason))
        }

        let paths = parameterList.map { value in Result { () throws(ProxierError) in try DataModelPath(parsing: value.name) } }
        var context = RequestContext()
        let parsed = paths.compactMap { try? $0.get() }
        var resolved = try await resolve(parsed, allowWildcards: false, context: &context).makeIterator()

        struct Change {
            var request: ParameterValueStruct
            var parameter: ParameterLocation
            var value: String
        }
        var changes: [Change] = []
        var resolvedNames: Set<String> = []
        var newAliases: [String: Set<String>] = [:]
        // Faults are listed in the order of the request.
        for (value, path) in zip(parameterList, paths) {
            if case .failure(let error) = path {
                fault(value.name, .invalidParameterName, error.reason)
                continue
            }
            guard let result = resolved.next() else { continue }
            guard case .success(let targets) = result, targets.count == 1, case .parameter(let parameter) = targets[0] else {
                if case .failure(let error) = result { fault(value.name, .invalidParameterName, error.reason) }
                else { fault(value.name, .invalidParameterName, "\(value.name) is not a parameter") }
                continue
            }
            // An alias and a number can name the same parameter: still the same parameter twice.
            guard resolvedNames.insert(parameter.name).inserted else {
                throw ProxierError(.invalidArguments, "\(parameter.name) appears more than once")
            }
            guard parameter.schema.access != .readOnly else {
                fault(value.name, .attemptToSetNonWritableParameter, "\(parameter.name) is read-only")
                continue
            }
            if origin == .subscriber, !accessList(named: parameter.name).contains("Subscriber") {
                fault(value.name, .attemptToSetNonWritableParameter, "\(parameter.name) is not writable by the subscriber")
                continue
            }
            let canonical: String
            do throws(ProxierError) {
                canonical = try parameter.schema.validate(value.value, declaredType: value.type)
            } catch {
                fault(value.name, error.code == .invalidType ? .invalidParameterType : .invalidParameterValue, error.reason)
                continue
            }
            if case .alias = source(of: parameter.schema, in: parameter.object) {
                let tableName = String(parameter.object.name.dropLast(String(parameter.object.instanceNumbers.last ?? 0).count + 1))
                let current = instanceState(of: parameter.object)
                let taken = state.tables[tableName]?.instances.contains { $0.alias == canonical && $0.number != current?.number } ?? false
                guard Self.isValidAlias(canonical), !taken, newAliases[tableName, default: []].insert(canonical).inserted else {
                    fault(value.name, .invalidParameterValue, "\(canonical.debugDescription) is not a valid, unique Alias")
                    continue
                }
            }
            changes.append(Change(request: value, parameter: parameter, value: canonical))
        }
        guard faults.isEmpty else {
            throw ProxierError(.invalidArguments, "SetParameterValues rejected", setParameterValuesFaults: faults)
        }

        var byMount: [String: (mount: Mount, changes: [Change])] = [:]
        for change in changes {
            if case .provider(let mount) = source(of: change.parameter.schema, in: change.parameter.object) {
                byMount[mount.path, default: (mount, [])].changes.append(change)
            }
        }
        let groups = byMount.values.sorted { $0.mount.path < $1.mount.path }
        func providerValues(_ group: (mount: Mount, changes: [Change])) -> [ProviderParameterValue] {
            group.changes.map {
                ProviderParameterValue(path: providerPath(of: $0.parameter, mount: group.mount), value: $0.value,
                                       type: $0.parameter.schema.valueType)
            }
        }
        func rethrow(_ error: any Error, _ group: (mount: Mount, changes: [Change])) -> ProxierError {
            guard let entries = (error as? ProviderSetValuesError)?.entries else {
                return providerError(error, "setting values under \(group.mount.path) failed")
            }
            let faults = entries.map { entry in
                SetParameterValuesFault(
                    parameterName: group.changes.indices.contains(entry.index) ? group.changes[entry.index].request.name : "",
                    faultCode: entry.faultCode, faultString: entry.reason)
            }
            return ProxierError(.invalidArguments, "SetParameterValues rejected", setParameterValuesFaults: faults)
        }
        if groups.count > 1 {
            var collected: [SetParameterValuesFault] = []
            for group in groups {
                do {
                    try await group.mount.provider.validateValues(providerValues(group))
                } catch {
                    let converted = rethrow(error, group)
                    guard converted.code == .invalidArguments else { throw converted }
                    collected += converted.setParameterValuesFaults
                }
            }
            guard collected.isEmpty else {
                throw ProxierError(.invalidArguments, "SetParameterValues rejected", setParameterValuesFaults: collected)
            }
        }
        var status = ApplyStatus.applied
        for group in groups {
            do {
                status = max(status, try await group.mount.provider.setValues(providerValues(group)))
            } catch {
                throw rethrow(error, group)
            }
        }

        for change in changes {
            if case .alias = source(of: change.parameter.schema, in: change.parameter.object) {
                setAlias(change.value, of: change.parameter.object)
            }
        }
        if origin == .acs {
            state.parameterKey = parameterKey
        } else {
            recordValueChanges(changes.map(\.parameter))
        }
        return status
    }

    /// cwmp-1-x.xsd gives ParameterKey as `string(32)`.
    static func checkParameterKey(_ key: String) throws(ProxierError) {
        guard key.count <= 32 else { throw ProxierError(.invalidArguments, "ParameterKey longer than 32 characters") }
    }

    func setAlias(_ alias: String, of instance: ObjectLocation) {
        guard let number = instance.instanceNumbers.last else { return }
        let tableName = String(instance.name.dropLast(String(number).count + 1))
        guard let index = state.tables[tableName]?.instances.firstIndex(where: { $0.number == number }) else { return }
        state.tables[tableName]?.instances[index].alias = alias
    }

    // MARK: AddObject and DeleteObject

    /// AddObject (§A.3.2.6) on a table the ACS may add to (otherwise 9005: the name is not such a table).
    /// With Alias-based addressing the name may end in `[alias].`: the new instance gets that Alias (an alias
    /// already in use names an existing instance, so 9005; an alias that is not a valid Alias value, 9007).
    /// Instance numbers grow per table and are never reused; `maxEntries` is enforced with 9004.
    public func addObject(_ objectName: String, parameterKey: String) async throws(ProxierError) -> (instanceNumber: UInt32, status: ApplyStatus) {
        try Self.checkParameterKey(parameterKey)
        var path = try DataModelPath(parsing: objectName)
        guard path.isPartial, !path.isRoot else {
            throw ProxierError(.unknownPath, "\(objectName) is not a table name (it ends with a dot)")
        }
        var requestedAlias: String? = nil
        if case .alias(let alias) = path.segments.last {
            guard configuration.aliasBasedAddressing else {
                throw ProxierError(.unknownPath, "Alias-based addressing is not enabled")
            }
            requestedAlias = alias
            path.segments.removeLast()
        }
        var context = RequestContext()
        guard case .object(let table)? = try await resolveAll([path.description], allowWildcards: false, context: &context).first?.first,
              table.node.kind == .table else {
            throw ProxierError(.unknownPath, "\(objectName) is not a table")
        }
        guard table.node.isWritableTable, let instanceNode = tree.node(atTemplate: table.node.template + "{i}."),
              let mount = mount(for: table.name) else {
            throw ProxierError(.unknownPath, "\(table.name) is not a table the ACS can add to")
        }
        try await listTables([table], context: &context)
        var tableState = state.tables[table.name] ?? TableState()
        if let requestedAlias {
            guard tableState.instance(alias: requestedAlias) == nil else {
                throw ProxierError(.unknownPath, "\(objectName) names an existing instance")
            }
            guard Self.isValidAlias(requestedAlias) else {
                throw ProxierError(.invalidValue, "\(requestedAlias.debugDescription) is not a valid Alias")
            }
        }
        if let maxEntries = instanceNode.schema?.maxEntries, tableState.instances.count >= maxEntries {
            throw ProxierError(.resourcesExceeded, "\(table.name) already has \(maxEntries) instances")
        }
        let number = tableState.nextInstanceNumber
        guard number < UInt32.max else {
            throw ProxierError(.resourcesExceeded, "\(table.name) has used every instance number")
        }
        let created: (key: String, status: ApplyStatus)
        do {
            created = try await mount.provider.addInstance(to: providerPath(of: table, mount: mount), instanceNumber: number)
        } catch {
            throw providerError(error, "adding an instance to \(table.name) failed")
        }
        // Re-read: the table may have been listed again while the provider worked.
        tableState = state.tables[table.name] ?? tableState
        tableState.nextInstanceNumber = max(tableState.nextInstanceNumber, number + 1)
        if tableState.instance(key: created.key) == nil {
            let hasAlias = instanceNode.parameter(named: "Alias") != nil
            let alias = hasAlias ? requestedAlias ?? Self.cpeAlias(number: number, in: tableState) : nil
            tableState.instances.append(InstanceState(number: number, key: created.key, alias: alias))
            tableState.instances.sort { $0.number < $1.number }
        }
        state.tables[table.name] = tableState
        state.parameterKey = parameterKey
        return (number, created.status)
    }

    /// DeleteObject (§A.3.2.7) of an instance (`….Interface.3.` or `….Interface.[wan].`) of a table the ACS may
    /// delete from; anything else is 9005. A table at its `minEntries` refuses with 9001. The number is not reused.
    public func deleteObject(_ objectName: String, parameterKey: String) async throws(ProxierError) -> ApplyStatus {
        try Self.checkParameterKey(parameterKey)
        var context = RequestContext()
        guard case .object(let instance)? = try await resolveAll([objectName], allowWildcards: false, context: &context).first?.first,
              instance.node.kind == .instance else {
            throw ProxierError(.unknownPath, "\(objectName) is not an instance")
        }
        guard instance.node.isWritableTable, let mount = mount(for: instance.name) else {
            throw ProxierError(.unknownPath, "\(instance.name) is not an instance the ACS can delete")
        }
        let tableName = String(instance.name.dropLast(String(instance.instanceNumbers.last ?? 0).count + 1))
        if let minEntries = instance.node.schema?.minEntries, let count = state.tables[tableName]?.instances.count, count <= minEntries {
            throw ProxierError(.requestDenied, "\(tableName) must keep at least \(minEntries) instances")
        }
        let status: ApplyStatus
        do {
            status = try await mount.provider.deleteInstance(providerPath(of: instance, mount: mount))
        } catch {
            throw providerError(error, "deleting \(instance.name) failed")
        }
        if let number = instance.instanceNumbers.last {
            state.tables[tableName]?.instances.removeAll { $0.number == number }
        }
        forgetSubtree(instance.name)
        state.parameterKey = parameterKey
        return status
    }

    // MARK: Attributes

    /// GetParameterAttributes (§A.3.2.5): partial names stand for every parameter below them.
    public func getParameterAttributes(_ names: [String]) async throws(ProxierError) -> [ParameterAttributeStruct] {
        var context = RequestContext()
        let targets = try await resolveAll(names, allowWildcards: false, context: &context)
        return try await parameters(of: targets.flatMap { $0 }, context: &context).map { parameter in
            ParameterAttributeStruct(name: parameter.name, notification: notification(of: parameter.schema, named: parameter.name),
                                     accessList: accessList(named: parameter.name))
        }
    }

    /// SetParameterAttributes (§A.3.2.4), all-or-nothing. Notification 0–2 (3–6 need UDP lightweight
    /// notification, Annex M, which this CPE does not do: 9003). Active notification is refused (9009) on
    /// `canDeny` and `willDeny` parameters, and anything but active on `forceEnabled` ones; a partial name leaves
    /// such parameters as they are instead, so that "notification off for everything below X" stays possible.
    /// AccessList entries are limited to `Subscriber` by cwmp-1-2.xsd and later; anything else is 9003.
    public func setParameterAttributes(_ list: [SetParameterAttributesStruct]) async throws(ProxierError) {
        var context = RequestContext()
        var updates: [(name: String, notification: NotificationValue?, accessList: [String]?)] = []
        for request in list {
            if request.notificationChange {
                guard (0...2).contains(request.notification.rawValue) else {
                    throw ProxierError(.invalidArguments, "Notification \(request.notification.rawValue) is not supported")
                }
            }
            if request.accessListChange, let unknown = request.accessList.first(where: { $0 != "Subscriber" }) {
                throw ProxierError(.invalidArguments, "AccessList entry \(unknown.debugDescription) is not defined")
            }
            let path = try DataModelPath(parsing: request.name)
            let targets = try await resolveAll([request.name], allowWildcards: false, context: &context).flatMap { $0 }
            for parameter in try await parameters(of: targets, context: &context) {
                var notification: NotificationValue? = nil
                if request.notificationChange {
                    let allowed = switch parameter.schema.activeNotify {
                    case .normal, .forceDefaultEnabled: true
                    case .canDeny, .willDeny: request.notification != .active
                    case .forceEnabled: request.notification == .active
                    }
                    if allowed {
                        notification = request.notification
                    } else if !path.isPartial {
                        throw ProxierError(.notificationRejected,
                                           "Notification \(request.notification.rawValue) refused for \(parameter.name)")
                    }
                }
                let accessList = request.accessListChange ? request.accessList : nil
                if notification != nil || accessList != nil { updates.append((parameter.name, notification, accessList)) }
            }
        }
        for update in updates {
            var stored = state.attributes[update.name] ?? StoredAttributes()
            if let notification = update.notification { stored.notification = notification }
            if let accessList = update.accessList { stored.accessList = accessList.isEmpty ? nil : accessList }
            state.attributes[update.name] = stored.isDefault ? nil : stored
        }
    }

    // MARK: Value changes

    /// Records that parameters changed outside the ACS's control (providers, the device, the subscriber).
    /// Only parameters whose Notification asks for it are kept; unknown names are ignored.
    public func recordValueChanges(_ names: [String]) {
        for name in names {
            guard let path = try? DataModelPath(parsing: name), !path.isPartial, path.isInstanceNumberForm,
                  let parameter = tree.parameter(atTemplate: path.template) else { continue }
            record(name, parameter)
        }
    }

    /// Records changes a provider reports in its own terms; instances the engine does not know are ignored.
    public func recordValueChanges(_ paths: [ProviderPath], mountedAt mountPath: String) {
        guard let mount = mounts.first(where: { $0.path == mountPath }) else { return }
        for path in paths {
            if let name = cwmpName(of: path, mount: mount) { recordValueChanges([name]) }
        }
    }

    /// Changed parameters to report since the last call, oldest first, with their Notification; clears the list.
    public func takeValueChanges() -> [ValueChange] {
        defer {
            valueChanges = []
            valueChangeNames = []
        }
        return valueChanges.compactMap { name in
            guard let path = try? DataModelPath(parsing: name), let parameter = tree.parameter(atTemplate: path.template) else {
                return nil
            }
            let notification = notification(of: parameter, named: name)
            return notification == .off ? nil : ValueChange(name: name, notification: notification)
        }
    }

    func recordValueChanges(_ parameters: [ParameterLocation]) {
        for parameter in parameters { record(parameter.name, parameter.schema) }
    }

    private func record(_ name: String, _ parameter: ParameterSchema) {
        guard notification(of: parameter, named: name) != .off, valueChangeNames.insert(name).inserted else { return }
        valueChanges.append(name)
        for observer in valueChangeObservers.values { observer.yield() }
    }

    /// A signal whenever a change is kept for reporting (`recordValueChanges`), however it came: a provider, the
    /// gateway, a local SetParameterValues. Signals coalesce (one pending at most): they only say "look", and the
    /// changes themselves come from `takeValueChanges`. The stream ends when its consumer stops iterating.
    public func valueChangeSignals() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        nextValueChangeObserver += 1
        let id = nextValueChangeObserver
        valueChangeObservers[id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeValueChangeObserver(id) }
        }
        return stream
    }

    private func removeValueChangeObserver(_ id: UInt64) {
        valueChangeObservers[id] = nil
    }

    /// The CWMP name of a provider path: numbers above the mount point are taken as they are, native keys below it
    /// are looked up in the instance tables.
    func cwmpName(of path: ProviderPath, mount: Mount) -> String? {
        var name = ""
        var keys = path.instanceKeys.makeIterator()
        var depth = 0
        for part in path.template.split(separator: ".", omittingEmptySubsequences: false) {
            if part == "{i}" {
                guard let key = keys.next() else { return nil }
                if depth < mount.instanceDepth {
                    name += key
                } else {
                    guard let instance = state.tables[name]?.instance(key: key) else { return nil }
                    name += String(instance.number)
                }
                depth += 1
            } else {
                name += part
            }
            name += "."
        }
        return String(name.dropLast())
    }
}
