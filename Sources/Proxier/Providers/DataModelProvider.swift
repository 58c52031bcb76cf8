// A provider serves one subtree of the data model: the gateway host, an SNMP agent, a UPnP DM device.
// Remote providers are slow, so every operation is batched: one RPC becomes as few provider calls as the engine
// can manage (one per provider for values, one per provider and table depth for instance lists).
//
// Providers never see CWMP instance numbers below their mount point. The engine owns numbering (numbers are
// never reused, survive restarts, and the ACS may use aliases instead), and hands providers the instances'
// native keys: an SNMP ifIndex, a UPnP DM instance number, a dictionary key. Instance segments above the mount
// point are passed as their CWMP numbers.
import CWMPClient

/// A path as a provider sees it: the schema template and, for each `{i}`, the instance's native key.
public struct ProviderPath: Hashable, Sendable, CustomStringConvertible {
    /// `Device.IP.Interface.{i}.Enable`, `Device.IP.Interface.` (a table) or `Device.IP.Interface.{i}.` (an instance).
    public var template: String
    /// One key per `{i}` in `template`, outermost first.
    public var instanceKeys: [String]

    public init(template: String, instanceKeys: [String] = []) {
        self.template = template
        self.instanceKeys = instanceKeys
    }

    /// The template with keys filled in, for logs and dictionary keys: `Device.IP.Interface.{eth0}.Enable`.
    public var description: String {
        var keys = instanceKeys.makeIterator()
        var text = ""
        var rest = template[...]
        while let range = rest.firstRange(of: "{i}") {
            text += rest[..<range.lowerBound]
            text += "{" + (keys.next() ?? "?") + "}"
            rest = rest[range.upperBound...]
        }
        return text + rest
    }
}

/// One instance of a table as its provider knows it.
public struct ProviderInstance: Hashable, Sendable {
    /// The provider's own, stable identification of the instance.
    public var key: String
    /// An Alias the provider already knows for the instance (used when the engine first sees it).
    public var alias: String?

    public init(key: String, alias: String? = nil) {
        self.key = key
        self.alias = alias
    }
}

/// A value to set, already validated against the schema and in canonical form.
public struct ProviderParameterValue: Hashable, Sendable {
    public var path: ProviderPath
    public var value: String
    public var type: ParameterValueType

    public init(path: ProviderPath, value: String, type: ParameterValueType) {
        self.path = path
        self.value = value
        self.type = type
    }
}

/// The `Status` of SetParameterValues, AddObject and DeleteObject responses.
public enum ApplyStatus: Int, Hashable, Sendable, Comparable {
    /// Applied and committed.
    case applied = 0
    /// Validated and committed, in effect only later (typically after a reboot), before the next session.
    case appliedLater = 1

    public static func < (lhs: ApplyStatus, rhs: ApplyStatus) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Per-value failures of a provider's `setValues`/`validateValues`, by index into the values it was given;
/// the engine turns them into SetParameterValuesFault entries with the ACS's parameter names.
public struct ProviderSetValuesError: Error, Hashable, Sendable, CWMPFaultConvertible {
    public struct Entry: Hashable, Sendable {
        public var index: Int
        /// 9005–9008.
        public var faultCode: CWMPFault.Code
        public var reason: String

        public init(index: Int, faultCode: CWMPFault.Code, reason: String) {
            self.index = index
            self.faultCode = faultCode
            self.reason = reason
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    public var cwmpFault: CWMPFault { CWMPFault(.invalidArguments) }
}

/// The source of one subtree's values and instances. All operations are batched; errors may be any error
/// (`ProxierError`, a `CWMPFaultConvertible` of the provider's module, …): the engine converts them once.
public protocol DataModelProvider: AnyObject, Sendable {
    /// The instances of each table (`ProviderPath`s of table templates `….Interface.`), in the order given.
    func instances(of tables: [ProviderPath]) async throws -> [[ProviderInstance]]

    /// The values of parameters, in the order given. An unknown parameter or instance fails the whole call
    /// (`ProxierError(.unknownPath, …)`), as GetParameterValues fails as a whole.
    func values(of parameters: [ProviderPath]) async throws -> [String]

    /// Checks values without applying them, so that the engine can validate across several providers before any
    /// applies. Throws `ProviderSetValuesError` for per-value failures. Optional: the default accepts everything.
    func validateValues(_ values: [ProviderParameterValue]) async throws

    /// Applies values all-or-nothing: the provider validates its side first and applies nothing if any value
    /// fails (`ProviderSetValuesError`).
    func setValues(_ values: [ProviderParameterValue]) async throws -> ApplyStatus

    /// Creates an instance in a table. `instanceNumber` is the CWMP number the engine will give it; a provider
    /// without keys of its own may use it as the key. Returns the new instance's key.
    func addInstance(to table: ProviderPath, instanceNumber: UInt32) async throws -> (key: String, status: ApplyStatus)

    /// Deletes an instance (`ProviderPath` of an instance template, `….Interface.{i}.`) and everything below it.
    func deleteInstance(_ instance: ProviderPath) async throws -> ApplyStatus

    /// Whether the provider has this parameter (a template: `Device.IP.Interface.{i}.Enable`). A remote device
    /// often implements only part of the schema below its mount; the engine treats the parameters it lacks as absent
    /// (9005 when named, left out of GetParameterNames and of partial-path reads) instead of asking for them.
    /// Optional: the default serves every parameter of the schema below the mount.
    func servesParameter(template: String) -> Bool
}

extension DataModelProvider {
    public func validateValues(_ values: [ProviderParameterValue]) async throws {}
    public func servesParameter(template: String) -> Bool { true }
}
