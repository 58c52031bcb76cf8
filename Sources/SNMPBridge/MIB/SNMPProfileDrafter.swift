// `cwmp-proxy mib2profile`: a draft mapping profile from MIB modules, for an integrator to edit
// (docs/snmp-profiles.md, "Drafting a profile"). Pure: it reads `SNMPMIBModule` values (net-snmp's parse, made by
// `SNMPMIB.loadModules`) and writes the profile JSON that `SNMPProfileCompiler` reads.
//
// Naming rule. TR-181 has no place for an arbitrary MIB, so every drafted object is a vendor extension directly
// under `Device.`, named `<prefix><Descriptor>` with the descriptor's first letter upper-cased:
//   conceptual table ifTable          → Device.X_MIB_IfTable.{i}.   (multi-instance; one instance per row)
//   its columns ifDescr, ifInOctets   → IfDescr, IfInOctets          (parameters of the instance)
//   scalars under `system` (sysDescr) → Device.X_MIB_System.SysDescr  (one single-instance object per parent)
// The prefix (default `X_MIB_`) stands for TR-106's `X_<vendor>_`; the integrator replaces it, or moves mappings
// onto real TR-181 parameters (then drops their `type`).
import FoundationEssentials

public struct SNMPProfileDrafter: Sendable {
    /// The vendor-extension prefix of every drafted object (`X_MIB_`, `X_ACME-COM_`).
    public var prefix: String
    /// Names as MIB symbols (`IF-MIB::ifDescr`, resolved when the profile is compiled) or numeric OIDs (with the
    /// symbol in `label`; such a profile needs no MIB files at run time).
    public var numericOIDs: Bool

    public init(prefix: String = "X_MIB_", numericOIDs: Bool = false) {
        self.prefix = prefix
        self.numericOIDs = numericOIDs
    }

    /// Whether `prefix` is a usable TR-106 vendor prefix: `X_`, then name characters, ending in `_`.
    public static func isValidPrefix(_ prefix: String) -> Bool {
        guard prefix.hasPrefix("X_"), prefix.hasSuffix("_"), prefix.count > 3 else { return false }
        return prefix.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
    }

    /// A drafted profile: its JSON and what was left out, and why.
    public struct Draft: Sendable {
        public var json: String
        public var tables: Int
        public var scalars: Int
        public var columns: Int
        /// `IF-MIB::ifTestTable: no readable column`: objects not drafted.
        public var notes: [String]
    }

    public func draft(_ modules: [SNMPMIBModule]) throws(SNMPBridgeError) -> Draft {
        guard Self.isValidPrefix(prefix) else {
            throw SNMPBridgeError(.invalidArgument, "\(prefix) is no vendor-extension prefix (X_NAME_)")
        }
        var notes: [String] = []
        var seen: Set<SNMPObjectIdentifier> = []
        var nodes: [SNMPMIBNode] = []
        for module in modules {
            // A node several requested modules define (RFC1213-MIB and IF-MIB both have ifTable) is drafted once.
            for node in module.nodes where seen.insert(node.oid).inserted { nodes.append(node) }
        }
        let byName = Dictionary(nodes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let byOID = Dictionary(nodes.map { ($0.oid, $0) }, uniquingKeysWith: { first, _ in first })
        let entries = nodes.filter { !$0.index.isEmpty || $0.augments != nil }
        let entryOIDs = Set(entries.map(\.oid))

        var tables: [DraftTable] = []
        var columnCount = 0
        for entry in entries {
            let tableOID = SNMPObjectIdentifier(Array(entry.oid.components.dropLast()))
            let tableName = byOID[tableOID]?.name ?? entry.parent ?? entry.name
            let qualifiedTable = "\(entry.module)::\(tableName)"
            if byOID[tableOID]?.status == .obsolete || entry.status == .obsolete {
                notes.append("\(qualifiedTable): obsolete, not drafted")
                continue
            }
            let columns = nodes.filter { $0.oid.components.dropLast() == entry.oid.components[...] && $0.status != .obsolete }
            let readable = columns.filter { $0.access.isReadable && $0.syntax.isValue }
            guard !readable.isEmpty else {
                notes.append("\(qualifiedTable): no readable column, not drafted")
                continue
            }
            let indexNames = entry.index.map(\.name)
            let indexColumn = readable.first { indexNames.contains($0.name) } ?? readable[0]
            let object = "Device.\(prefix)\(Self.capitalized(tableName)).{i}."
            var tableLabel = "\(qualifiedTable)"
            if let augments = entry.augments {
                tableLabel += ", AUGMENTS { \(augments) }"
            } else {
                tableLabel += ", INDEX { \(entry.index.map { ($0.implied ? "IMPLIED " : "") + $0.name }.joined(separator: ", ")) }"
            }
            var mappings: [DraftMapping] = []
            var names: Set<String> = []
            // An INDEX that the row's own readable columns do not show (not-accessible index columns, or another
            // table's index such as hrDeviceIndex in hrProcessorTable) becomes a parameter with the `index`
            // conversion: one part is named after it, several are `Index` (dotted).
            let shown = Set(readable.map(\.name))
            if entry.augments == nil, entry.index.contains(where: { !shown.contains($0.name) }) {
                let single = entry.index.count == 1 ? entry.index.first : nil
                let name = single.map { Self.capitalized($0.name) } ?? "Index"
                let type = single.flatMap { byName[$0.name] }.map { Self.mapping(for: $0).type } ?? .string
                let integerIndex = [SNMPParameterType.int, .unsignedInt].contains(type)
                mappings.append(DraftMapping(parameter: name, oid: nil,
                                             label: "the row's INDEX { \(indexNames.joined(separator: ", ")) }",
                                             type: integerIndex ? type : .string, conversion: .named("index")))
                names.insert(name)
            }
            var rowStatus: DraftRowStatus?
            for column in readable {
                let name = Self.capitalized(column.name)
                guard names.insert(name).inserted else {
                    notes.append("\(column.qualifiedName): parameter name \(name) taken, not drafted")
                    continue
                }
                var mapping = Self.mapping(for: column)
                mapping.parameter = name
                mapping.oid = reference(column, instance: false)
                mapping.label = label(column, instance: false)
                if column.textualConvention == "RowStatus" {
                    // RowStatus is driven by AddObject/DeleteObject, never written as a value.
                    mapping.writable = nil
                    mapping.syntax = nil
                    if let format = Self.indexFormat(entry, byName: byName) {
                        rowStatus = DraftRowStatus(column: reference(column, instance: false), indexFormat: format)
                    } else {
                        tableLabel += "; RowStatus \(column.name): AddObject not drafted (INDEX with several parts or of unknown syntax)"
                    }
                }
                mappings.append(mapping)
            }
            columnCount += mappings.count
            tables.append(DraftTable(object: object, label: tableLabel, indexColumn: reference(indexColumn, instance: false),
                                     columns: mappings, rowStatus: rowStatus))
        }

        var scalars: [DraftMapping] = []
        let scalarNodes = nodes.filter { node in
            node.syntax.isValue && node.index.isEmpty && node.augments == nil && node.status != .obsolete
                && !entryOIDs.contains(SNMPObjectIdentifier(Array(node.oid.components.dropLast())))
                && !nodes.contains { $0.oid.components.dropLast() == node.oid.components[...] }
        }
        var scalarNames: Set<String> = []
        for node in scalarNodes {
            guard node.access.isReadable else {
                if node.access != .accessibleForNotify {
                    notes.append("\(node.qualifiedName): \(node.access.rawValue), not drafted")
                }
                continue
            }
            let group = Self.capitalized(node.parent ?? "Scalars")
            var mapping = Self.mapping(for: node)
            mapping.parameter = "Device.\(prefix)\(group).\(Self.capitalized(node.name))"
            guard scalarNames.insert(mapping.parameter).inserted else {
                notes.append("\(node.qualifiedName): parameter \(mapping.parameter) taken, not drafted")
                continue
            }
            mapping.oid = reference(node, instance: true)
            mapping.label = label(node, instance: true)
            scalars.append(mapping)
        }

        for module in modules where !module.nodes.contains(where: { $0.syntax.isValue }) {
            notes.append("\(module.name): defines no objects (textual conventions or SMI only)")
        }
        let names = modules.map(\.name)
        let profile = DraftProfile(
            name: "draft-" + names.map { $0.lowercased() }.joined(separator: "+"),
            description: "DRAFT by cwmp-proxy mib2profile from \(names.joined(separator: ", ")): every object is a vendor "
                + "extension under Device.\(prefix)…; rename them (your X_<vendor>_ prefix) or move mappings onto TR-181 "
                + "parameters (dropping their type), link nested tables with parent, add keyColumns for tables an agent "
                + "renumbers, and delete what you do not need",
            scalars: scalars, tables: tables)
        let encoder = JSONEncoder()
        // Sorted keys: FoundationEssentials' encoder keeps no insertion order, and a draft must be reproducible.
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let json: String
        do {
            json = String(decoding: try encoder.encode(profile), as: UTF8.self)
        } catch {
            throw SNMPBridgeError(.invalidProfile, "the draft cannot be encoded", underlying: error)
        }
        return Draft(json: json + "\n", tables: tables.count, scalars: scalars.count, columns: columnCount, notes: notes)
    }

    /// `IF-MIB::ifDescr` (or `IF-MIB::sysName.0` for scalars), or the numeric OID.
    private func reference(_ node: SNMPMIBNode, instance: Bool) -> String {
        let suffix = instance ? ".0" : ""
        return numericOIDs ? node.oid.description + suffix : node.qualifiedName + suffix
    }

    /// The other spelling of `reference`, with the units.
    private func label(_ node: SNMPMIBNode, instance: Bool) -> String {
        let suffix = instance ? ".0" : ""
        var text = numericOIDs ? node.qualifiedName + suffix : node.oid.description + suffix
        text += " \(node.syntax.rawValue)"
        if let tc = node.textualConvention { text += " (\(tc))" }
        if let units = node.units { text += ", units \(units)" }
        if node.status == .deprecated { text += ", deprecated" }
        return text
    }

    /// `ifDescr` → `IfDescr`: a TR-106 name (letters, digits, `-`; MIB descriptors never start with a digit).
    static func capitalized(_ descriptor: String) -> String {
        descriptor.prefix(1).uppercased() + descriptor.dropFirst()
    }

    /// How AddObject forms the new row's index: only for a single index part of a known integer or string syntax.
    static func indexFormat(_ entry: SNMPMIBNode, byName: [String: SNMPMIBNode]) -> String? {
        guard entry.index.count == 1, let part = entry.index.first, let node = byName[part.name] else { return nil }
        switch node.syntax {
        case .integer, .integer32, .unsigned32, .uInteger32, .gauge32: return node.enumerations.isEmpty ? "integer" : nil
        case .octetString: return part.implied ? "impliedString" : "string"
        default: return nil
        }
    }

    private static let binaryConventions: Set<String> = ["SnmpEngineID", "DateAndTime", "KeyChange", "TAddress"]
    private static let macConventions: Set<String> = ["PhysAddress", "MacAddress"]
    private static let addressConventions: Set<String> = ["InetAddress", "InetAddressIPv4", "InetAddressIPv6"]

    /// SMI → TR-106 type, conversion and SET syntax (docs/snmp-profiles.md, "Drafting a profile").
    static func mapping(for node: SNMPMIBNode) -> DraftMapping {
        var mapping = DraftMapping(parameter: "", oid: nil, label: nil, type: .string, conversion: .named("auto"))
        var syntax: SNMPSyntax?
        switch node.syntax {
        case .integer, .integer32:
            syntax = .integer
            if node.textualConvention == "TruthValue" {
                mapping.type = .boolean
                mapping.conversion = .named("truthValue")
            } else if !node.enumerations.isEmpty {
                mapping.conversion = .enumeration(Dictionary(node.enumerations.map { (String($0.value), $0.label) },
                                                             uniquingKeysWith: { first, _ in first }))
            } else {
                mapping.type = .int
            }
        case .unsigned32, .uInteger32:
            mapping.type = .unsignedInt
            syntax = .unsigned
        case .gauge32:
            mapping.type = .unsignedInt
            syntax = .gauge
        case .counter32, .counter64:
            // Counter32 is accumulated to 64 bits across wraps (SNMPCounterAccumulator).
            mapping.type = .unsignedLong
            mapping.conversion = .named("counter64")
        case .timeTicks:
            mapping.type = .unsignedInt
            mapping.conversion = .named("timeTicksToSeconds")
            syntax = .timeTicks
        case .ipAddress, .networkAddress:
            mapping.conversion = .named("ipAddress")
            syntax = .ipAddress
        case .objectIdentifier:
            syntax = .objectIdentifier
        case .bits:
            mapping.type = .hexBinary
            mapping.conversion = .named("hex")
            syntax = .octetString
        case .opaque, .nsapAddress:
            mapping.type = .hexBinary
            mapping.conversion = .named("hex")
        case .octetString:
            syntax = .octetString
            let tc = node.textualConvention ?? ""
            let hint = node.displayHint ?? ""
            if macConventions.contains(tc) {
                mapping.conversion = .named("mac")
            } else if addressConventions.contains(tc) {
                mapping.conversion = .named("ipAddress")
            } else if binaryConventions.contains(tc) || (!hint.isEmpty && !hint.contains("a") && !hint.contains("t")) {
                mapping.type = .hexBinary
                mapping.conversion = .named("hex")
            } else {
                let maxLength = node.ranges.map(\.upperBound).max().flatMap { $0 > 0 && $0 <= 65535 ? Int($0) : nil }
                mapping.conversion = maxLength.map { .displayString(maxLength: $0) } ?? .named("displayString")
            }
        default:
            break
        }
        if node.access.isWritable, let syntax {
            mapping.writable = true
            mapping.syntax = syntax.rawValue
        }
        return mapping
    }
}

// MARK: The JSON written (the format SNMPProfile decodes)

struct DraftProfile: Encodable {
    var name: String
    var description: String
    var scalars: [DraftMapping]
    var tables: [DraftTable]
}

struct DraftTable: Encodable {
    var object: String
    var label: String
    var indexColumn: String
    var columns: [DraftMapping]
    var rowStatus: DraftRowStatus?
}

struct DraftRowStatus: Encodable {
    var column: String
    var indexFormat: String
}

struct DraftMapping: Encodable {
    var parameter: String
    var oid: String?
    var label: String?
    var type: SNMPParameterType
    var conversion: DraftConversion
    var writable: Bool?
    var syntax: String?
}

enum DraftConversion: Encodable {
    case named(String)
    case displayString(maxLength: Int)
    case enumeration([String: String])

    enum CodingKeys: String, CodingKey { case type, maxLength, values }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .named(let name):
            var container = encoder.singleValueContainer()
            try container.encode(name)
        case .displayString(let maxLength):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode("displayString", forKey: .type)
            try container.encode(maxLength, forKey: .maxLength)
        case .enumeration(let values):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode("enumeration", forKey: .type)
            try container.encode(values, forKey: .values)
        }
    }
}

extension SNMPParameterType: Encodable {}
