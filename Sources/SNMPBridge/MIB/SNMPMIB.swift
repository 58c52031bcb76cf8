// MIB modules through net-snmp's MIB parser: the search path, loading modules, resolving symbols, and the nodes of a
// module as plain Swift values. net-snmp does the parsing (`NetSNMPMIBTree`, on the SNMP I/O thread); nothing here
// parses SMI itself.
#if canImport(Glibc)
import Glibc
#endif
import CNetSNMP

/// Where MIB modules are looked for, in net-snmp's order: a module found in several directories is taken from the
/// last one (as net-snmp's `init_mib` does).
public struct SNMPMIBSearchPath: Sendable, Hashable {
    /// Directories in net-snmp's order: later ones win.
    public var directories: [String]
    /// Directories that must be readable (those named with `--mib-dir`); others are skipped when missing.
    public var required: Set<String>

    public init(directories: [String], required: Set<String> = []) {
        self.directories = directories
        self.required = required
    }

    /// The search path of net-snmp's tools with `-M +DIR` for each `--mib-dir`: MIBDIRS when set (a leading `+`
    /// appends it to net-snmp's default path, a leading `-` puts it first, otherwise it replaces the default), else
    /// the default (`$HOME/.snmp/mibs:/usr/share/snmp/mibs:…`); then `mibDirectories`, which therefore win.
    public static func standard(mibDirectories: [String], environment: String? = currentMIBDIRS()) -> SNMPMIBSearchPath {
        let defaults = String(cString: cns_default_mib_directories())
            .replacing("$HOME", with: getenv("HOME").map { String(cString: $0) } ?? "/nonexistent")
        var path: String
        if let environment, !environment.isEmpty {
            switch environment.first {
            case "+": path = defaults + ":" + environment.dropFirst()
            case "-": path = String(environment.dropFirst()) + ":" + defaults
            default: path = environment
            }
        } else {
            path = defaults
        }
        let base = path.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        return SNMPMIBSearchPath(directories: base + mibDirectories, required: Set(mibDirectories))
    }

    /// The MIBDIRS environment variable, if set.
    public static func currentMIBDIRS() -> String? {
        getenv("MIBDIRS").map { String(cString: $0) }
    }
}

/// One node of a MIB module as net-snmp parsed it.
public struct SNMPMIBNode: Sendable, Hashable {
    /// The SMI syntax (net-snmp's TYPE_*).
    public enum Syntax: String, Sendable, Hashable {
        case none = "(none)"
        case objectIdentifier = "OBJECT IDENTIFIER"
        case octetString = "OCTET STRING"
        case integer = "INTEGER"
        case networkAddress = "NetworkAddress"
        case ipAddress = "IpAddress"
        case counter32 = "Counter32"
        case gauge32 = "Gauge32"
        case timeTicks = "TimeTicks"
        case opaque = "Opaque"
        case null = "NULL"
        case counter64 = "Counter64"
        case bits = "BITS"
        case nsapAddress = "NsapAddress"
        case uInteger32 = "UInteger32"
        case unsigned32 = "Unsigned32"
        case integer32 = "Integer32"
        case notificationType = "NOTIFICATION-TYPE"
        case trapType = "TRAP-TYPE"
        case objectGroup = "OBJECT-GROUP"
        case notificationGroup = "NOTIFICATION-GROUP"
        case moduleIdentity = "MODULE-IDENTITY"
        case agentCapabilities = "AGENT-CAPABILITIES"
        case moduleCompliance = "MODULE-COMPLIANCE"
        case objectIdentity = "OBJECT-IDENTITY"

        init(netSNMPType type: Int32) {
            switch type {
            case TYPE_OBJID: self = .objectIdentifier
            case TYPE_OCTETSTR: self = .octetString
            case TYPE_INTEGER: self = .integer
            case TYPE_NETADDR: self = .networkAddress
            case TYPE_IPADDR: self = .ipAddress
            case TYPE_COUNTER: self = .counter32
            case TYPE_GAUGE: self = .gauge32
            case TYPE_TIMETICKS: self = .timeTicks
            case TYPE_OPAQUE: self = .opaque
            case TYPE_NULL: self = .null
            case TYPE_COUNTER64: self = .counter64
            case TYPE_BITSTRING: self = .bits
            case TYPE_NSAPADDRESS: self = .nsapAddress
            case TYPE_UINTEGER: self = .uInteger32
            case TYPE_UNSIGNED32: self = .unsigned32
            case TYPE_INTEGER32: self = .integer32
            case TYPE_NOTIFTYPE: self = .notificationType
            case TYPE_TRAPTYPE: self = .trapType
            case TYPE_OBJGROUP: self = .objectGroup
            case TYPE_NOTIFGROUP: self = .notificationGroup
            case TYPE_MODID: self = .moduleIdentity
            case TYPE_AGENTCAP: self = .agentCapabilities
            case TYPE_MODCOMP: self = .moduleCompliance
            case TYPE_OBJIDENTITY: self = .objectIdentity
            default: self = .none
            }
        }

        /// A syntax an object value can have (not a group, notification, table or plain OID node).
        public var isValue: Bool {
            switch self {
            case .objectIdentifier, .octetString, .integer, .networkAddress, .ipAddress, .counter32, .gauge32,
                 .timeTicks, .opaque, .null, .counter64, .bits, .nsapAddress, .uInteger32, .unsigned32, .integer32:
                true
            default: false
            }
        }
    }

    /// MAX-ACCESS (net-snmp's MIB_ACCESS_*).
    public enum Access: String, Sendable, Hashable {
        case none = "(none)"
        case notAccessible = "not-accessible"
        case accessibleForNotify = "accessible-for-notify"
        case readOnly = "read-only"
        case readWrite = "read-write"
        case readCreate = "read-create"
        case writeOnly = "write-only"

        init(netSNMPAccess access: Int32) {
            switch access {
            case MIB_ACCESS_NOACCESS: self = .notAccessible
            case MIB_ACCESS_NOTIFY: self = .accessibleForNotify
            case MIB_ACCESS_READONLY: self = .readOnly
            case MIB_ACCESS_READWRITE: self = .readWrite
            case MIB_ACCESS_CREATE: self = .readCreate
            case MIB_ACCESS_WRITEONLY: self = .writeOnly
            default: self = .none
            }
        }

        /// An agent answers GET for it.
        public var isReadable: Bool { self == .readOnly || self == .readWrite || self == .readCreate }
        /// An agent accepts SET for it.
        public var isWritable: Bool { self == .readWrite || self == .readCreate || self == .writeOnly }
    }

    public enum Status: String, Sendable, Hashable {
        case none = "(none)", current, deprecated, obsolete, mandatory, optional

        init(netSNMPStatus status: Int32) {
            switch status {
            case MIB_STATUS_CURRENT: self = .current
            case MIB_STATUS_DEPRECATED: self = .deprecated
            case MIB_STATUS_OBSOLETE: self = .obsolete
            case MIB_STATUS_MANDATORY: self = .mandatory
            case MIB_STATUS_OPTIONAL: self = .optional
            default: self = .none
            }
        }
    }

    public struct EnumValue: Sendable, Hashable {
        public var value: Int64
        public var label: String
    }

    /// One part of a row's INDEX clause.
    public struct IndexPart: Sendable, Hashable {
        /// The index object's descriptor (a column of this or another table).
        public var name: String
        /// `IMPLIED`: a variable-length last index without a length arc.
        public var implied: Bool
    }

    /// The descriptor, `ifDescr`.
    public var name: String
    /// The module that defines it, `IF-MIB`.
    public var module: String
    /// The parent node's descriptor (`ifEntry` for `ifDescr`, `system` for `sysDescr`), whichever module defines it.
    public var parent: String?
    public var oid: SNMPObjectIdentifier
    public var syntax: Syntax
    public var access: Access
    public var status: Status
    /// The textual convention of the SYNTAX (`DisplayString`, `PhysAddress`, `RowStatus`), when one is used.
    public var textualConvention: String?
    public var displayHint: String?
    public var units: String?
    /// Named numbers of an enumerated INTEGER (or BITS), by value.
    public var enumerations: [EnumValue]
    /// SIZE or value ranges.
    public var ranges: [ClosedRange<Int64>]
    /// Rows (`ifEntry`): the INDEX clause.
    public var index: [IndexPart]
    /// Rows: the row this one AUGMENTS (`ifXEntry` → `ifEntry`).
    public var augments: String?
    public var description: String?

    /// `IF-MIB::ifDescr`
    public var qualifiedName: String { "\(module)::\(name)" }
}

/// A loaded MIB module: every node it defines, in OID order.
public struct SNMPMIBModule: Sendable, Hashable {
    public var name: String
    public var nodes: [SNMPMIBNode]
}

/// net-snmp's MIB parser, used from Swift. All calls are serialized on the SNMP I/O thread (see `NetSNMPMIBTree`).
/// Loaded modules stay loaded for the life of the process (net-snmp's tree is process-wide).
public enum SNMPMIB {
    /// Loads `modules` (and their imports) from `searchPath` and returns their nodes. Unknown modules throw
    /// `.mibModuleNotFound`, modules net-snmp cannot parse `.mibParseError`, with net-snmp's messages.
    public static func loadModules(_ modules: [String], searchPath: SNMPMIBSearchPath) async throws(SNMPBridgeError) -> [SNMPMIBModule] {
        guard !modules.isEmpty else { throw SNMPBridgeError(.invalidArgument, "no MIB module named") }
        for module in modules where !isModuleName(module) {
            throw SNMPBridgeError(.invalidArgument, "\"\(module)\" is not a MIB module name")
        }
        return try await NetSNMPMIBTree.perform { (tree) throws(SNMPBridgeError) -> [SNMPMIBModule] in
            try tree.addDirectories(searchPath)
            var result: [SNMPMIBModule] = []
            for module in modules {
                try tree.loadModule(module, searchPath: searchPath)
                result.append(SNMPMIBModule(name: module, nodes: tree.nodes(ofModule: module)))
            }
            return result
        }
    }

    /// Resolves MIB names (`IF-MIB::ifDescr`, `SNMPv2-MIB::sysName.0`) with net-snmp's `snmp_parse_oid`, which loads
    /// the module a `MODULE::` prefix names from `searchPath`. Each name gets its OID or its own error.
    public static func resolve(_ names: [String], searchPath: SNMPMIBSearchPath) async throws(SNMPBridgeError) -> [String: Result<SNMPObjectIdentifier, SNMPBridgeError>] {
        guard !names.isEmpty else { return [:] }
        return try await NetSNMPMIBTree.perform { (tree) throws(SNMPBridgeError) -> [String: Result<SNMPObjectIdentifier, SNMPBridgeError>] in
            try tree.addDirectories(searchPath)
            var result: [String: Result<SNMPObjectIdentifier, SNMPBridgeError>] = [:]
            for name in Set(names) {
                if let separator = name.firstRange(of: "::") {
                    // Load explicitly first: a module that is missing or broken is named as such, not as an
                    // unknown symbol.
                    let module = String(name[..<separator.lowerBound])
                    guard isModuleName(module) else {
                        result[name] = .failure(SNMPBridgeError(.unknownMIBSymbol, "\"\(module)\" is not a MIB module name"))
                        continue
                    }
                    do throws(SNMPBridgeError) {
                        try tree.loadModule(module, searchPath: searchPath)
                    } catch {
                        result[name] = .failure(error)
                        continue
                    }
                }
                result[name] = Result { () throws(SNMPBridgeError) in try tree.resolve(name) }
            }
            return result
        }
    }

    /// Module names are ASCII letters, digits and hyphens, starting with an upper-case letter (RFC 2578 §3); also
    /// keeps shell-ish or path-like text away from net-snmp.
    static func isModuleName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, ("A"..."Z").contains(first), text.count <= 64 else { return false }
        return text.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }
}

/// `SNMPNameResolving` with names resolved beforehand by net-snmp (`SNMPMIB.resolve`): the profile compiler is
/// synchronous and net-snmp may only be called on its I/O thread, so the names of a profile are resolved first
/// (`prepare(for:searchPath:)`) and looked up here.
public struct SNMPMIBResolver: SNMPNameResolving {
    public var resolved: [String: Result<SNMPObjectIdentifier, SNMPBridgeError>]

    public init(resolved: [String: Result<SNMPObjectIdentifier, SNMPBridgeError>]) { self.resolved = resolved }

    /// Resolves every non-numeric name `profile` uses.
    public static func prepare(for profile: SNMPProfile, searchPath: SNMPMIBSearchPath) async throws(SNMPBridgeError) -> SNMPMIBResolver {
        let names = profile.objectNames.filter { SNMPObjectIdentifier($0) == nil }
        return SNMPMIBResolver(resolved: try await SNMPMIB.resolve(names, searchPath: searchPath))
    }

    public func resolve(_ name: String) throws -> SNMPObjectIdentifier {
        guard let result = resolved[name] else {
            throw SNMPBridgeError(.unknownMIBSymbol, "\(name) was not resolved beforehand")
        }
        return try result.get()
    }
}
