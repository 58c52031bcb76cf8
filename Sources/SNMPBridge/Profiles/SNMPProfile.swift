// The declarative MIB → TR-181 mapping profile, as written in JSON (docs/snmp-profiles.md documents every key).
// This is the *source* form: OIDs are still strings (numeric or MIB symbols) and paths unchecked.
// `SNMPProfileCompiler` turns it into `CompiledSNMPProfile` (numeric OIDs, schema-checked paths) or fails naming
// the offending key.
//
// Decoding rejects unknown keys: a misspelt key ("writeable") would otherwise silently drop writability.
import FoundationEssentials

/// One mapping profile: which agents it applies to and what it maps.
public struct SNMPProfile: Decodable, Hashable, Sendable {
    public var name: String
    public var description: String?
    /// Which agents the profile applies to; absent: every agent.
    public var match: SNMPProfileMatch?
    /// Higher wins when two selected profiles map the same parameter (a vendor profile over a generic one).
    public var priority: Int
    public var scalars: [SNMPValueMapping]
    public var tables: [SNMPTableMapping]
    public var computed: [SNMPComputedValue]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description, match, priority, scalars, tables, computed
    }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        match = try c.decodeIfPresent(SNMPProfileMatch.self, forKey: .match)
        priority = try c.decodeIfPresent(Int.self, forKey: .priority) ?? 0
        scalars = try c.decodeIfPresent([SNMPValueMapping].self, forKey: .scalars) ?? []
        tables = try c.decodeIfPresent([SNMPTableMapping].self, forKey: .tables) ?? []
        computed = try c.decodeIfPresent([SNMPComputedValue].self, forKey: .computed) ?? []
    }
}

/// Selection rule. Every kind given must hold; within a kind, any entry may match.
public struct SNMPProfileMatch: Decodable, Hashable, Sendable {
    /// sysObjectID.0 must start with one of these (dotted OIDs).
    public var sysObjectIDPrefixes: [String]?
    /// sysDescr.0 must contain one of these substrings (case-sensitive).
    public var sysDescrContains: [String]?
    /// sysDescr.0 must match this regular expression (Swift Regex syntax, searched anywhere in the text).
    public var sysDescrRegex: String?

    enum CodingKeys: String, CodingKey, CaseIterable { case sysObjectIDPrefixes, sysDescrContains, sysDescrRegex }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sysObjectIDPrefixes = try c.decodeIfPresent([String].self, forKey: .sysObjectIDPrefixes)
        sysDescrContains = try c.decodeIfPresent([String].self, forKey: .sysDescrContains)
        sysDescrRegex = try c.decodeIfPresent(String.self, forKey: .sysDescrRegex)
    }
}

/// The SNMP syntax of an object, needed to build SET varbinds (and implied by most conversions).
public enum SNMPSyntax: String, Decodable, Hashable, Sendable {
    case integer = "Integer32"
    case octetString = "OCTET STRING"
    case objectIdentifier = "OBJECT IDENTIFIER"
    case ipAddress = "IpAddress"
    case unsigned = "Unsigned32"
    case gauge = "Gauge32"
    case timeTicks = "TimeTicks"
    case counter32 = "Counter32"
    case counter64 = "Counter64"
}

/// Picks one row of a table for a scalar parameter (the chassis row of entPhysicalTable).
public struct SNMPRowSelector: Decodable, Hashable, Sendable {
    /// A column of the table; the lowest-indexed row whose value equals `equals` is used.
    public var column: String
    /// An integer (`3`) or, for OBJECT IDENTIFIER columns, a dotted OID string.
    public var equals: SNMPMatchValue

    enum CodingKeys: String, CodingKey, CaseIterable { case column, equals }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        column = try c.decode(String.self, forKey: .column)
        equals = try c.decode(SNMPMatchValue.self, forKey: .equals)
    }
}

/// A value compared with an SNMP value in filters: an integer or a dotted OID / string.
public enum SNMPMatchValue: Decodable, Hashable, Sendable {
    case integer(Int64)
    case text(String)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let number = try? c.decode(Int64.self) { self = .integer(number) } else { self = .text(try c.decode(String.self)) }
    }
}

/// One SNMP object → one TR-181 parameter (a scalar, or a column of a table).
public struct SNMPValueMapping: Decodable, Hashable, Sendable {
    /// Scalars: the full parameter path (`Device.DeviceInfo.HostName`). Columns: the path relative to the table's
    /// instance (`Name`, `Stats.BytesSent`).
    public var parameter: String
    /// Scalars: the instance OID (`1.3.6.1.2.1.1.5.0`) or, with `select`, a column. Columns: the column OID (the
    /// row index is appended). Numeric or a MIB symbol (`IF-MIB::ifDescr`). Absent with the `index` conversion.
    public var oid: String?
    /// Read instead when the agent has no `oid` (noSuchObject/noSuchInstance): ifInOctets for ifHCInOctets.
    public var fallbackOID: String?
    /// The conversion applied to `fallbackOID`'s value; defaults to `conversion`.
    public var fallbackConversion: SNMPConversion?
    /// Free text, conventionally the MIB symbol of a numeric `oid`; never interpreted.
    public var label: String?
    public var conversion: SNMPConversion
    /// The SNMP syntax for SET; defaults to what the conversion implies.
    public var syntax: SNMPSyntax?
    /// Whether SetParameterValues may write this parameter (one SET of `oid`).
    public var writable: Bool
    /// Scalars only: `oid` is a column and the value comes from the row this picks.
    public var select: SNMPRowSelector?
    /// The TR-106 type of a vendor-extension parameter (`Device.X_MIB_IfTable.{i}.IfDescr`), which the TR-181
    /// schema does not define; for a TR-181 parameter it must agree with the schema.
    public var type: SNMPParameterType?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case parameter, oid, fallbackOID, fallbackConversion, label, conversion, syntax, writable, select, type
    }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        parameter = try c.decode(String.self, forKey: .parameter)
        oid = try c.decodeIfPresent(String.self, forKey: .oid)
        fallbackOID = try c.decodeIfPresent(String.self, forKey: .fallbackOID)
        fallbackConversion = try c.decodeIfPresent(SNMPConversion.self, forKey: .fallbackConversion)
        label = try c.decodeIfPresent(String.self, forKey: .label)
        conversion = try c.decodeIfPresent(SNMPConversion.self, forKey: .conversion) ?? .auto
        syntax = try c.decodeIfPresent(SNMPSyntax.self, forKey: .syntax)
        writable = try c.decodeIfPresent(Bool.self, forKey: .writable) ?? false
        select = try c.decodeIfPresent(SNMPRowSelector.self, forKey: .select)
        type = try c.decodeIfPresent(SNMPParameterType.self, forKey: .type)
    }
}

/// A TR-106 base type, for parameters the profile adds as vendor extensions (`X_…` in the path).
public enum SNMPParameterType: String, Decodable, Hashable, Sendable, CaseIterable {
    case string, int, unsignedInt, long, unsignedLong, boolean, dateTime, hexBinary, base64
}

/// A conceptual table → a multi-instance object.
public struct SNMPTableMapping: Decodable, Hashable, Sendable {
    /// The multi-instance object: `Device.Ethernet.Interface.{i}.`.
    public var object: String
    public var label: String?
    /// A column every row has; walking it lists the rows (ifIndex, hrSWRunIndex, ...).
    public var indexColumn: String
    /// Columns whose value identifies a row across agent renumbering, in order of preference (ifName, then
    /// ifPhysAddress). The first whose value is non-empty and unique in the table names the instance.
    public var keyColumns: [SNMPKeyColumn]
    /// Only rows whose `column` value is one of `in` (integers) are instances (ifType 6 for Ethernet).
    public var filter: SNMPRowFilter?
    /// For a table nested under another mapped table (IPv4Address under IP.Interface).
    public var parent: SNMPParentLink?
    public var columns: [SNMPValueMapping]
    public var computed: [SNMPComputedValue]
    /// AddObject/DeleteObject through a RowStatus column; absent: the table is read-only (9001/9005... see docs).
    public var rowStatus: SNMPRowStatus?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case object, label, indexColumn, keyColumns, filter, parent, columns, computed, rowStatus
    }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        object = try c.decode(String.self, forKey: .object)
        label = try c.decodeIfPresent(String.self, forKey: .label)
        indexColumn = try c.decode(String.self, forKey: .indexColumn)
        keyColumns = try c.decodeIfPresent([SNMPKeyColumn].self, forKey: .keyColumns) ?? []
        filter = try c.decodeIfPresent(SNMPRowFilter.self, forKey: .filter)
        parent = try c.decodeIfPresent(SNMPParentLink.self, forKey: .parent)
        columns = try c.decodeIfPresent([SNMPValueMapping].self, forKey: .columns) ?? []
        computed = try c.decodeIfPresent([SNMPComputedValue].self, forKey: .computed) ?? []
        rowStatus = try c.decodeIfPresent(SNMPRowStatus.self, forKey: .rowStatus)
    }
}

public struct SNMPKeyColumn: Decodable, Hashable, Sendable {
    /// Prefix of the instance key (`ifName` gives keys `ifName=eth0`).
    public var name: String
    public var oid: String
    public var conversion: SNMPConversion

    enum CodingKeys: String, CodingKey, CaseIterable { case name, oid, conversion }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        oid = try c.decode(String.self, forKey: .oid)
        conversion = try c.decodeIfPresent(SNMPConversion.self, forKey: .conversion) ?? .auto
    }
}

public struct SNMPRowFilter: Decodable, Hashable, Sendable {
    public var column: String
    public var `in`: [Int64]

    enum CodingKeys: String, CodingKey, CaseIterable { case column, `in` }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        column = try c.decode(String.self, forKey: .column)
        self.in = try c.decode([Int64].self, forKey: .in)
    }
}

/// How a nested table's rows belong to rows of its parent table: a column holding the parent's index
/// (ipAdEntIfIndex), or the parent's index as the leading arcs of the row's own index (`indexPrefix`).
public struct SNMPParentLink: Decodable, Hashable, Sendable {
    /// The parent multi-instance object; must be another table of the same profile.
    public var object: String
    public var column: String?
    public var indexPrefix: Bool

    enum CodingKeys: String, CodingKey, CaseIterable { case object, column, indexPrefix }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        object = try c.decode(String.self, forKey: .object)
        column = try c.decodeIfPresent(String.self, forKey: .column)
        indexPrefix = try c.decodeIfPresent(Bool.self, forKey: .indexPrefix) ?? false
    }
}

/// RowStatus (RFC 2579) creation and deletion: createAndGo(4) at a new index, destroy(6).
public struct SNMPRowStatus: Decodable, Hashable, Sendable {
    /// How the new row's index is formed from the instance number the engine proposes (`n`, or the next free one).
    public enum IndexFormat: String, Decodable, Hashable, Sendable {
        /// One arc `n` (an INTEGER index).
        case integer
        /// The decimal text of `n` as a length-prefixed OCTET STRING index (`7` → `.1.55`).
        case string
        /// The decimal text of `n` as an IMPLIED OCTET STRING index (`7` → `.55`).
        case impliedString
    }

    public var column: String
    public var indexFormat: IndexFormat
    /// Sent in the same SET PDU as createAndGo, for agents that need more than the status to create a row.
    public var createValues: [SNMPCreateValue]

    enum CodingKeys: String, CodingKey, CaseIterable { case column, indexFormat, createValues }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        column = try c.decode(String.self, forKey: .column)
        indexFormat = try c.decodeIfPresent(IndexFormat.self, forKey: .indexFormat) ?? .integer
        createValues = try c.decodeIfPresent([SNMPCreateValue].self, forKey: .createValues) ?? []
    }
}

public struct SNMPCreateValue: Decodable, Hashable, Sendable {
    public var column: String
    public var syntax: SNMPSyntax
    /// Lexical form, read through `conversion`'s reverse: a decimal number, a dotted OID or IPv4 address, text for
    /// OCTET STRING (or hex digits with the `hex` conversion).
    public var value: String
    public var conversion: SNMPConversion

    enum CodingKeys: String, CodingKey, CaseIterable { case column, syntax, value, conversion }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        column = try c.decode(String.self, forKey: .column)
        syntax = try c.decode(SNMPSyntax.self, forKey: .syntax)
        value = try c.decode(String.self, forKey: .value)
        conversion = try c.decodeIfPresent(SNMPConversion.self, forKey: .conversion) ?? .auto
    }
}

/// A value computed from several SNMP objects:
/// `(Σ ±terms) × Π factors × multiply / divide`, optionally over the rows of a table (`over`) and combined.
public struct SNMPComputedValue: Decodable, Hashable, Sendable {
    /// Like `SNMPValueMapping.parameter`: full path at profile level, relative inside a table.
    public var parameter: String
    public var label: String?
    public var terms: [SNMPTerm]
    /// OIDs multiplied into the sum (hrStorageAllocationUnits).
    public var factors: [String]
    public var multiply: Int64
    public var divide: Int64
    /// Profile-level only: evaluate per row of a table and combine (hrProcessorLoad averaged over CPUs).
    public var over: SNMPAggregation?
    /// The TR-106 type of a vendor-extension parameter (see `SNMPValueMapping.type`).
    public var type: SNMPParameterType?

    enum CodingKeys: String, CodingKey, CaseIterable { case parameter, label, terms, factors, multiply, divide, over, type }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        parameter = try c.decode(String.self, forKey: .parameter)
        label = try c.decodeIfPresent(String.self, forKey: .label)
        terms = try c.decode([SNMPTerm].self, forKey: .terms)
        factors = try c.decodeIfPresent([String].self, forKey: .factors) ?? []
        multiply = try c.decodeIfPresent(Int64.self, forKey: .multiply) ?? 1
        divide = try c.decodeIfPresent(Int64.self, forKey: .divide) ?? 1
        over = try c.decodeIfPresent(SNMPAggregation.self, forKey: .over)
        type = try c.decodeIfPresent(SNMPParameterType.self, forKey: .type)
    }
}

public struct SNMPTerm: Decodable, Hashable, Sendable {
    /// An instance OID (profile level) or a column (inside a table or with `over`).
    public var oid: String
    /// Subtract instead of add.
    public var subtract: Bool
    /// Counter32 values are accumulated to 64 bits (wraps counted) before summing.
    public var accumulate: Bool
    /// Read instead when the agent has no `oid`.
    public var fallbackOID: String?
    /// Inside a table: `oid` is a full instance OID (sysUpTime.0), not a column to append the row index to.
    public var scalar: Bool

    enum CodingKeys: String, CodingKey, CaseIterable { case oid, subtract, accumulate, fallbackOID, scalar }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        oid = try c.decode(String.self, forKey: .oid)
        subtract = try c.decodeIfPresent(Bool.self, forKey: .subtract) ?? false
        accumulate = try c.decodeIfPresent(Bool.self, forKey: .accumulate) ?? false
        fallbackOID = try c.decodeIfPresent(String.self, forKey: .fallbackOID)
        scalar = try c.decodeIfPresent(Bool.self, forKey: .scalar) ?? false
    }
}

public struct SNMPAggregation: Decodable, Hashable, Sendable {
    public enum Combine: String, Decodable, Hashable, Sendable { case sum, average, first }
    /// A column every row has (walked to list rows).
    public var indexColumn: String
    public var filter: SNMPRowSelector?
    public var combine: Combine

    enum CodingKeys: String, CodingKey, CaseIterable { case indexColumn, filter, combine }

    public init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(in: decoder, allowed: CodingKeys.allCases)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        indexColumn = try c.decode(String.self, forKey: .indexColumn)
        filter = try c.decodeIfPresent(SNMPRowSelector.self, forKey: .filter)
        combine = try c.decodeIfPresent(Combine.self, forKey: .combine) ?? .sum
    }
}

// MARK: Unknown keys

private struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Throws a `DecodingError` whose coding path names the unknown key.
func rejectUnknownKeys<Keys: Collection>(in decoder: any Decoder, allowed: Keys) throws where Keys.Element: CodingKey {
    let container = try decoder.container(keyedBy: AnyCodingKey.self)
    let known = Set(allowed.map(\.stringValue))
    for key in container.allKeys where !known.contains(key.stringValue) {
        throw DecodingError.dataCorrupted(DecodingError.Context(
            codingPath: decoder.codingPath + [key],
            debugDescription: "unknown key \"\(key.stringValue)\" (allowed: \(known.sorted().joined(separator: ", ")))"))
    }
}

// MARK: Names used

extension SNMPProfile {
    /// Every OID or MIB name the profile uses, in document order (duplicates kept): what a MIB resolver must know.
    public var objectNames: [String] {
        var names: [String] = []
        func addMapping(_ m: SNMPValueMapping) {
            names += [m.oid, m.fallbackOID, m.select?.column].compactMap { $0 }
        }
        func addComputed(_ c: SNMPComputedValue) {
            for term in c.terms { names += [term.oid, term.fallbackOID].compactMap { $0 } }
            names += c.factors
            names += [c.over?.indexColumn, c.over?.filter?.column].compactMap { $0 }
        }
        scalars.forEach(addMapping)
        computed.forEach(addComputed)
        for table in tables {
            names.append(table.indexColumn)
            names += table.keyColumns.map(\.oid)
            names += [table.filter?.column, table.parent?.column, table.rowStatus?.column].compactMap { $0 }
            names += table.rowStatus?.createValues.map(\.column) ?? []
            table.columns.forEach(addMapping)
            table.computed.forEach(addComputed)
        }
        return names
    }
}
