// The data-model engine of one device (the gateway itself or one proxied device): it answers the parameter
// RPCs of TR-069 §A.3.2 over a schema, the providers mounted on it, and its persistent state.
//
// Overview: names are parsed (`DataModelPath`), walked down the `SchemaTree`, and instances looked up in
// `DataModelState`; tables are listed from their providers only when an RPC needs them (partial paths,
// unknown instance numbers, NumberOfEntries), once per RPC and batched per depth. Values then come from the
// providers in one call each. Some parameters belong to the engine, not to any provider: the ParameterKey,
// every table's Alias (the engine gives instances their aliases, so SNMP and UPnP devices get Alias-based
// addressing too) and the NumberOfEntries counters (so they always agree with the instances listed).
//
// Concurrency: an actor, so its state is safe; CWMP sessions are sequential per device, so RPCs are not
// interleaved in practice. Two RPCs overlapping at a provider `await` would each see the other's effects.
import CWMPClient

public actor DataModel {
    public struct Configuration: Sendable {
        /// Template path of the ParameterKey parameter.
        public var parameterKeyParameter: String
        /// Whether `[alias]` segments are accepted (`ManagementServer.AliasBasedAddressing`).
        public var aliasBasedAddressing: Bool
        /// Whether GetParameterValues accepts `*` (`ManagementServer.InstanceWildcardsSupported`).
        public var instanceWildcards: Bool

        public init(parameterKeyParameter: String = "Device.ManagementServer.ParameterKey",
                    aliasBasedAddressing: Bool = true, instanceWildcards: Bool = true) {
            self.parameterKeyParameter = parameterKeyParameter
            self.aliasBasedAddressing = aliasBasedAddressing
            self.instanceWildcards = instanceWildcards
        }
    }

    /// Who changes a value: changes by anyone but the ACS are reported to it as value changes.
    public enum ChangeOrigin: Sendable {
        case acs
        /// The subscriber (LAN side, web UI): may only write parameters whose AccessList has `Subscriber`.
        case subscriber
        /// The device itself.
        case cpe
    }

    /// A parameter whose value changed and whose Notification attribute asks for it to be reported.
    public struct ValueChange: Hashable, Sendable {
        public var name: String
        public var notification: NotificationValue
    }

    struct Mount {
        /// A partial path with instance numbers (`Device.`, `Device.X_Proxy.1.`).
        var path: String
        /// How many instance segments the mount path has: those keys reach the provider as CWMP numbers.
        var instanceDepth: Int
        var provider: any DataModelProvider
    }

    public let tree: SchemaTree
    public let configuration: Configuration
    var state: DataModelState
    /// Longest path first, so the first prefix match is the most specific mount.
    var mounts: [Mount] = []
    /// Names of changed parameters in the order they first changed (a set keeps it duplicate-free).
    var valueChanges: [String] = []
    var valueChangeNames: Set<String> = []
    /// Who hears that a change was recorded (`valueChangeSignals`): the agent, so that an active notification
    /// opens a session without anyone polling. Keyed for removal when the listener goes.
    var valueChangeObservers: [UInt64: AsyncStream<Void>.Continuation] = [:]
    var nextValueChangeObserver: UInt64 = 0

    public init(schema: SchemaTree, configuration: Configuration = Configuration(), state: DataModelState = DataModelState()) {
        self.tree = schema
        self.configuration = configuration
        self.state = state
    }

    /// Serves the subtree at `path` (a partial path such as `Device.` or `Device.X_Proxy.1.`) from `provider`.
    public func mount(_ provider: any DataModelProvider, at path: String) throws(ProxierError) {
        let parsed = try DataModelPath(parsing: path)
        guard parsed.isPartial, parsed.isInstanceNumberForm else {
            throw ProxierError(.invalidPath, "a mount point is a partial path with instance numbers")
        }
        guard tree.node(atTemplate: parsed.template) != nil else {
            throw ProxierError(.unknownPath, "\(path) is not an object of the schema")
        }
        let depth = parsed.segments.count { if case .instance = $0 { true } else { false } }
        mounts.removeAll { $0.path == path }
        mounts.append(Mount(path: path, instanceDepth: depth, provider: provider))
        mounts.sort { $0.path.count > $1.path.count }
    }

    /// The state to persist.
    public func exportState() -> DataModelState { state }

    /// Replaces the state, e.g. with one loaded at start-up.
    public func importState(_ state: DataModelState) { self.state = state }

    public var parameterKey: String { state.parameterKey }

    func mount(for name: String) -> Mount? { mounts.first { name.hasPrefix($0.path) } }
}

// MARK: - Locations

/// A concrete object: the root, an object, a table or an instance, with the instances that lead to it.
struct ObjectLocation {
    var node: SchemaNode
    /// The object's name as the ACS sees it, with instance numbers (`Device.IP.Interface.3.`); `""` for the root.
    var name: String
    var instanceNumbers: [UInt32]
    var instanceKeys: [String]

    func child(named childName: String, node: SchemaNode) -> ObjectLocation {
        ObjectLocation(node: node, name: name + childName + ".", instanceNumbers: instanceNumbers, instanceKeys: instanceKeys)
    }

    func instance(_ instance: InstanceState, node: SchemaNode) -> ObjectLocation {
        ObjectLocation(node: node, name: name + String(instance.number) + ".", instanceNumbers: instanceNumbers + [instance.number],
                       instanceKeys: instanceKeys + [instance.key])
    }
}

/// A concrete parameter.
struct ParameterLocation {
    var object: ObjectLocation
    var schema: ParameterSchema
    var name: String { object.name + schema.name }
    var template: String { object.node.template + schema.name }
}

/// What a name resolves to.
enum ResolvedTarget {
    case object(ObjectLocation)
    case parameter(ParameterLocation)
}

/// Where a parameter's value lives.
enum ParameterSource {
    case parameterKey
    /// The Alias of the instance the parameter belongs to.
    case alias
    /// The NumberOfEntries counter of the table with this name.
    case numberOfEntries(table: String)
    case provider(DataModel.Mount)
}

/// What one RPC has already asked of providers, so that each table is listed at most once per RPC.
struct RequestContext {
    var listedTables: Set<String> = []
}

extension DataModel {
    var rootLocation: ObjectLocation { ObjectLocation(node: tree.root, name: "", instanceNumbers: [], instanceKeys: []) }

    func source(of parameter: ParameterSchema, in object: ObjectLocation) -> ParameterSource? {
        let template = object.node.template + parameter.name
        if template == configuration.parameterKeyParameter { return .parameterKey }
        if object.node.kind == .instance, parameter.name == "Alias" { return .alias }
        if let tableTemplate = tree.numberOfEntriesTables[template], tableTemplate.hasPrefix(object.node.template) {
            return .numberOfEntries(table: object.name + tableTemplate.dropFirst(object.node.template.count))
        }
        guard let mount = mount(for: object.name + parameter.name), mount.provider.servesParameter(template: template) else {
            return nil
        }
        return .provider(mount)
    }

    /// Whether the device has this object: a provider serves it, or it leads to a mount point. Objects of the
    /// schema that nothing serves are not part of the device (9005), so a provider mounted on a small subtree does
    /// not make the whole schema appear.
    func isServed(object name: String) -> Bool {
        mounts.contains { name.hasPrefix($0.path) || $0.path.hasPrefix(name) }
    }

    /// The parameters of an object that the device has: those some provider (or the engine) serves.
    func servedParameters(of object: ObjectLocation) -> [ParameterLocation] {
        object.node.parameters.compactMap { parameter in
            source(of: parameter, in: object) == nil ? nil : ParameterLocation(object: object, schema: parameter)
        }
    }

    func providerPath(template: String, numbers: [UInt32], keys: [String], mount: Mount) -> ProviderPath {
        var providerKeys = keys
        for index in 0..<min(mount.instanceDepth, numbers.count) { providerKeys[index] = String(numbers[index]) }
        return ProviderPath(template: template, instanceKeys: providerKeys)
    }

    func providerPath(of parameter: ParameterLocation, mount: Mount) -> ProviderPath {
        providerPath(template: parameter.template, numbers: parameter.object.instanceNumbers,
                     keys: parameter.object.instanceKeys, mount: mount)
    }

    func providerPath(of object: ObjectLocation, mount: Mount) -> ProviderPath {
        providerPath(template: object.node.template, numbers: object.instanceNumbers, keys: object.instanceKeys, mount: mount)
    }

    /// Wraps anything a provider throws, so it converts to its own fault (or 9002) in one place.
    func providerError(_ error: any Error, _ what: String) -> ProxierError {
        if let error = error as? ProxierError { return error }
        return ProxierError(.providerFailure, what, underlying: error)
    }

    // MARK: Instance lists

    /// Lists tables from their providers (one call per provider) and brings the instance numbering up to date.
    func listTables(_ tables: [ObjectLocation], context: inout RequestContext) async throws(ProxierError) {
        var byMount: [String: (mount: Mount, tables: [ObjectLocation])] = [:]
        for table in tables where !context.listedTables.contains(table.name) {
            context.listedTables.insert(table.name)
            guard let mount = mount(for: table.name) else {
                reconcile(table, with: [])
                continue
            }
            byMount[mount.path, default: (mount, [])].tables.append(table)
        }
        for (mount, group) in byMount.values.sorted(by: { $0.mount.path < $1.mount.path }) {
            let paths = group.map { providerPath(of: $0, mount: mount) }
            let lists: [[ProviderInstance]]
            do {
                lists = try await mount.provider.instances(of: paths)
            } catch {
                throw providerError(error, "listing instances under \(mount.path) failed")
            }
            guard lists.count == group.count else {
                throw ProxierError(.providerFailure, "provider at \(mount.path) answered \(lists.count) of \(group.count) tables")
            }
            for (table, listed) in zip(group, lists) { reconcile(table, with: listed) }
        }
    }

    /// Matches a provider's instance list with the known instances: known keys keep their numbers, new keys get
    /// new numbers (a decimal key is adopted as the number when that number was never used), vanished instances
    /// are forgotten with everything below them.
    func reconcile(_ table: ObjectLocation, with listed: [ProviderInstance]) {
        var tableState = state.tables[table.name] ?? TableState()
        let listedKeys = Set(listed.map(\.key))
        for gone in tableState.instances where !listedKeys.contains(gone.key) {
            forgetSubtree(table.name + String(gone.number) + ".")
        }
        tableState.instances.removeAll { !listedKeys.contains($0.key) }
        var known = Set(tableState.instances.map(\.key))
        let hasAlias = table.node.schema?.parameters.contains { $0.name == "Alias" } ?? false
        let fresh = listed.filter { !known.contains($0.key) }.sorted { lhs, rhs in
            switch (UInt32(lhs.key), UInt32(rhs.key)) {
            case let (l?, r?): l < r
            case (_?, nil): true
            case (nil, _?): false
            case (nil, nil): lhs.key < rhs.key
            }
        }
        for instance in fresh {
            guard known.insert(instance.key).inserted else { continue }
            var number = tableState.nextInstanceNumber
            if let adopted = UInt32(instance.key), adopted >= number, String(adopted) == instance.key { number = adopted }
            // Numbers are exhausted: the instance cannot be shown rather than reuse a number.
            guard number != 0, number < UInt32.max else { continue }
            tableState.nextInstanceNumber = number + 1
            var alias: String? = nil
            if hasAlias {
                if let proposed = instance.alias, Self.isValidAlias(proposed), tableState.instance(alias: proposed) == nil {
                    alias = proposed
                } else {
                    alias = Self.cpeAlias(number: number, in: tableState)
                }
            }
            tableState.instances.append(InstanceState(number: number, key: instance.key, alias: alias))
        }
        tableState.instances.sort { $0.number < $1.number }
        state.tables[table.name] = tableState
    }

    /// Drops instance state, attributes and pending changes below an instance that no longer exists.
    /// Table counters below it go too: the instance's own number is never reused, so its sub-tables cannot return.
    func forgetSubtree(_ prefix: String) {
        state.tables = state.tables.filter { !$0.key.hasPrefix(prefix) }
        state.attributes = state.attributes.filter { !$0.key.hasPrefix(prefix) }
        if valueChanges.contains(where: { $0.hasPrefix(prefix) }) {
            valueChanges.removeAll { $0.hasPrefix(prefix) }
            valueChangeNames = Set(valueChanges)
        }
    }

    /// TR-181 `_AliasCWMP`: not empty, starts with a letter, at most 64 characters.
    static func isValidAlias(_ alias: String) -> Bool {
        guard let first = alias.unicodeScalars.first, alias.unicodeScalars.count <= DataModelPath.aliasMaximumLength else { return false }
        guard first.properties.isAlphabetic else { return false }
        return !alias.contains("[") && !alias.contains("]") && !alias.contains(".")
    }

    /// An alias the CPE assigns: `cpe-` prefixed (TR-181), unique in the table.
    static func cpeAlias(number: UInt32, in table: TableState) -> String {
        var alias = "cpe-\(number)"
        var suffix = 1
        while table.instance(alias: alias) != nil {
            alias = "cpe-\(number)-\(suffix)"
            suffix += 1
        }
        return alias
    }

    // MARK: Resolving names

    /// Resolves names to objects and parameters, batching the table lists all names need at each depth.
    /// Each name gets its own result, so SetParameterValues can report per-parameter faults.
    func resolve(_ paths: [DataModelPath], allowWildcards: Bool,
                 context: inout RequestContext) async throws(ProxierError) -> [Result<[ResolvedTarget], ProxierError>] {
        struct Cursor {
            var index: Int
            var location: ObjectLocation
            var next: Int
        }
        var results: [Result<[ResolvedTarget], ProxierError>] = Array(repeating: .success([]), count: paths.count)
        var cursors = paths.indices.map { Cursor(index: $0, location: rootLocation, next: 0) }
        while !cursors.isEmpty {
            var waiting: [Cursor] = []
            var toList: [ObjectLocation] = []
            cursorLoop: for var cursor in cursors {
                let path = paths[cursor.index]
                func fail(_ reason: String) {
                    results[cursor.index] = .failure(ProxierError(.unknownPath, "\(path): \(reason)"))
                }
                if case .failure = results[cursor.index] { continue }
                while cursor.next < path.segments.count {
                    let segment = path.segments[cursor.next]
                    let isLast = cursor.next == path.segments.count - 1
                    let location = cursor.location
                    switch location.node.kind {
                    case .root, .object, .instance:
                        guard case .name(let name) = segment else {
                            fail("\(location.name.isEmpty ? "the root" : location.name) is not a table")
                            continue cursorLoop
                        }
                        if location.node.childObjectNames.contains(name), isServed(object: location.name + name + ".") {
                            let template = location.node.template + name + "."
                            guard let child = tree.node(atTemplate: template), !(isLast && !path.isPartial) else {
                                fail("\(name) is an object; its name ends with a dot")
                                continue cursorLoop
                            }
                            cursor.location = location.child(named: name, node: child)
                        } else if let parameter = location.node.parameter(named: name), isLast, !path.isPartial,
                                  source(of: parameter, in: location) != nil {
                            if case .success(let found) = results[cursor.index] {
                                results[cursor.index] = .success(found + [.parameter(ParameterLocation(object: location, schema: parameter))])
                            }
                            continue cursorLoop
                        } else {
                            fail("no such object or parameter \(name)")
                            continue cursorLoop
                        }
                    case .table:
                        guard let instanceNode = tree.node(atTemplate: location.node.template + "{i}.") else {
                            fail("table without instances")
                            continue cursorLoop
                        }
                        let listed = context.listedTables.contains(location.name)
                        let table = state.tables[location.name] ?? TableState()
                        let found: InstanceState?
                        switch segment {
                        case .name:
                            fail("\(location.name) is a table; an instance number must follow")
                            continue cursorLoop
                        case .instance(let number):
                            found = table.instance(number: number)
                        case .alias(let alias):
                            guard configuration.aliasBasedAddressing else {
                                fail("Alias-based addressing is not enabled")
                                continue cursorLoop
                            }
                            found = table.instance(alias: alias)
                        case .instanceWildcard:
                            guard allowWildcards else {
                                fail("instance wildcards are not allowed here")
                                continue cursorLoop
                            }
                            guard listed else {
                                toList.append(location)
                                waiting.append(cursor)
                                continue cursorLoop
                            }
                            for instance in table.instances {
                                waiting.append(Cursor(index: cursor.index, location: location.instance(instance, node: instanceNode),
                                                      next: cursor.next + 1))
                            }
                            continue cursorLoop
                        }
                        if let found {
                            cursor.location = location.instance(found, node: instanceNode)
                        } else if !listed {
                            // The instance may be new on the provider's side: list the table, then look again.
                            toList.append(location)
                            waiting.append(cursor)
                            continue cursorLoop
                        } else {
                            fail("no such instance")
                            continue cursorLoop
                        }
                    }
                    cursor.next += 1
                }
                guard path.isPartial else {
                    fail("an object's name ends with a dot")
                    continue cursorLoop
                }
                if case .success(let found) = results[cursor.index] {
                    results[cursor.index] = .success(found + [.object(cursor.location)])
                }
            }
            if !toList.isEmpty { try await listTables(toList, context: &context) }
            cursors = waiting
        }
        return results
    }

    /// Resolves names that must all exist (GetParameterValues, GetParameterNames, attributes): the first
    /// unknown name fails the whole RPC with 9005.
    func resolveAll(_ names: [String], allowWildcards: Bool,
                    context: inout RequestContext) async throws(ProxierError) -> [[ResolvedTarget]] {
        var paths: [DataModelPath] = []
        for name in names { paths.append(try DataModelPath(parsing: name)) }
        var targets: [[ResolvedTarget]] = []
        for result in try await resolve(paths, allowWildcards: allowWildcards, context: &context) {
            targets.append(try result.get())
        }
        return targets
    }

    // MARK: Subtrees

    /// Lists every table below the given objects, depth by depth (one batch of provider calls per depth).
    func listSubtreeTables(_ objects: [ObjectLocation], context: inout RequestContext) async throws(ProxierError) {
        var frontier = objects
        while !frontier.isEmpty {
            let tables = frontier.filter { $0.node.kind == .table }
            try await listTables(tables, context: &context)
            frontier = frontier.flatMap { childObjects(of: $0) }
        }
    }

    /// The child objects of an object, from the schema and (for tables) the known instances.
    func childObjects(of object: ObjectLocation) -> [ObjectLocation] {
        switch object.node.kind {
        case .table:
            guard let instanceNode = tree.node(atTemplate: object.node.template + "{i}.") else { return [] }
            return (state.tables[object.name]?.instances ?? []).map { object.instance($0, node: instanceNode) }
        case .root, .object, .instance:
            return object.node.childObjectNames.compactMap { name in
                guard isServed(object: object.name + name + "."), let node = tree.node(atTemplate: object.node.template + name + ".") else {
                    return nil
                }
                return object.child(named: name, node: node)
            }
        }
    }

    /// Walks a subtree depth-first (an object, its parameters, then its child objects), after `listSubtreeTables`.
    func walk(_ object: ObjectLocation, visitObject: (ObjectLocation) -> Void, visitParameter: (ParameterLocation) -> Void) {
        visitObject(object)
        for parameter in servedParameters(of: object) { visitParameter(parameter) }
        for child in childObjects(of: object) { walk(child, visitObject: visitObject, visitParameter: visitParameter) }
    }

    /// Every parameter the targets name: parameters themselves, and all parameters below objects.
    func parameters(of targets: [ResolvedTarget], context: inout RequestContext) async throws(ProxierError) -> [ParameterLocation] {
        let objects = targets.compactMap { if case .object(let object) = $0 { object } else { nil } }
        try await listSubtreeTables(objects, context: &context)
        var parameters: [ParameterLocation] = []
        for target in targets {
            switch target {
            case .parameter(let parameter): parameters.append(parameter)
            case .object(let object): walk(object, visitObject: { _ in }, visitParameter: { parameters.append($0) })
            }
        }
        return parameters
    }

    // MARK: Reading

    /// Reads values, one provider call per provider; the engine's own parameters are answered from state.
    func readValues(_ parameters: [ParameterLocation], context: inout RequestContext) async throws(ProxierError) -> [String] {
        var values = [String](repeating: "", count: parameters.count)
        var counted: [ObjectLocation] = []
        var byMount: [String: (mount: Mount, indices: [Int])] = [:]
        for (index, parameter) in parameters.enumerated() where !parameter.schema.isSecured {
            switch source(of: parameter.schema, in: parameter.object) {
            case .numberOfEntries(let table):
                let template = tree.numberOfEntriesTables[parameter.template] ?? ""
                if let node = tree.node(atTemplate: template) {
                    counted.append(ObjectLocation(node: node, name: table, instanceNumbers: parameter.object.instanceNumbers,
                                                  instanceKeys: parameter.object.instanceKeys))
                }
            case .provider(let mount): byMount[mount.path, default: (mount, [])].indices.append(index)
            case .parameterKey, .alias, nil: break
            }
        }
        try await listTables(counted, context: &context)
        for (mount, indices) in byMount.values.sorted(by: { $0.mount.path < $1.mount.path }) {
            // The same parameter named twice is read once.
            var unique: [String: Int] = [:]
            var paths: [ProviderPath] = []
            for index in indices where unique[parameters[index].name] == nil {
                unique[parameters[index].name] = paths.count
                paths.append(providerPath(of: parameters[index], mount: mount))
            }
            let answers: [String]
            do {
                answers = try await mount.provider.values(of: paths)
            } catch {
                throw providerError(error, "reading values under \(mount.path) failed")
            }
            guard answers.count == paths.count else {
                throw ProxierError(.providerFailure, "provider at \(mount.path) answered \(answers.count) of \(paths.count) values")
            }
            for index in indices { values[index] = answers[unique[parameters[index].name]!] }
        }
        for (index, parameter) in parameters.enumerated() where !parameter.schema.isSecured {
            switch source(of: parameter.schema, in: parameter.object) {
            case .parameterKey: values[index] = state.parameterKey
            case .alias: values[index] = instanceState(of: parameter.object)?.alias ?? ""
            case .numberOfEntries(let table): values[index] = String(state.tables[table]?.instances.count ?? 0)
            case .provider: values[index] = parameter.schema.canonicalForOutput(values[index])
            case nil: break
            }
        }
        return values
    }

    /// The state of the instance an instance location names.
    func instanceState(of object: ObjectLocation) -> InstanceState? {
        guard object.node.kind == .instance, let number = object.instanceNumbers.last else { return nil }
        let tableName = String(object.name.dropLast(String(number).count + 1))
        return state.tables[tableName]?.instance(number: number)
    }

    // MARK: Attributes

    public func notification(of parameter: ParameterSchema, named name: String) -> NotificationValue {
        if parameter.activeNotify == .forceEnabled { return .active }
        if let stored = state.attributes[name]?.notification { return stored }
        return parameter.activeNotify == .forceDefaultEnabled ? .active : .off
    }

    func accessList(named name: String) -> [String] { state.attributes[name]?.accessList ?? [] }
}
