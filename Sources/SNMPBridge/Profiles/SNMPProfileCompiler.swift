// Profile JSON → checked, numeric form. Every error names the key it is about (`tables[0].columns[3].oid`), so a
// profile author finds the mistake without reading code.
import FoundationEssentials
import Proxier

/// A profile ready for the provider: numeric OIDs, full TR-181 templates checked against the schema.
public struct CompiledSNMPProfile: Sendable {
    public var name: String
    public var priority: Int
    public var match: SNMPProfileMatch?
    public var scalars: [CompiledSNMPMapping]
    public var tables: [CompiledSNMPTable]
    public var computed: [CompiledSNMPComputed]
    /// Objects the profile adds as vendor extensions (`Device.X_MIB_IfTable.{i}.`, `Device.X_MIB_System.`), with
    /// the parameters it maps there, and the ancestors they need: to be merged into the served schema. A TR-181
    /// object that only gains extension parameters (`Device.DeviceInfo.X_ACME_Temperature`) appears with just those.
    public var extensionObjects: [ObjectSchema] = []

    /// Every parameter template the profile serves (for `DataModelSchema.restricted(to:)`).
    public var parameterTemplates: [String] {
        scalars.map(\.parameter) + computed.map(\.parameter)
            + tables.flatMap { $0.columns.map(\.parameter) + $0.computed.map(\.parameter) }
    }
}

public struct CompiledSNMPRowSelector: Sendable, Hashable {
    public var column: SNMPObjectIdentifier
    public var equals: SNMPMatchValue

    func matches(_ value: SNMPValue) -> Bool {
        switch (equals, value) {
        case (.integer(let wanted), _): value.numericValue == Int128(wanted)
        case (.text(let wanted), .objectIdentifier(let oid)): SNMPObjectIdentifier(wanted) == oid
        case (.text(let wanted), .octetString(let bytes)): Array(wanted.utf8) == bytes
        default: false
        }
    }
}

public struct CompiledSNMPMapping: Sendable, Hashable {
    /// Full template: `Device.Ethernet.Interface.{i}.Stats.BytesSent`.
    public var parameter: String
    /// nil only with the `index` conversion.
    public var oid: SNMPObjectIdentifier?
    public var fallbackOID: SNMPObjectIdentifier?
    public var fallbackConversion: SNMPConversion
    public var conversion: SNMPConversion
    /// nil when not writable.
    public var setSyntax: SNMPSyntax?
    public var select: CompiledSNMPRowSelector?
    public var schema: ParameterSchema
}

public struct CompiledSNMPTerm: Sendable, Hashable {
    public var oid: SNMPObjectIdentifier
    public var fallbackOID: SNMPObjectIdentifier?
    public var subtract: Bool
    public var accumulate: Bool
    /// `oid` is an instance OID read as is, not a column.
    public var scalar: Bool

    func instance(_ row: [UInt32]) -> SNMPObjectIdentifier { scalar ? oid : oid.appending(row) }
    func fallbackInstance(_ row: [UInt32]) -> SNMPObjectIdentifier? { fallbackOID.map { scalar ? $0 : $0.appending(row) } }
}

public struct CompiledSNMPComputed: Sendable, Hashable {
    public struct Aggregation: Sendable, Hashable {
        public var indexColumn: SNMPObjectIdentifier
        public var filter: CompiledSNMPRowSelector?
        public var combine: SNMPAggregation.Combine
    }

    public var parameter: String
    public var terms: [CompiledSNMPTerm]
    public var factors: [SNMPObjectIdentifier]
    public var multiply: Int64
    public var divide: Int64
    public var over: Aggregation?
    public var schema: ParameterSchema
}

public struct CompiledSNMPTable: Sendable, Hashable {
    public struct KeyColumn: Sendable, Hashable {
        public var name: String
        public var oid: SNMPObjectIdentifier
        public var conversion: SNMPConversion
    }

    public struct ParentLink: Sendable, Hashable {
        /// The parent's object template (`Device.IP.Interface.{i}.`).
        public var object: String
        public var column: SNMPObjectIdentifier?
    }

    public struct RowStatus: Sendable, Hashable {
        public var column: SNMPObjectIdentifier
        public var indexFormat: SNMPRowStatus.IndexFormat
        public var createValues: [(column: SNMPObjectIdentifier, value: SNMPValue)]

        /// The index arcs of a new row for instance number `number`, below `prefix` (the parent's index).
        func index(for number: UInt32, prefix: [UInt32]) -> [UInt32] {
            let text = String(number).utf8.map(UInt32.init)
            switch indexFormat {
            case .integer: return prefix + [number]
            case .string: return prefix + [UInt32(text.count)] + text
            case .impliedString: return prefix + text
            }
        }

        public static func == (lhs: RowStatus, rhs: RowStatus) -> Bool {
            lhs.column == rhs.column && lhs.createValues.map(\.column) == rhs.createValues.map(\.column)
                && lhs.createValues.map(\.value) == rhs.createValues.map(\.value)
        }

        public func hash(into hasher: inout Hasher) { hasher.combine(column) }
    }

    /// `Device.Ethernet.Interface.{i}.`
    public var object: String
    /// `Device.Ethernet.Interface.` (the table path providers are asked about).
    public var table: String { String(object.dropLast("{i}.".count)) }
    public var indexColumn: SNMPObjectIdentifier
    public var keyColumns: [KeyColumn]
    public var filter: (column: SNMPObjectIdentifier, values: Set<Int64>)?
    public var parent: ParentLink?
    public var columns: [CompiledSNMPMapping]
    public var computed: [CompiledSNMPComputed]
    public var rowStatus: RowStatus?

    public static func == (lhs: CompiledSNMPTable, rhs: CompiledSNMPTable) -> Bool {
        lhs.object == rhs.object && lhs.indexColumn == rhs.indexColumn && lhs.columns == rhs.columns
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(object) }
}

/// Decodes and checks profiles against a TR-181 schema.
public struct SNMPProfileCompiler: Sendable {
    public var schema: DataModelSchema
    public var resolver: (any SNMPNameResolving)?

    public init(schema: DataModelSchema = DataModelSchema.tr181, resolver: (any SNMPNameResolving)? = nil) {
        self.schema = schema
        self.resolver = resolver
    }

    /// Decodes a profile's JSON and compiles it.
    public func compile(json: String) throws(SNMPBridgeError) -> CompiledSNMPProfile {
        try compile(try Self.decode(json: json))
    }

    /// Decodes a profile's JSON without checking it against the schema.
    public static func decode(json: String) throws(SNMPBridgeError) -> SNMPProfile {
        do {
            return try JSONDecoder().decode(SNMPProfile.self, from: Data(json.utf8))
        } catch let error as DecodingError {
            throw SNMPBridgeError(.invalidProfile, describe(error), underlying: error)
        } catch {
            throw SNMPBridgeError(.invalidProfile, "not a profile: \(error)", underlying: error)
        }
    }

    /// Decodes and compiles a profile whose names may be MIB symbols: they are resolved by net-snmp's MIB parser
    /// from `mibSearchPath` first (the configured `resolver` is replaced). Without symbols no MIB is read.
    public func compile(json: String, mibSearchPath: SNMPMIBSearchPath) async throws(SNMPBridgeError) -> CompiledSNMPProfile {
        let profile = try Self.decode(json: json)
        guard profile.objectNames.contains(where: { SNMPObjectIdentifier($0) == nil }) else { return try compile(profile) }
        var compiler = self
        compiler.resolver = try await SNMPMIBResolver.prepare(for: profile, searchPath: mibSearchPath)
        return try compiler.compile(profile)
    }

    /// `key tables[0].columns[2].oid: unknown key ...`
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text.isEmpty ? "(top level)" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "key \(path(context.codingPath + [key])): missing"
        case .typeMismatch(let type, let context):
            return "key \(path(context.codingPath)): expected \(type) (\(context.debugDescription))"
        case .valueNotFound(let type, let context):
            return "key \(path(context.codingPath)): expected \(type), found null"
        case .dataCorrupted(let context):
            return "key \(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    public func compile(_ profile: SNMPProfile) throws(SNMPBridgeError) -> CompiledSNMPProfile {
        let context = "profile \(profile.name)"
        var seen: Set<String> = []
        func unique(_ template: String, _ key: String) throws(SNMPBridgeError) {
            guard seen.insert(template).inserted else {
                throw SNMPBridgeError(.invalidProfile, "\(context): key \(key): \(template) is mapped twice")
            }
        }

        if let match = profile.match {
            for (i, prefix) in (match.sysObjectIDPrefixes ?? []).enumerated() where SNMPObjectIdentifier(prefix) == nil {
                throw SNMPBridgeError(.invalidProfile, "\(context): key match.sysObjectIDPrefixes[\(i)]: \"\(prefix)\" is not a dotted OID")
            }
            if let pattern = match.sysDescrRegex {
                do { _ = try Regex(pattern) } catch {
                    throw SNMPBridgeError(.invalidProfile, "\(context): key match.sysDescrRegex: \(error)")
                }
            }
        }

        var scalars: [CompiledSNMPMapping] = []
        for (i, mapping) in profile.scalars.enumerated() {
            let key = "scalars[\(i)]"
            guard !mapping.parameter.contains("{i}") else {
                throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).parameter: \(mapping.parameter) is inside a table; map it in tables")
            }
            let compiled = try compileMapping(mapping, template: mapping.parameter, key: key, context: context)
            try unique(compiled.parameter, key + ".parameter")
            scalars.append(compiled)
        }

        var computed: [CompiledSNMPComputed] = []
        for (i, value) in profile.computed.enumerated() {
            let key = "computed[\(i)]"
            let compiled = try compileComputed(value, template: value.parameter, key: key, context: context)
            try unique(compiled.parameter, key + ".parameter")
            computed.append(compiled)
        }

        var tables: [CompiledSNMPTable] = []
        for (t, table) in profile.tables.enumerated() {
            let key = "tables[\(t)]"
            if let object = schema.object(atTemplate: table.object) {
                guard object.isMultiInstance else {
                    throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).object: \(table.object) is no multi-instance object of the schema")
                }
            } else if !(Self.isVendorExtension(table.object) && table.object.hasSuffix(".{i}.")) {
                throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).object: \(table.object) is no multi-instance object of the schema (a vendor extension needs an X_ name and must end in .{i}.)")
            }
            let depth = table.object.ranges(of: "{i}").count
            var parent: CompiledSNMPTable.ParentLink?
            if let link = table.parent {
                guard tables.contains(where: { $0.object == link.object }), table.object.hasPrefix(link.object),
                      depth == link.object.ranges(of: "{i}").count + 1 else {
                    throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).parent.object: \(link.object) is not an earlier table of this profile directly above \(table.object)")
                }
                guard (link.column != nil) != link.indexPrefix else {
                    throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).parent: give exactly one of column and indexPrefix")
                }
                parent = CompiledSNMPTable.ParentLink(
                    object: link.object,
                    column: try link.column.map { (c) throws(SNMPBridgeError) in try oid(c, key: key + ".parent.column", context: context) })
            } else if depth != 1 {
                throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).parent: \(table.object) is nested and needs a parent link")
            }
            var keyColumns: [CompiledSNMPTable.KeyColumn] = []
            for (k, column) in table.keyColumns.enumerated() {
                keyColumns.append(.init(name: column.name, oid: try oid(column.oid, key: "\(key).keyColumns[\(k)].oid", context: context),
                                        conversion: column.conversion))
            }
            var columns: [CompiledSNMPMapping] = []
            for (c, mapping) in table.columns.enumerated() {
                let columnKey = "\(key).columns[\(c)]"
                let compiled = try compileMapping(mapping, template: table.object + mapping.parameter, key: columnKey, context: context)
                guard !mapping.parameter.contains("{i}"), compiled.select == nil else {
                    throw SNMPBridgeError(.invalidProfile, "\(context): key \(columnKey): nested tables and select are not allowed in columns")
                }
                try unique(compiled.parameter, columnKey + ".parameter")
                columns.append(compiled)
            }
            var tableComputed: [CompiledSNMPComputed] = []
            for (c, value) in table.computed.enumerated() {
                let computedKey = "\(key).computed[\(c)]"
                guard value.over == nil else {
                    throw SNMPBridgeError(.invalidProfile, "\(context): key \(computedKey).over: only profile-level computed values aggregate rows")
                }
                let compiled = try compileComputed(value, template: table.object + value.parameter, key: computedKey, context: context)
                try unique(compiled.parameter, computedKey + ".parameter")
                tableComputed.append(compiled)
            }
            var rowStatus: CompiledSNMPTable.RowStatus?
            if let status = table.rowStatus {
                var createValues: [(column: SNMPObjectIdentifier, value: SNMPValue)] = []
                for (v, create) in status.createValues.enumerated() {
                    let valueKey = "\(key).rowStatus.createValues[\(v)]"
                    let column = try oid(create.column, key: valueKey + ".column", context: context)
                    do {
                        createValues.append((column, try create.conversion.snmpValue(from: create.value, syntax: create.syntax)))
                    } catch {
                        throw SNMPBridgeError(.invalidProfile, "\(context): key \(valueKey).value: \(error.reason)")
                    }
                }
                rowStatus = .init(column: try oid(status.column, key: key + ".rowStatus.column", context: context), indexFormat: status.indexFormat,
                                  createValues: createValues)
            }
            tables.append(CompiledSNMPTable(
                object: table.object,
                indexColumn: try oid(table.indexColumn, key: key + ".indexColumn", context: context),
                keyColumns: keyColumns,
                filter: try table.filter.map { (f) throws(SNMPBridgeError) in (try oid(f.column, key: key + ".filter.column", context: context), Set(f.in)) },
                parent: parent, columns: columns, computed: tableComputed, rowStatus: rowStatus))
        }
        var compiled = CompiledSNMPProfile(name: profile.name, priority: profile.priority, match: profile.match,
                                           scalars: scalars, tables: tables, computed: computed)
        compiled.extensionObjects = extensionObjects(of: compiled)
        return compiled
    }

    /// A vendor extension: some object or parameter name on the path starts with `X_` (TR-106 §3.3).
    static func isVendorExtension(_ template: String) -> Bool {
        template.split(separator: ".").contains { $0.hasPrefix("X_") }
    }

    /// The schema objects for the profile's extension parameters and tables, and their missing ancestors.
    private func extensionObjects(of profile: CompiledSNMPProfile) -> [ObjectSchema] {
        var objects: [String: ObjectSchema] = [:]
        func ensure(_ path: String, access: SchemaAccess = .readOnly) {
            // Ancestors first: `Device.X_A.{i}.B.` needs `Device.X_A.{i}.`; `Device.X_A.` names the table, no object.
            let parts = path.split(separator: ".").map(String.init)
            for end in 1...parts.count {
                let prefix = parts[..<end].joined(separator: ".") + "."
                if end < parts.count, parts[end] == "{i}" { continue }
                guard schema.object(atTemplate: prefix) == nil, objects[prefix] == nil else { continue }
                let table = prefix.hasSuffix(".{i}.")
                objects[prefix] = ObjectSchema(path: prefix, access: .readOnly, minEntries: table ? 0 : 1,
                                               maxEntries: table ? nil : 1, parameters: [])
            }
            if objects[path] != nil, access == .readWrite { objects[path]?.access = .readWrite }
        }
        for table in profile.tables where schema.object(atTemplate: table.object) == nil {
            ensure(table.object, access: table.rowStatus == nil ? .readOnly : .readWrite)
        }
        let mapped = profile.scalars.map { ($0.parameter, $0.schema) } + profile.computed.map { ($0.parameter, $0.schema) }
            + profile.tables.flatMap { $0.columns.map { ($0.parameter, $0.schema) } + $0.computed.map { ($0.parameter, $0.schema) } }
        for (template, parameter) in mapped where schema.parameter(atTemplate: template) == nil {
            guard let dot = template.lastIndex(of: ".") else { continue }
            let object = String(template[...dot])
            if objects[object] == nil, var existing = schema.object(atTemplate: object) {
                // An extension parameter in a TR-181 object (`Device.DeviceInfo.X_ACME_Temperature`): the entry
                // carries only the parameters to add.
                existing.parameters = []
                objects[object] = existing
            }
            ensure(object)
            objects[object]?.parameters.append(parameter)
        }
        return objects.values.sorted { $0.path < $1.path }
    }

    private func oid(_ text: String, key: String, context: String) throws(SNMPBridgeError) -> SNMPObjectIdentifier {
        if let numeric = SNMPObjectIdentifier(text) { return numeric }
        guard let resolver else {
            throw SNMPBridgeError(.invalidProfile, "\(context): key \(key): \"\(text)\" is no numeric OID and no MIB resolver is configured")
        }
        do {
            return try resolver.resolve(text)
        } catch let error as SNMPBridgeError {
            throw SNMPBridgeError(.invalidProfile, "\(context): key \(key): cannot resolve \"\(text)\": \(error.reason)", underlying: error)
        } catch {
            throw SNMPBridgeError(.invalidProfile, "\(context): key \(key): cannot resolve \"\(text)\"", underlying: error)
        }
    }

    private func parameterSchema(_ template: String, key: String, context: String, type: SNMPParameterType?,
                                 writable: Bool = false, conversion: SNMPConversion? = nil) throws(SNMPBridgeError) -> ParameterSchema {
        if let parameter = schema.parameter(atTemplate: template) {
            if let type, type != SNMPParameterType(parameter.syntax) {
                throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).type: \(template) is \(SNMPParameterType(parameter.syntax).rawValue) in TR-181, not \(type.rawValue)")
            }
            return parameter
        }
        if Self.isVendorExtension(template), let dot = template.lastIndex(of: ".") {
            guard let type else {
                throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).type: \(template) is a vendor extension; give its TR-106 type (\(SNMPParameterType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return ParameterSchema(name: String(template[template.index(after: dot)...]), access: writable ? .readWrite : .readOnly,
                                   syntax: type.syntax(for: conversion))
        }
        guard let parameter = schema.parameter(atTemplate: template) else {
            throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).parameter: \(template) is not in the TR-181 schema")
        }
        return parameter
    }

    private func compileMapping(_ mapping: SNMPValueMapping, template: String, key: String, context: String) throws(SNMPBridgeError) -> CompiledSNMPMapping {
        let parameter = try parameterSchema(template, key: key, context: context, type: mapping.type,
                                            writable: mapping.writable, conversion: mapping.conversion)
        let oid: SNMPObjectIdentifier?
        if case .index = mapping.conversion {
            guard template.contains("{i}") else {
                throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).conversion: index only applies to table columns")
            }
            oid = nil
        } else {
            guard let text = mapping.oid else { throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).oid: missing") }
            oid = try self.oid(text, key: key + ".oid", context: context)
        }
        var setSyntax: SNMPSyntax?
        if mapping.writable {
            guard parameter.access == .readWrite else {
                throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).writable: \(template) is not writable in TR-181")
            }
            guard oid != nil, let syntax = mapping.syntax ?? mapping.conversion.impliedSyntax else {
                throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).syntax: a writable mapping needs a syntax for SET")
            }
            setSyntax = syntax
        }
        return CompiledSNMPMapping(
            parameter: template, oid: oid,
            fallbackOID: try mapping.fallbackOID.map { (f) throws(SNMPBridgeError) in try self.oid(f, key: key + ".fallbackOID", context: context) },
            fallbackConversion: mapping.fallbackConversion ?? mapping.conversion,
            conversion: mapping.conversion, setSyntax: setSyntax,
            select: try mapping.select.map { (s) throws(SNMPBridgeError) in
                CompiledSNMPRowSelector(column: try self.oid(s.column, key: key + ".select.column", context: context), equals: s.equals)
            },
            schema: parameter)
    }

    private func compileComputed(_ value: SNMPComputedValue, template: String, key: String, context: String) throws(SNMPBridgeError) -> CompiledSNMPComputed {
        let parameter = try parameterSchema(template, key: key, context: context, type: value.type)
        guard !value.terms.isEmpty else { throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).terms: empty") }
        guard value.divide != 0 else { throw SNMPBridgeError(.invalidProfile, "\(context): key \(key).divide: must not be 0") }
        var terms: [CompiledSNMPTerm] = []
        for (i, term) in value.terms.enumerated() {
            terms.append(CompiledSNMPTerm(
                oid: try oid(term.oid, key: "\(key).terms[\(i)].oid", context: context),
                fallbackOID: try term.fallbackOID.map { (f) throws(SNMPBridgeError) in try oid(f, key: "\(key).terms[\(i)].fallbackOID", context: context) },
                subtract: term.subtract, accumulate: term.accumulate, scalar: term.scalar))
        }
        var factors: [SNMPObjectIdentifier] = []
        for (i, factor) in value.factors.enumerated() { factors.append(try oid(factor, key: "\(key).factors[\(i)]", context: context)) }
        var over: CompiledSNMPComputed.Aggregation?
        if let aggregation = value.over {
            over = .init(indexColumn: try oid(aggregation.indexColumn, key: key + ".over.indexColumn", context: context),
                         filter: try aggregation.filter.map { (s) throws(SNMPBridgeError) in
                             CompiledSNMPRowSelector(column: try oid(s.column, key: key + ".over.filter.column", context: context), equals: s.equals)
                         },
                         combine: aggregation.combine)
        }
        return CompiledSNMPComputed(parameter: template, terms: terms, factors: factors, multiply: value.multiply,
                                    divide: value.divide, over: over, schema: parameter)
    }
}

// MARK: Selection

extension CompiledSNMPProfile {
    /// Whether the agent with this sysObjectID.0 and sysDescr.0 gets the profile.
    public func matches(sysObjectID: SNMPObjectIdentifier?, sysDescr: String) -> Bool {
        guard let match else { return true }
        if let prefixes = match.sysObjectIDPrefixes {
            guard let sysObjectID, prefixes.contains(where: { SNMPObjectIdentifier($0)?.isPrefix(of: sysObjectID) ?? false }) else { return false }
        }
        if let substrings = match.sysDescrContains {
            guard substrings.contains(where: { sysDescr.contains($0) }) else { return false }
        }
        if let pattern = match.sysDescrRegex {
            guard let regex = try? Regex(pattern), sysDescr.contains(regex) else { return false }
        }
        return true
    }
}

/// Chooses the profiles of one agent.
public enum SNMPProfileSelection {
    /// The profiles matching the agent, highest priority first (ties keep the given order). When two selected
    /// profiles map the same parameter, the provider uses the first, i.e. the higher-priority one.
    public static func select(_ profiles: [CompiledSNMPProfile], sysObjectID: SNMPObjectIdentifier?, sysDescr: String) -> [CompiledSNMPProfile] {
        profiles.enumerated()
            .filter { $0.element.matches(sysObjectID: sysObjectID, sysDescr: sysDescr) }
            .sorted { $0.element.priority != $1.element.priority ? $0.element.priority > $1.element.priority : $0.offset < $1.offset }
            .map(\.element)
    }
}

// MARK: Vendor-extension types

extension SNMPParameterType {
    /// The TR-106 base type of a schema syntax.
    init(_ syntax: ParameterSyntax) {
        switch syntax {
        case .string: self = .string
        case .int: self = .int
        case .unsignedInt: self = .unsignedInt
        case .long: self = .long
        case .unsignedLong: self = .unsignedLong
        case .boolean: self = .boolean
        case .dateTime: self = .dateTime
        case .base64: self = .base64
        case .hexBinary: self = .hexBinary
        }
    }

    /// The schema syntax of an extension parameter; strings take their limits from the conversion (the
    /// enumeration's texts, displayString's maxLength), so SetParameterValues checks them like TR-181's.
    func syntax(for conversion: SNMPConversion?) -> ParameterSyntax {
        switch self {
        case .string:
            switch conversion {
            case .enumeration(let values, let fallback, let set):
                let texts = Set(values.values).union(set.map { Set($0.keys) } ?? []).union(fallback.map { [$0] } ?? [])
                return .string(StringFacets(enumerations: texts.sorted()))
            case .displayString(let maxLength?):
                return .string(StringFacets(sizes: [SizeRange(maxLength: maxLength)]))
            default:
                return .string(StringFacets())
            }
        case .int: return .int([])
        case .unsignedInt: return .unsignedInt([])
        case .long: return .long([])
        case .unsignedLong: return .unsignedLong([])
        case .boolean: return .boolean
        case .dateTime: return .dateTime
        case .hexBinary: return .hexBinary([])
        case .base64: return .base64([])
        }
    }
}
