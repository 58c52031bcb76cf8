// The schema as a tree the engine can walk segment by segment. `DataModelSchema` lists objects by template path;
// here each object knows its children, and every table has two nodes, as TR-069 names them: the table
// (`Device.IP.Interface.`, which AddObject takes) and its instances (`Device.IP.Interface.{i}.`).
// Built once per schema and shared by every data model that uses it (thousands per process), so per-device
// memory stays in `DataModelState`.

/// An object node of the schema tree.
public struct SchemaNode: Sendable {
    public enum Kind: Sendable {
        /// The root (the empty path): its children are the root objects (`Device.`).
        case root
        /// A single-instance object (`Device.DeviceInfo.`).
        case object
        /// A table: its children are instances (`Device.IP.Interface.`).
        case table
        /// An instance of a table (`Device.IP.Interface.{i}.`).
        case instance
    }

    public let template: String
    public let kind: Kind
    /// For objects and instances the schema entry; for a table, its instances' schema entry.
    public let schema: ObjectSchema?
    /// Names of child objects and tables, sorted (the schema's dictionary keeps no order).
    public let childObjectNames: [String]
    /// Parameters in schema order.
    public let parameters: [ParameterSchema]

    public func parameter(named name: String) -> ParameterSchema? { parameters.first { $0.name == name } }

    /// A table whose instances the ACS may add and delete (TR-069 Writable of a table and its instances).
    public var isWritableTable: Bool {
        guard let schema, schema.isMultiInstance else { return false }
        return schema.access != .readOnly
    }
}

/// The schema tree, indexed by template path.
public final class SchemaTree: Sendable {
    public let schema: DataModelSchema
    private let nodes: [String: SchemaNode]
    /// `…NumberOfEntries` parameter template → the table template it counts.
    let numberOfEntriesTables: [String: String]

    public init(_ schema: DataModelSchema) {
        self.schema = schema
        var children: [String: Set<String>] = ["": []]
        var kinds: [String: SchemaNode.Kind] = ["": .root]
        var objects: [String: ObjectSchema] = [:]
        var counted: [String: String] = [:]

        // Registers a node and, walking up, every ancestor the schema does not list itself.
        func register(_ template: String, kind: SchemaNode.Kind) {
            if kinds[template] == nil || kinds[template] == .object && kind != .object { kinds[template] = kind }
            children[template, default: []].formUnion([])
            guard let (parent, name) = Self.split(template) else { return }
            if let name { children[parent, default: []].insert(name) }
            if kinds[parent] == nil {
                register(parent, kind: name == nil ? .table : .object)
            } else if name == nil {
                kinds[parent] = .table
            }
        }
        for object in schema.objects.values {
            objects[object.path] = object
            register(object.path, kind: object.isMultiInstance ? .instance : .object)
            if object.isMultiInstance, let counter = object.numberOfEntriesParameter {
                counted[counter] = String(object.path.dropLast(4))
            }
        }
        var nodes: [String: SchemaNode] = [:]
        for (template, kind) in kinds {
            let schemaEntry: ObjectSchema? = switch kind {
            case .root: nil
            case .object, .instance: objects[template]
            case .table: objects[template + "{i}."]
            }
            nodes[template] = SchemaNode(
                template: template, kind: kind, schema: schemaEntry,
                childObjectNames: kind == .table ? [] : children[template, default: []].sorted(),
                parameters: kind == .table ? [] : schemaEntry?.parameters ?? [])
        }
        self.nodes = nodes
        self.numberOfEntriesTables = counted
    }

    /// Splits a template into its parent and the child's name (`nil` for the `{i}.` step of a table).
    private static func split(_ template: String) -> (parent: String, name: String?)? {
        guard !template.isEmpty else { return nil }
        let body = template.dropLast()
        let cut = body.lastIndex(of: ".").map { body.index(after: $0) } ?? body.startIndex
        let last = String(body[cut...])
        let parent = String(body[..<cut])
        return (parent, last == "{i}" ? nil : last)
    }

    public var root: SchemaNode { nodes[""]! }

    public func node(atTemplate template: String) -> SchemaNode? { nodes[template] }

    /// The parameter with this template path.
    public func parameter(atTemplate template: String) -> ParameterSchema? { schema.parameter(atTemplate: template) }
}
