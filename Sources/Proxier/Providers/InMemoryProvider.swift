// A provider that keeps values in memory: the gateway's static parts (DeviceInfo, ManagementServer) and tests.
// Instances are keyed by the instance number the engine proposes, so keys and CWMP numbers coincide.
import CWMPClient

public actor InMemoryProvider: DataModelProvider {
    private let tree: SchemaTree
    /// Values by `ProviderPath.description` (`Device.IP.Interface.{1}.Enable`).
    private var values: [String: String] = [:]
    /// Instance keys of each table, by the table's `ProviderPath.description`, in creation order.
    private var tables: [String: [String]] = [:]
    /// The Status `setValues` reports (`.appliedLater` imitates a device that applies at reboot).
    private var setValuesStatus: ApplyStatus = .applied

    /// Starts with `values` by name, instances written as numbers (`Device.IP.Interface.1.Enable`); every instance
    /// named (and every table leading to it) is created.
    public init(schema: SchemaTree, values initial: [String: String] = [:]) throws(ProxierError) {
        self.tree = schema
        var values: [String: String] = [:]
        var tables: [String: [String]] = [:]
        for (name, value) in initial {
            let path = try Self.providerPath(name)
            values[path.description] = value
            Self.createTables(along: path, in: &tables)
        }
        self.values = values
        self.tables = tables
    }

    /// `Device.IP.Interface.1.Enable` → template `Device.IP.Interface.{i}.Enable` with key `1`.
    public static func providerPath(_ name: String) throws(ProxierError) -> ProviderPath {
        let path = try DataModelPath(parsing: name)
        let keys = path.segments.compactMap { segment -> String? in
            if case .instance(let number) = segment { String(number) } else { nil }
        }
        guard path.isInstanceNumberForm else { throw ProxierError(.invalidPath, "\(name) must use instance numbers") }
        return ProviderPath(template: path.template, instanceKeys: keys)
    }

    private static func createTables(along path: ProviderPath, in tables: inout [String: [String]]) {
        var template = ""
        var keys: [String] = []
        let parts = path.template.split(separator: ".", omittingEmptySubsequences: false)
        var remaining = path.instanceKeys.makeIterator()
        for part in parts {
            if part == "{i}", let key = remaining.next() {
                let table = ProviderPath(template: template, instanceKeys: keys).description
                if !(tables[table]?.contains(key) ?? false) { tables[table, default: []].append(key) }
                keys.append(key)
            }
            template += part + "."
        }
    }

    public func setSetValuesStatus(_ status: ApplyStatus) { setValuesStatus = status }

    /// Changes a value as the device itself would (not through the engine).
    public func setNativeValue(_ value: String, at path: ProviderPath) { values[path.description] = value }

    /// The current value, for tests.
    public func nativeValue(at path: ProviderPath) -> String? { values[path.description] }

    /// Removes an instance as the device itself would.
    public func removeNativeInstance(_ instance: ProviderPath) {
        remove(instance)
    }

    // MARK: DataModelProvider

    public func instances(of tables: [ProviderPath]) async throws -> [[ProviderInstance]] {
        tables.map { table in
            (self.tables[table.description] ?? []).map { key in
                let instance = ProviderPath(template: table.template + "{i}.", instanceKeys: table.instanceKeys + [key])
                return ProviderInstance(key: key, alias: values[instance.description + "Alias"])
            }
        }
    }

    public func values(of parameters: [ProviderPath]) async throws -> [String] {
        var result: [String] = []
        result.reserveCapacity(parameters.count)
        for parameter in parameters {
            guard let value = values[parameter.description] else {
                throw ProxierError(.unknownPath, "\(parameter) has no value")
            }
            result.append(value)
        }
        return result
    }

    public func validateValues(_ values: [ProviderParameterValue]) async throws {
        let unknown = values.indices.filter { self.values[values[$0].path.description] == nil }
        guard unknown.isEmpty else {
            throw ProviderSetValuesError(entries: unknown.map {
                .init(index: $0, faultCode: .invalidParameterName, reason: "\(values[$0].path) does not exist")
            })
        }
    }

    public func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus {
        try await validateValues(values)
        for value in values { self.values[value.path.description] = value.value }
        return setValuesStatus
    }

    public func addInstance(to table: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus) {
        var key = String(instanceNumber)
        var existing = Set(tables[table.description] ?? [])
        while existing.contains(key) { key += "+" }
        existing.insert(key)
        tables[table.description, default: []].append(key)
        let instance = ProviderPath(template: table.template + "{i}.", instanceKeys: table.instanceKeys + [key])
        fillDefaults(of: instance)
        return (key, .applied)
    }

    /// A new instance gets every parameter of itself and of its single-instance sub-objects, at their defaults.
    private func fillDefaults(of object: ProviderPath) {
        guard let node = tree.node(atTemplate: object.template) else { return }
        for parameter in node.parameters {
            values[ProviderPath(template: object.template + parameter.name, instanceKeys: object.instanceKeys).description] =
                parameter.initialValue
        }
        for child in node.childObjectNames {
            let template = object.template + child + "."
            if tree.node(atTemplate: template)?.kind == .object {
                fillDefaults(of: ProviderPath(template: template, instanceKeys: object.instanceKeys))
            }
        }
    }

    public func deleteInstance(_ instance: ProviderPath) async throws -> ApplyStatus {
        guard let key = instance.instanceKeys.last else { throw ProxierError(.unknownPath, "\(instance) is not an instance") }
        let table = ProviderPath(template: String(instance.template.dropLast(4)), instanceKeys: instance.instanceKeys.dropLast())
        guard tables[table.description]?.contains(key) ?? false else {
            throw ProxierError(.unknownPath, "\(instance) does not exist")
        }
        remove(instance)
        return .applied
    }

    private func remove(_ instance: ProviderPath) {
        guard let key = instance.instanceKeys.last else { return }
        let table = ProviderPath(template: String(instance.template.dropLast(4)), instanceKeys: instance.instanceKeys.dropLast())
        tables[table.description]?.removeAll { $0 == key }
        let prefix = instance.description
        values = values.filter { !$0.key.hasPrefix(prefix) }
        tables = tables.filter { !$0.key.hasPrefix(prefix) }
    }
}
